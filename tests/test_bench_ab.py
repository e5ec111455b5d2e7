"""``bench/ab.py`` times two versions of feeds on one command, run by run in turn."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, SEEDS, bench_module

ab = bench_module("ab")


def _package(root: Path, main: str) -> Path:
    """A folder holding a ``feeds`` package whose ``python -m feeds`` runs ``main``."""
    (root / "feeds").mkdir(parents=True)
    (root / "feeds" / "__init__.py").write_text("")
    (root / "feeds" / "__main__.py").write_text(main)
    return root


def test_the_two_take_turns_first_in_every_other_pair() -> None:
    assert list(ab.turns(4)) == [(0, 1), (1, 0), (0, 1), (1, 0)]


def test_the_summary_gives_medians_ranges_and_the_pairs_won() -> None:
    base = ab.Version("old", Path("/a"), [2.0, 3.0, 4.0], [4.0, 5.0, 9.0])
    other = ab.Version("new", Path("/b"), [1.5, 3.5, 1.0], [3.0, 4.0, 4.5])
    assert ab.summary(base, other).splitlines() == [
        "old  wall 3.00 s (2.00-4.00), processor 5.00 s (4.00-9.00)",
        "new  wall 1.50 s (1.00-3.50), processor 4.00 s (3.00-4.50)",
        "new / old: wall 0.500x, processor 0.800x; new quicker in 2 of 3 pairs",
    ]


def test_fresh_paths_are_removed_before_every_run(tmp_path: Path) -> None:
    """The command fails when it finds what its last run left: only a run that starts
    without it ends with the exit code allowed."""
    version = ab.Version("v", _package(tmp_path / "v", _LEAVES_A_CACHE))
    work = tmp_path / "work"
    work.mkdir()
    for _ in range(2):
        wall, cpu = ab.timed(version, ab.Run([], work, (3,), [work / "cache"]))
        assert wall > 0 and cpu > 0
    with pytest.raises(SystemExit, match="exited with 4"):
        ab.timed(version, ab.Run([], work, (3,)))


_LEAVES_A_CACHE = """
import os, sys
if os.path.exists("cache"):
    sys.exit(4)
os.mkdir("cache")
sum(range(100_000))  # some processor time to count
sys.exit(3)
"""


def test_a_commit_is_checked_out_for_the_run_and_removed_after(tmp_path: Path) -> None:
    repo = _package(tmp_path / "repo", "print('old')\n")
    git = ["git", "-C", str(repo)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run(
        [*git, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "old"], check=True
    )
    (repo / "feeds" / "__main__.py").write_text("print('new')\n")
    with ab.checked_out(["HEAD", str(repo)], repo=repo) as (old, new):
        assert (old.root / "feeds" / "__main__.py").read_text() == "print('old')\n"
        assert new.root == repo
        assert list((old.root / "feeds" / "__pycache__").iterdir())  # compiled, as installed
    listed = subprocess.run([*git, "worktree", "list"], check=True, capture_output=True, text=True)
    assert len(listed.stdout.splitlines()) == 1  # the repository's own only
    assert not old.root.exists()


def _ab(*argv: str) -> list[str]:
    """What ``bench/ab.py argv`` prints, run as the command it is: it waits for every
    process its runs leave (``adopt_orphans``), which this one must not."""
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "ab.py"), *argv],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_feeds_itself_is_timed_against_itself(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "records").symlink_to(SEEDS)
    argv = [str(REPO), "--other", str(REPO), "--runs", "2", "--cwd", str(project)]
    lines = _ab(*argv, "--ok", "0", "1", "--", "validate", "records")
    assert len([line for line in lines if line.startswith("  ")]) == 4
    assert lines[-1].endswith(" of 2 pairs")


_ORPHANS_A_WORKER = """
import subprocess, sys
# A child that starts a worker and ends at once: the worker outlives it and the run, as the
# render worker of a build outlives the build.
work = "import time; start = time.process_time()\\nwhile time.process_time() - start < 0.6: pass"
starter = f"import subprocess, sys; subprocess.Popen([sys.executable, '-c', {work!r}])"
subprocess.run([sys.executable, "-c", starter], check=True)
"""


def test_the_processor_time_of_a_process_the_run_left_behind_is_counted(tmp_path: Path) -> None:
    package = str(_package(tmp_path / "v", _ORPHANS_A_WORKER))
    lines = _ab(package, "--other", package, "--runs", "1", "--cwd", str(tmp_path), "--", "x")
    processor = float(lines[-3].split("processor ")[1].split(" s")[0])
    assert processor >= 0.6


def test_the_summary_of_counts_gives_medians_ranges_and_the_pairs_with_fewer() -> None:
    base = ab.Version("old", Path("/a"), instructions=[1_000, 1_200, 1_100])
    other = ab.Version("new", Path("/b"), instructions=[900, 1_300, 880])
    assert ab.summary(base, other).splitlines() == [
        "old  instructions 1,100 (1,000-1,200)",
        "new  instructions 900 (880-1,300)",
        "new / old: instructions 0.8182x; new fewer in 2 of 3 pairs",
    ]


def test_a_log_counts_the_instructions_of_each_program_the_process_ran() -> None:
    log = (
        "==7== Cachegrind, a high-precision tracing profiler\n"
        "==7== I   refs:      1,234,567\n"
        "==7== (the process replaced its program)\n"
        "==7== I   refs:      89\n"
    )
    assert ab.instructions(log) == 1_234_656
    assert ab.instructions("==7== (killed by a signal before its summary)\n") is None


_LOOPS = """
import subprocess, sys
loops, children = int(sys.argv[1]), int(sys.argv[2])
sum(range(loops))
for _ in range(children):
    subprocess.run([sys.executable, "-c", f"sum(range({loops}))"], check=True)
