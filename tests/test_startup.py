"""``feeds validate`` runs on every commit, so it must not load what only ``build`` needs;
``feeds build`` runs on every push, mostly with nothing to do, so that must not load what
only writing needs.

How long start-up takes is measured in ``bench/startup.py``; this checks what is imported.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

from feeds.cache import RACY_NS
from feeds.scan import FAST_YAML_MIN_FILES, PARALLEL_MIN_FILES
from tests.conftest import REPO, SEEDS

RENDERING = ["feedgen", "lxml", "slugify", "dateutil", "feeds.render", "feeds.plan", "feeds.output"]

# Runs the command line with its arguments, then prints the names of the modules imported.
PROGRAM = """
import sys
from feeds.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exit:
    assert not exit.code, exit.code
print(" ".join(sorted(sys.modules)))
"""


def _run(*args: str, cwd: Path) -> str:
    """What ``feeds ARGS`` run in ``cwd`` prints, then the names of the modules it imported."""
    result = subprocess.run(
        [sys.executable, "-c", PROGRAM, *args], cwd=cwd, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_validate_does_not_import_rendering() -> None:
    loaded = set(_run("validate", "seeds/000_1f48a30587e22eab.txt", cwd=REPO).split())
    assert "feeds.api" in loaded
    assert [name for name in RENDERING if name in loaded] == []
    assert "zstandard" not in loaded  # its results are too small to compress


# What only a build that writes needs: the libraries that render, and what finds libc
# (ctypes) or the versions of libraries (importlib.metadata): 5 to 20 ms each to import.
WRITING = [*RENDERING[:4], "feeds.render", "ctypes", "importlib.metadata"]


def test_a_build_with_nothing_to_do_does_not_import_what_writing_needs(tmp_path: Path) -> None:
    shutil.copytree(SEEDS, tmp_path / "seeds")
    # Settled first, as records mostly are: a file changed just before a build hashed it is
    # hashed again by the next (see feeds.cache.RACY_NS), which reads it as feeds.scan does.
    time.sleep(RACY_NS / 1e9 + 0.1)
    assert "feeds.render" in _run("build", cwd=tmp_path).split()  # the first build does write
    again = _run("build", cwd=tmp_path)
    assert "Up to date, nothing written" in again
    loaded = set(again.split())
    assert "feeds.api" in loaded
    assert [name for name in WRITING if name in loaded] == []
    assert "jsonschema_rs" not in loaded  # nor what checks a record: see feeds.schema.Schema
    # Nor what reads records, checks them against each other, plans or keys documents, nor
    # what reads a settings file, which this project does not have.
    unused = ["feeds.scan", "feeds.crosscheck", "feeds.articles", "feeds.plan", "feeds.keys"]
    assert [name for name in [*unused, "orjson", "tomllib"] if name in loaded] == []


PLAIN_RECORD = (
    "---\n"
    "title: A plain record\n"
    "publishedDateTime: 2024-05-01T10:00:00Z\n"
    "webUrl: https://news.example.com/plain/\n"
    "provider:\n  name: Example News\n  domain: news.example.com\n"
    "topics:\n  - Science\n"
    "---\nBody.\n"
)


def test_validating_a_few_records_again_reads_them_with_pyyaml_alone(tmp_path: Path) -> None:
    """The schema as the first run kept it in the cache folder is read back; the record is
    read by PyYAML, which starts in half the time the fast reader needs to compile its gate
    (see feeds.scan.FAST_YAML_MIN_FILES)."""
    record = tmp_path / "plain.md"
    record.write_text(PLAIN_RECORD, "utf-8")
    first, again = (
        set(_run("validate", "--cache-dir", str(tmp_path / "cache"), str(record), cwd=REPO).split())
        for _ in range(2)
    )
    assert "yaml" in first  # the schema, read the first time
    assert "feeds.yamlfast" not in again
    assert "frontmatter" not in again
    assert "tempfile" not in again  # only writing a record needs it (feeds.cache)


def test_validating_many_records_reads_them_with_the_fast_reader(tmp_path: Path) -> None:
    folder = tmp_path / "records"
    folder.mkdir()
    for index in range(FAST_YAML_MIN_FILES):
        text = PLAIN_RECORD.replace("/plain/", f"/plain-{index}/")
        (folder / f"{index:02}.md").write_text(text, "utf-8")
    loaded = set(_run("validate", str(folder), cwd=REPO).split())
    assert "feeds.yamlfast" in loaded


def test_the_fast_reader_is_loaded_once_for_every_worker(tmp_path: Path) -> None:
    """Loaded before the workers are forked, they inherit it: each used to import it and
    compile its gate again, and the run's own process a third time to place findings."""
    folder = tmp_path / "records"
    folder.mkdir()
    for index in range(PARALLEL_MIN_FILES):
        text = PLAIN_RECORD.replace("/plain/", f"/plain-{index}/")
        (folder / f"{index:03}.md").write_text(text, "utf-8")
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", PROGRAM, "validate", "--no-cache", str(folder)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    imported = [line for line in result.stderr.splitlines() if line.endswith("| feeds.yamlfast")]
    assert len(imported) == 1, imported
