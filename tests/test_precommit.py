"""The hook through the real ``pre-commit`` framework, as another repository would use it.

``pre-commit`` installs the hook's package from a commit of this repository into an
environment of its own.  The checkout under test may hold uncommitted work, so it is copied
into a fresh repository and committed first; the install is shared by the whole module.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO, SEEDS, record_data, record_text

BAD_RECORD = record_text(record_data(webUrl="javascript:alert(1)"))
GOOD_RECORD = record_text(record_data())


@dataclass(frozen=True)
class HookSource:
    path: Path  # a repository holding this checkout as one commit
    rev: str
    env: Mapping[str, str]


def run(
    *args: str | Path, cwd: Path, env: Mapping[str, str], check: bool = False
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(arg) for arg in args],
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"{args} failed:\n{result.stdout}\n{result.stderr}")
    return result


def git(*args: str, cwd: Path, env: Mapping[str, str]) -> str:
    return run("git", *args, cwd=cwd, env=env, check=True).stdout.strip()


def pre_commit(*args: str, cwd: Path, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    return run(sys.executable, "-m", "pre_commit", *args, cwd=cwd, env=env)


@pytest.fixture(scope="module")
def hook_source(tmp_path_factory: pytest.TempPathFactory) -> HookSource:
    if shutil.which("git") is None:
        pytest.fail("git is needed to test the pre-commit hook")
    base = tmp_path_factory.mktemp("precommit")
    env = {
        **os.environ,
        "PRE_COMMIT_HOME": str(base / "cache"),
        "GIT_AUTHOR_NAME": "Test",
        "GIT_AUTHOR_EMAIL": "test@feeds.invalid",
        "GIT_COMMITTER_NAME": "Test",
        "GIT_COMMITTER_EMAIL": "test@feeds.invalid",
        # The project's own config runs `feeds` from the environment running the tests.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    env.pop("PRE_COMMIT", None)
    listed = git("ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=REPO, env=env)
    source = base / "feeds-src"
    for name in filter(None, listed.split("\0")):
        origin = REPO / name
        if origin.is_file():
            target = source / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, target)
    git("init", "-q", cwd=source, env=env)
    git("add", "-A", cwd=source, env=env)
    git("commit", "-q", "-m", "snapshot", cwd=source, env=env)
    return HookSource(source, git("rev-parse", "HEAD", cwd=source, env=env), env)


def new_repository(base: Path, env: Mapping[str, str]) -> Path:
    repo = base / "publisher"
    repo.mkdir()
    git("init", "-q", cwd=repo, env=env)
    return repo


def test_hook_manifest_and_project_config_are_valid(hook_source: HookSource) -> None:
    env = hook_source.env
    assert (
        pre_commit("validate-manifest", ".pre-commit-hooks.yaml", cwd=REPO, env=env).returncode == 0
    )
    assert (
        pre_commit("validate-config", ".pre-commit-config.yaml", cwd=REPO, env=env).returncode == 0
    )


def test_try_repo_fails_on_a_bad_record_and_passes_a_good_one(
    hook_source: HookSource, tmp_path: Path
) -> None:
    env = hook_source.env
    repo = new_repository(tmp_path, env)
    (repo / "bad.md").write_text(BAD_RECORD)
    (repo / "good.md").write_text(GOOD_RECORD)
    git("add", "-A", cwd=repo, env=env)

    def try_repo(*files: str) -> subprocess.CompletedProcess[str]:
        return pre_commit(
            "try-repo", str(hook_source.path), "feeds-validate", "--ref", hook_source.rev,
            "--files", *files, cwd=repo, env=env,
        )  # fmt: skip

    failed = try_repo("bad.md", "good.md")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "feeds validate" in failed.stdout and "Failed" in failed.stdout
    assert "bad.md:" in failed.stdout and "webUrl" in failed.stdout
    assert "javascript:alert(1)" in failed.stdout
    assert "good.md" not in failed.stdout.replace("2 files checked", "")
    assert "Traceback" not in failed.stdout + failed.stderr

    passed = try_repo("good.md")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "Passed" in passed.stdout


def test_commit_of_a_bad_record_is_refused(hook_source: HookSource, tmp_path: Path) -> None:
    env = hook_source.env
    repo = new_repository(tmp_path, env)
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n"
        f"  - repo: {hook_source.path}\n"
        f"    rev: {hook_source.rev}\n"
        f"    hooks:\n"
        f"      - id: feeds-validate\n"
        f"        files: ^records/\n"
    )
    (repo / "README.md").write_text("# Not a record: outside records/, so not checked.\n")
    installed = pre_commit("install", cwd=repo, env=env)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    records = repo / "records"
    records.mkdir()
    record = records / "story.md"
    record.write_text(BAD_RECORD)
    git("add", "-A", cwd=repo, env=env)

    refused = run("git", "commit", "-m", "add a story", cwd=repo, env=env)
    assert refused.returncode != 0
    output = refused.stdout + refused.stderr
    assert "records/story.md:" in output and "javascript:alert(1)" in output
    assert run("git", "rev-parse", "--verify", "HEAD", cwd=repo, env=env).returncode != 0

    record.write_text(GOOD_RECORD)
    # A record with only warnings (seed 000 has an HTML entity in an image URL) passes too.
    shutil.copy(SEEDS / "000_1f48a30587e22eab.txt", records / "seed.txt")
    git("add", "-A", cwd=repo, env=env)
    accepted = run("git", "commit", "-m", "add a story", cwd=repo, env=env)
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    hook_output = accepted.stdout + accepted.stderr
    assert "feeds validate" in hook_output and "Passed" in hook_output
    # The hook's cache folder, made in the repository, is ignored: `git add -A` after the
    # refused commit left it out, and nothing is left untracked.
    committed = git("ls-files", cwd=repo, env=env).splitlines()
    assert sorted(committed) == [
        ".pre-commit-config.yaml",
        "README.md",
        "records/seed.txt",
        "records/story.md",
    ]
    assert git("status", "--porcelain", "--untracked-files=all", cwd=repo, env=env) == ""


def test_project_config_checks_the_seeds(hook_source: HookSource) -> None:
    env = hook_source.env
    seeds = sorted(f"seeds/{p.name}" for p in SEEDS.iterdir())
    result = pre_commit(
        "run", "feeds-validate", "--files", *seeds, cwd=hook_source.path, env=env
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "feeds validate" in result.stdout and "Passed" in result.stdout