sys.exit(3)
"""


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="needs valgrind (.ci/run has it)")
def test_instructions_are_counted_in_every_process_and_alike_in_every_run(tmp_path: Path) -> None:
    """A run that starts a child doing the same loop counts about twice as many
    instructions of the loop; and two runs of one command count nearly the same."""
    version = ab.Version("v", _package(tmp_path / "v", _LOOPS))

    def count(loops: int, children: int) -> int:
        counted: int = ab.counted(version, ab.Run([str(loops), str(children)], tmp_path, (3,)))
        return counted

    start = count(0, 0)
    loop = count(2_000_000, 0) - start
    assert loop > 20_000_000  # ten instructions an iteration and more
    child = count(2_000_000, 1) - count(0, 1)
    assert 0.9 < child / (2 * loop) < 1.1
    assert abs(count(2_000_000, 0) - start - loop) < 0.01 * loop


_KILLS = """
import subprocess, sys
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
child.kill()  # as a build kills the copy of itself whose answer it no longer wants
child.wait()
"""


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="needs valgrind (.ci/run has it)")
def test_a_process_killed_before_its_count_leaves_the_others_counted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    version = ab.Version("v", _package(tmp_path / "v", _KILLS))
    assert ab.counted(version, ab.Run([], tmp_path)) > 1_000_000
    assert "(1 process(es) killed before a count)" in capsys.readouterr().out


def test_a_run_without_any_count_stops_the_comparison(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ab, "_run", lambda *args, **kwargs: None)  # valgrind wrote no log
    with pytest.raises(SystemExit, match="counted no instructions"):
        ab.counted(ab.Version("v", tmp_path), ab.Run([], tmp_path))


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="needs valgrind (.ci/run has it)")
def test_one_run_of_each_is_counted_by_default(tmp_path: Path) -> None:
    package = str(_package(tmp_path / "v", _LOOPS))
    argv = [package, "--other", package, "--instructions", "--cwd", str(tmp_path), "--ok", "3"]
    lines = _ab(*argv, "--", "1000", "0")
    assert [line.split(":")[0] for line in lines[:2]] == [f"    1 {package}"] * 2
    assert lines[-1].startswith(f"{package} / {package}: instructions ")
    assert lines[-1].endswith(" of 1 pairs")


def test_counting_without_valgrind_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(ab.shutil, "which", lambda name: None)
    with pytest.raises(SystemExit):
        ab.main([str(REPO), "--instructions", "--", "validate"])
    assert "--instructions needs valgrind (apt-get install valgrind)" in capsys.readouterr().err


@pytest.mark.parametrize("extra", [[], ["--instructions"]])
def test_no_runs_is_refused(extra: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        ab.main([str(REPO), "--runs", "0", *extra, "--", "validate"])
    assert "--runs must be at least 1" in capsys.readouterr().err


_READY_ONCE = """
import os, sys, time
if sys.argv[1:] == ["prepare"]:
    time.sleep(0.5)
    open("ready", "w").close()
    sys.exit(0)
if not os.path.exists("ready"):
    sys.exit(3)
os.remove("ready")
"""


def test_a_command_before_each_run_makes_it_ready_with_the_same_code_untimed(
    tmp_path: Path,
) -> None:
    """Each run needs what the command before it left, made by the version's own
    ``feeds`` (``$FEEDS``); the half second that takes is not timed."""
    version = ab.Version("v", _package(tmp_path / "v", _READY_ONCE))
    for _ in range(2):
        wall, _ = ab.timed(version, ab.Run([], tmp_path, before="$FEEDS prepare"))
        assert wall < 0.5
    with pytest.raises(SystemExit, match="exited with 3"):
        ab.timed(version, ab.Run([], tmp_path))


def test_a_command_before_that_fails_stops_the_comparison(tmp_path: Path) -> None:
    version = ab.Version("v", _package(tmp_path / "v", _READY_ONCE))
    with pytest.raises(SystemExit, match="--before exited with 7"):
        ab.timed(version, ab.Run([], tmp_path, before="echo broken >&2; exit 7"))
