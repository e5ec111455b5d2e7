"""``feeds validate`` runs on every commit, so it must not load what only ``build`` needs;
``feeds build`` runs on every push, mostly with nothing to do, so that must not load what
only writing needs.

How long start-up takes is measured in ``bench/startup.py``; this checks what is imported.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO, SEEDS

RENDERING = ["feedgen", "lxml", "slugify", "dateutil", "feeds.render", "feeds.plan", "feeds.output"]

PROGRAM = """
import sys
from feeds.cli import main
try:
    main(["validate", "seeds/000_1f48a30587e22eab.txt"])
except SystemExit as exit:
    assert not exit.code, exit.code
print(" ".join(sorted(sys.modules)))
"""


def test_validate_does_not_import_rendering() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROGRAM], cwd=REPO, capture_output=True, text=True, check=True
    )
    loaded = set(result.stdout.split())
    assert "feeds.api" in loaded
    assert [name for name in RENDERING if name in loaded] == []


BUILD_AGAIN = """
import sys
from feeds.cli import main
try:
    main(["build"])
except SystemExit as exit:
    assert not exit.code, exit.code
print(" ".join(sorted(sys.modules)))
"""
# What only a build that writes needs: the libraries that render, and what finds libc
# (ctypes) or the versions of libraries (importlib.metadata): 5 to 20 ms each to import.
WRITING = [*RENDERING[:4], "feeds.render", "ctypes", "importlib.metadata"]


def _build_in(folder: Path) -> str:
    """What a build in ``folder`` prints, then the names of the modules it imported."""
    result = subprocess.run(
        [sys.executable, "-c", BUILD_AGAIN], cwd=folder, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_a_build_with_nothing_to_do_does_not_import_what_writing_needs(tmp_path: Path) -> None:
    shutil.copytree(SEEDS, tmp_path / "seeds")
    assert "feeds.render" in _build_in(tmp_path).split()  # the first build does write
    again = _build_in(tmp_path)
    assert "Up to date, nothing written" in again
    loaded = set(again.split())
    assert "feeds.api" in loaded
    assert [name for name in WRITING if name in loaded] == []


VALIDATE_PLAIN = """
import sys
from feeds.cli import main
try:
    main(["validate", "--cache-dir", sys.argv[1], sys.argv[2]])
except SystemExit as exit:
    assert not exit.code, exit.code
print(" ".join(sorted(sys.modules)))
"""


def test_validating_a_plainly_written_record_again_needs_no_pyyaml(tmp_path: Path) -> None:
    """The record is read by yaml-rs (feeds.yamlfast) and the schema as the first run kept
    it in the cache folder: importing PyYAML took a fifth of the run."""
    record = tmp_path / "plain.md"
    record.write_text(
        "---\n"
        "title: A plain record\n"
        "publishedDateTime: 2024-05-01T10:00:00Z\n"
        "webUrl: https://news.example.com/plain/\n"
        "provider:\n  name: Example News\n  domain: news.example.com\n"
        "topics:\n  - Science\n"
        "---\nBody.\n",
        "utf-8",
    )
    runs = []
    for _ in range(2):
        result = subprocess.run(
            [sys.executable, "-c", VALIDATE_PLAIN, str(tmp_path / "cache"), str(record)],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        runs.append(set(result.stdout.split()))
    first, again = runs
    assert "yaml" in first  # the schema, read the first time
    assert "feeds.yamlfast" in again
    assert "yaml" not in again
    assert "frontmatter" not in again
