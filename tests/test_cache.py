"""The cache of checked files: a cached run reports and writes exactly what a run without it
does, re-checks only what changed, and never trusts a damaged or stale cache."""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import pty
import select
import shutil
import sqlite3
import subprocess
import sys
import time
import tracemalloc
import warnings
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import feedparser
import pytest

from feeds import cache, scan, workers
from feeds.api import BuildReport, build, validate
from feeds.cache import DB_NAME, FileStat, pack, unpack
from feeds.config import Config, load_config
from feeds.diagnostics import Severity
from feeds.progress import Quiet, TerminalProgress, for_terminal
from feeds.records import Loaded, Locator, display_path, parse_record, read_stated
from feeds.schema import load_schema, schema_key
from tests.conftest import SEEDS, corpus_module, record_data, record_text, tree

NOW = datetime(2025, 1, 1, tzinfo=UTC)
RECORDS = 60


def write_problems(folder: Path) -> None:
    """Records that the checks across records and the per-record warnings have something
    to say about, so those paths are compared too."""
    cited = record_data()["related"][0]
    texts = {
        "x1-duplicate.md": record_data(webUrl="https://dup.example/story"),
        "x2-duplicate.md": record_data(webUrl="https://dup.example/story?utm_source=x"),
        "x3-cited.md": record_data(
            webUrl=cited["webUrl"], title="Its own title", provider=cited["provider"]
        ),
        "x4-cites.md": record_data(webUrl="https://cites.example/", related=[cited]),
        "x5-entity.md": record_data(webUrl="https://e.example/?a=1&amp;b=2"),
        "x6-future.md": record_data(
            webUrl="https://f.example/", publishedDateTime="2030-01-01T00:00:00Z"
        ),
        "x7-unpublished-first.md": record_data(webUrl="https://u.example/a", published=False),
        "x8-published-later.md": record_data(
            webUrl="https://u.example/a?utm_source=x", title="Later"
        ),
    }
    for name, data in texts.items():
        (folder / name).write_text(record_text(data), "utf-8")
    (folder / "x9-broken.md").write_text("---\ntitle: [unclosed\n---\n", "utf-8")


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "records"
    corpus_module().Corpus(seed=3).write(folder, RECORDS)
    shutil.copytree(SEEDS, folder, dirs_exist_ok=True)
    write_problems(folder)
    return folder


def count_parses(monkeypatch: pytest.MonkeyPatch, module: str) -> list[str]:
    seen: list[str] = []

    def counting(file: str, raw: bytes, *, fast: bool = True) -> Loaded:
        seen.append(Path(file).name)
        return parse_record(file, raw, fast=fast)

    monkeypatch.setattr(f"{module}.parse_record", counting)
    return seen


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files the checks parse (in this process)."""
    return count_parses(monkeypatch, "feeds.scan")


@pytest.fixture
def placements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files read again to place findings across records."""
    seen: list[str] = []
    of_file = Locator.of_file

    def reading(file: str, raw: bytes, *, quick: bool = False) -> Locator:
        seen.append(Path(file).name)
        return of_file(file, raw, quick=quick)

    monkeypatch.setattr(Locator, "of_file", reading)
    return seen


def config_for(source: Path, root: Path, *, cached: bool = True) -> Config:
    return Config(
        source=source,
        output=root / "out",
        cache=root / ".feeds-cache" if cached else None,
        entries_per_feed=20,
    )


def cold(source: Path, root: Path) -> tuple[BuildReport, dict[str, bytes]]:
    """What a build without any cache reports and writes for ``source``."""
    root.mkdir(parents=True, exist_ok=True)
    config = config_for(source, root, cached=False)
    return build(config, now=NOW), tree(config.output)


def same_report(report: BuildReport, expected: BuildReport) -> bool:
    """The same counts and problems (a build may also say it found nothing to write)."""
    return replace(report, output=expected.output, unchanged=expected.unchanged) == expected


def test_cached_validate_reports_what_validate_without_a_cache_does(
    corpus: Path, tmp_path: Path, parses: list[str], placements: list[str]
) -> None:
    expected = validate([corpus], now=NOW).diagnostics
    assert {d.rule for d in expected} >= {
        "duplicate-url",
        "related-mismatch",
        "html-entity",
        "future-date",
        "yaml",
    }
    folder = tmp_path / ".feeds-cache"
    parses.clear()
    assert validate([corpus], now=NOW, cache=folder).diagnostics == expected
    files = len(list(corpus.iterdir()))
    assert len(parses) == files
    parses.clear()
    placements.clear()
    assert validate([corpus], now=NOW, cache=folder).diagnostics == expected
    assert parses == []
    # Only files dated in the future are read again, to say which dates are; the other
    # findings across records are placed where they were found in the same contents.
    future = {Path(d.file).name for d in expected if d.rule == "future-date"}
    assert future and sorted(placements) == sorted(future)


def test_cached_builds_report_and_write_what_a_build_without_a_cache_does(
    corpus: Path, tmp_path: Path
) -> None:
    config = config_for(corpus, tmp_path / "cached")
    first = build(config, now=NOW)
    report, files = cold(corpus, tmp_path / "cold0")
    assert same_report(first, report) and tree(config.output) == files
    again = build(config, now=NOW)  # nothing changed: everything from the cache
    assert same_report(again, report) and tree(config.output) == files

    # One record changes its title; records are added, one is removed.
    changed = sorted(corpus.glob("000001*"))[0]
    changed.write_text(changed.read_text("utf-8").replace("title: ", "title: Changed ", 1))
    corpus_module().Corpus(seed=3).write(corpus, RECORDS + 10, start=RECORDS)
    sorted(corpus.glob("000002*"))[0].unlink()
    report, files = cold(corpus, tmp_path / "cold1")
    assert same_report(build(config, now=NOW), report) and tree(config.output) == files


def test_of_two_copies_of_an_article_the_first_is_published_even_unpublished(
    corpus: Path, tmp_path: Path
) -> None:
    """An unpublished first copy still owns the article; the later copy is skipped."""
    config = config_for(corpus, tmp_path)
    for _ in range(2):  # checked, then from the cache
        report = build(config, now=NOW)
        skipped = {Path(item.file).name for item in report.skipped}
        assert {"x2-duplicate.md", "x8-published-later.md", "x9-broken.md"} <= skipped
        assert "x7-unpublished-first.md" not in skipped
        titles = {e.title for e in feedparser.parse(config.output / "all.atom.xml").entries}
        assert "Later" not in titles


def test_changing_one_file_checks_only_that_file_again(tmp_path: Path, parses: list[str]) -> None:
    folder = tmp_path / "records"
    corpus_module().Corpus(seed=5).write(folder, RECORDS)
    store = tmp_path / ".feeds-cache"
    expected = validate([folder], now=NOW, cache=store).diagnostics
    assert len(parses) == RECORDS
    parses.clear()
    assert validate([folder], now=NOW, cache=store).diagnostics == expected
    assert parses == []  # nothing changed: nothing parsed
    victim = sorted(folder.iterdir())[7]
    victim.write_text(victim.read_text("utf-8").replace("\ntitle:", "\ntitle: [", 1), "utf-8")
    report = validate([folder], now=NOW, cache=store)
    assert parses == [victim.name]
    new = [d for d in report.diagnostics if d not in expected]
    assert [Path(d.file).name for d in new] == [victim.name]
    assert report.diagnostics == validate([folder], now=NOW).diagnostics


def test_settled_files_are_not_even_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "records"
    corpus_module().Corpus(seed=5).write(folder, RECORDS)
    store = tmp_path / ".feeds-cache"
    validate([folder], now=NOW, cache=store)
    read: list[Path] = []
    real = scan._read

    def counting(path: Path) -> tuple[bytes, os.stat_result, int] | None:
        read.append(path)
        return real(path)

    monkeypatch.setattr(scan, "_read", counting)
    validate([folder], now=NOW, cache=store)
    assert len(read) == RECORDS  # written just now: hashed again, in case of a racy change
    monkeypatch.setattr(cache, "RACY_NS", 0)  # as if they had been there for a while
    validate([folder], now=NOW, cache=store)
    read.clear()
    validate([folder], now=NOW, cache=store)
    assert read == []


@pytest.fixture
def coarse_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """A file system whose clock did not tick between two writes: each file keeps the stat
    data it had when first looked at, whatever is written to it."""
    frozen: dict[Path, os.stat_result] = {}
    real_read = read_stated

    def frozen_stat(cls: type[FileStat], path: Path) -> FileStat:
        return FileStat.of_state(frozen.setdefault(Path(path), Path(path).stat()))

    def read_frozen(path: Path, max_bytes: int) -> tuple[bytes, os.stat_result, int]:
        raw, state, observed = real_read(path, max_bytes)
        return raw, frozen.setdefault(Path(path), state), observed

    monkeypatch.setattr(FileStat, "of", classmethod(frozen_stat))
    monkeypatch.setattr(scan, "read_stated", read_frozen)


@pytest.mark.usefixtures("coarse_clock")
def test_an_edit_within_the_same_clock_tick_is_still_seen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parses: list[str]
) -> None:
    folder = tmp_path / "records"
    corpus_module().Corpus(seed=5).write(folder, RECORDS)
    store = tmp_path / ".feeds-cache"
    validate([folder], now=NOW, cache=store)
    victim = sorted(folder.iterdir())[3]
    original = victim.read_bytes()

    def edit(title: bytes) -> None:
        changed = original.replace(b"\ntitle: ", b"\ntitle: " + title, 1)
        victim.write_bytes(changed[: len(original)])  # the same size, the same stat data

    edit(b"[ ")
    parses.clear()
    assert error_rules(folder, store) == ["yaml"]
    assert parses == [victim.name]
    # The test can fail: trusting stat data without the racy rule misses such an edit.
    monkeypatch.setattr(cache, "RACY_NS", 0)
    validate([folder], now=NOW, cache=store)  # now stored as settled
    edit(b"x ")
    assert error_rules(folder, store) == ["yaml"]


def error_rules(folder: Path, store: Path) -> list[str]:
    found = validate([folder], now=NOW, cache=store).diagnostics
    return [d.rule for d in found if d.severity is Severity.ERROR]


def counts(store: Path) -> tuple[int, int]:
    with sqlite3.connect(store / DB_NAME) as db:
        files = db.execute("SELECT count(*) FROM files").fetchone()[0]
        stats = db.execute("SELECT count(*) FROM stats").fetchone()[0]
    return files, stats


def damage(store: Path, statement: str, *parameters: Any) -> None:
    with sqlite3.connect(store / DB_NAME) as db:
        db.execute(statement, parameters)


SUMMARY = "UPDATE files SET summary = ?"


@pytest.mark.parametrize(
    ("statement", "parameters"),
    [
        pytest.param("UPDATE files SET summary = substr(summary, 1, 30)", (), id="truncated"),
        pytest.param(SUMMARY, (pack(io.BytesIO(b"x")),), id="foreign-class"),
        pytest.param(SUMMARY, (pack(("a", 1)),), id="not-a-result"),
        pytest.param(SUMMARY, (b"x",), id="short"),
        pytest.param("UPDATE files SET summary = 42", (), id="not-bytes"),
        pytest.param("UPDATE meta SET value = 'other code'", (), id="other-code"),
        pytest.param(
            "UPDATE files SET summary = "
            "(SELECT summary FROM files AS f WHERE f.label != files.label LIMIT 1)",
            (),
            id="another-files-result",
        ),
    ],
)
def test_damaged_or_stale_entries_are_checked_again_not_trusted(
    corpus: Path, tmp_path: Path, parses: list[str], statement: str, parameters: tuple[Any, ...]
) -> None:
    expected = validate([corpus], now=NOW).diagnostics
    store = tmp_path / ".feeds-cache"
    validate([corpus], now=NOW, cache=store)
    damage(store, statement, *parameters)
    parses.clear()
    assert validate([corpus], now=NOW, cache=store).diagnostics == expected
    assert len(parses) >= len(list(corpus.iterdir())) // 2
    parses.clear()
    assert validate([corpus], now=NOW, cache=store).diagnostics == expected
    assert parses == []  # the cache was rebuilt


@pytest.mark.parametrize("articles", [True, False], ids=["build", "validate"])
def test_cached_results_are_read_a_few_at_a_time_and_a_damaged_one_checked_again(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, articles: bool
) -> None:
    """Results are read from the cache as checking comes to them, not all first: at
    100,000 records, those were 1.9 GB held through the whole build."""
    schema = load_schema()
    paths = sorted(corpus.iterdir())
    expected = list(scan.scan(paths, schema, None, articles=articles))
    with cache.Cache(tmp_path / ".feeds-cache") as store:
        list(scan.scan(paths, schema, store, articles=articles))
        column = "payload" if articles else "summary"
        damage(store.folder, f"UPDATE files SET {column} = ? WHERE label = ?", b"x", str(paths[9]))
        monkeypatch.setattr(cache, "FEW_LABELS", 4)
        asked: list[int] = []
        read = cache.Cache.results

        def counted(self: cache.Cache, keys: Any, context: str, *, summary: bool = False) -> Any:
            keys = list(keys)
            asked.append(len(keys))
            return read(self, keys, context, summary=summary)

        monkeypatch.setattr(cache.Cache, "results", counted)
        results = scan.scan(paths, schema, store, articles=articles)
        first = next(results)
        assert sum(asked) == 4
        found = [first, *results]
    assert max(asked) == 4
    assert sum(asked) == len(paths)
    assert found == expected


def test_a_cache_holds_in_full_only_what_a_build_stored(corpus: Path, tmp_path: Path) -> None:
    """Validating stores summaries only: a build then checks the files again, in workers,
    rather than finding them held and each checked on its own as damaged."""
    schema = load_schema()
    paths = sorted(corpus.iterdir())
    keys = [(display_path(path), cache.digest(path.read_bytes())) for path in paths]
    labels = {label for label, _ in keys}
    context = schema_key(schema)
    with cache.Cache(tmp_path / ".feeds-cache") as store:
        list(scan.scan(paths, schema, store, articles=False))
        assert store.held(keys, context) == set()
        assert store.held(keys, context, summary=labels) == labels
        list(scan.scan(paths, schema, store))
        assert store.held(keys, context) == labels
        assert store.held(keys[:3], context) == labels & {label for label, _ in keys[:3]}
        assert store.held(keys, "another schema", summary=labels) == set()
        assert store.held([(label, b"other") for label in labels], context) == set()


def test_a_corrupt_database_file_is_replaced(corpus: Path, tmp_path: Path) -> None:
    config = config_for(corpus, tmp_path)
    build(config, now=NOW)
    database = tmp_path / ".feeds-cache" / DB_NAME
    for path in database.parent.iterdir():
        data = bytearray(path.read_bytes())
        for offset in range(0, len(data), 97):
            data[offset] ^= 0x5A
        path.write_bytes(bytes(data))
    report, files = cold(corpus, tmp_path / "cold")
    assert same_report(build(config, now=NOW), report) and tree(config.output) == files
    assert counts(tmp_path / ".feeds-cache")[0] == len(list(corpus.iterdir()))


def test_garbage_in_place_of_the_database_is_replaced(corpus: Path, tmp_path: Path) -> None:
    store = tmp_path / ".feeds-cache"
    store.mkdir()
    (store / DB_NAME).write_bytes(b"not a database" * 100)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a damaged database is replaced without a word
        report = validate([corpus], now=NOW, cache=store)
    assert report.diagnostics == validate([corpus], now=NOW).diagnostics
    assert counts(store)[0] == len(list(corpus.iterdir()))


@pytest.fixture
def clean_records(tmp_path: Path) -> Path:
    folder = tmp_path / "records"
    corpus_module().Corpus(seed=5).write(folder, RECORDS)
    return folder


# Python's warning filters, as PYTHONWARNINGS sets them: none, every warning an error, none
# shown.  The warning of an unusable cache is the command's own line whatever they say.
@pytest.mark.parametrize("filters", ["", "error", "ignore"])
def test_an_unusable_cache_folder_costs_one_warning_line(
    clean_records: Path, tmp_path: Path, filters: str
) -> None:
    in_the_way = tmp_path / "a-file"
    in_the_way.write_text("a file where a folder of the cache should be")
    unusable = in_the_way / "cache"
    env = {"PYTHONWARNINGS": filters} if filters else {}
    result = run_feeds("validate", "--cache-dir", str(unusable), "records", cwd=tmp_path, **env)
    assert result.returncode == 0, result.stderr
    warning, summary = result.stderr.splitlines()
    assert warning.startswith(f"warning: cache {unusable} is not usable")
    assert summary.startswith(f"{RECORDS} files checked: all valid")
    build = ("build", "--source", "records", "--cache-dir", str(unusable))
    result = run_feeds(*build, cwd=tmp_path, **env)
    assert result.returncode == 0, result.stderr
    assert len([line for line in result.stderr.splitlines() if "cache" in line]) == 1
    assert "Traceback" not in result.stderr


def test_no_cache_and_cache_settings(clean_records: Path, tmp_path: Path) -> None:
    assert load_config(tmp_path).cache == tmp_path / ".feeds-cache"
    (tmp_path / "feeds.toml").write_text('cache = "elsewhere/cache"\n')
    assert load_config(tmp_path).cache == tmp_path / "elsewhere" / "cache"
    (tmp_path / "feeds.toml").write_text("cache = false\n")
    assert load_config(tmp_path).cache is None
    run_feeds("build", "--source", "records", cwd=tmp_path)
    assert not (tmp_path / ".feeds-cache").exists()
    (tmp_path / "feeds.toml").unlink()
    run_feeds("build", "--source", "records", "--no-cache", cwd=tmp_path)
    run_feeds("validate", "--no-cache", "records", cwd=tmp_path)
    assert not (tmp_path / ".feeds-cache").exists()
    run_feeds("validate", "records", cwd=tmp_path)
    assert counts(tmp_path / ".feeds-cache")[0] == RECORDS


def test_validating_a_few_files_opens_no_cache(tmp_path: Path) -> None:
    store = tmp_path / ".feeds-cache"
    validate([SEEDS], cache=store)
    assert not store.exists()


def test_a_cache_folder_feeds_makes_is_left_out_of_git_and_backups(tmp_path: Path) -> None:
    """pre-commit runs feeds in the publisher's repository, which the cache folder must not
    clutter: git is told to ignore it, as pytest, mypy and ruff tell it of theirs."""
    if shutil.which("git") is None:
        pytest.fail("git is needed to see what a repository shows")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    shutil.copy(SEEDS / "000_1f48a30587e22eab.txt", tmp_path / "story.md")
    (tmp_path / "mine").mkdir()  # a folder the publisher made is theirs: left unmarked
    for args in (("story.md",), ("--cache-dir", "mine", "story.md")):
        assert run_feeds("validate", *args, cwd=tmp_path).returncode == 0
    assert list((tmp_path / ".feeds-cache").glob("schema-*.pickle"))  # the schema, kept

    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    theirs = [line for line in status if line.startswith("?? mine/")]
    assert [name.rpartition(".")[2] for name in theirs] == ["pickle"]
    assert [line for line in status if line not in theirs] == ["?? story.md"]
    tag = (tmp_path / ".feeds-cache" / "CACHEDIR.TAG").read_text("utf-8")
    assert tag.startswith("Signature: 8a477f597d28d172789f06886806bc55\n")


def test_concurrent_runs_sharing_a_cache_do_not_corrupt_it(
    clean_records: Path, tmp_path: Path
) -> None:
    victim = sorted(clean_records.iterdir())[0]
    victim.write_text(victim.read_text("utf-8").replace("\ntitle:", "\ntitle: [", 1), "utf-8")
    expected = run_feeds("validate", "--no-cache", "records", cwd=tmp_path)
    commands = [
        ["validate", "records"],
        ["validate", "records"],
        ["build", "--source", "records", "--out", "out1"],
        ["build", "--source", "records", "--out", "out2"],
    ]
    running = [start_feeds(*command, cwd=tmp_path) for command in commands]
    results = [process.communicate(timeout=120) for process in running]
    for (stdout, _), command in zip(results[:2], commands[:2], strict=True):
        assert stdout == expected.stdout, command
    assert [process.returncode for process in running] == [1, 1, 0, 0], results
    assert tree(tmp_path / "out1") == tree(tmp_path / "out2")
    with sqlite3.connect(tmp_path / ".feeds-cache" / DB_NAME) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert counts(tmp_path / ".feeds-cache") == (RECORDS, RECORDS)
    again = run_feeds("validate", "records", cwd=tmp_path)
    assert again.stdout == expected.stdout


def test_entries_survive_the_cache_whole() -> None:
    schema = load_schema()
    for path in sorted(SEEDS.iterdir()):
        result = scan.check_loaded(parse_record(path.name, path.read_bytes()), schema)
        assert unpack(pack(result)) == result
    blob = bytearray(pack(("a", 1)))
    blob[-1] ^= 1
    with pytest.raises(cache.CorruptEntry, match="checksum"):
        unpack(bytes(blob))


@pytest.mark.parametrize("size", [10, cache.COMPRESS_FROM - 100, cache.COMPRESS_FROM * 4])
def test_small_entries_are_stored_plain_and_large_ones_compressed(size: int) -> None:
    value = ("a" * size, 1)
    blob = pack(value)
    assert unpack(blob) == value
    compressed = len(blob) < size
    assert compressed == (size > cache.COMPRESS_FROM)


def test_an_entry_of_an_unknown_kind_is_corrupt() -> None:
    body = b"q" + pickle.dumps(("a", 1))
    with pytest.raises(cache.CorruptEntry, match="unknown entry kind"):
        unpack(cache._checksum(body) + body)


def test_a_compressed_entry_that_does_not_decompress_is_corrupt() -> None:
    """Its checksum vouches only for the bytes stored; what they hold may still be damaged
    (written by other code, say): that is a corrupt entry, not an error of the build."""
    blob = pack(("a" * cache.COMPRESS_FROM * 2, 1))
    body = blob[cache.CHECKSUM_BYTES :]
    assert body[:1] == cache._COMPRESSED
    for damaged in (body[:1] + b"not compressed", body[:-4]):
        with pytest.raises(cache.CorruptEntry):
            unpack(cache._checksum(damaged) + damaged)


def test_values_pickled_for_a_record_build_only_plain_values() -> None:
    rows = [("all.atom.xml", b"key", (1, 2, 3, 4))]
    assert cache.unpickled(cache.pickled(rows)) == rows
    for foreign in (cache.pickled([Path("/")]), b"not a pickle", "not bytes"):
        with pytest.raises(cache.CorruptEntry):
            cache.unpickled(foreign)


def test_parallel_checking_gives_the_serial_results(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    serial = validate([corpus], now=NOW).diagnostics
    serial_report, serial_files = cold(corpus, tmp_path / "serial")
    monkeypatch.setattr(scan, "PARALLEL_MIN_FILES", 2)
    monkeypatch.setattr(scan, "CHUNK", 7)
    monkeypatch.setattr(workers, "cores", lambda: 2)
    assert validate([corpus], now=NOW).diagnostics == serial
    assert validate([corpus], now=NOW, cache=tmp_path / "c").diagnostics == serial
    report, files = cold(corpus, tmp_path / "parallel")
    assert same_report(report, serial_report) and files == serial_files


def test_the_files_to_check_are_named_to_the_workers_not_made_paths(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The work a build forks its checking workers with names each file: a Path of each
    of 100,000 files weighed 37 MB, held by the build and by every worker it forked."""
    seen: list[Any] = []
    check_paths = scan._check_paths

    def checking(todo: Any, *args: Any, **kwargs: Any) -> Any:
        seen.extend(todo)
        return check_paths(todo, *args, **kwargs)

    monkeypatch.setattr(scan, "_check_paths", checking)
    monkeypatch.setattr(scan, "PARALLEL_MIN_FILES", 2)
    monkeypatch.setattr(workers, "cores", lambda: 2)
    build(config_for(corpus, tmp_path / "run"), now=NOW)
    assert len(seen) == len(list(corpus.iterdir()))
    assert all(type(label) is str and type(name) is str for label, name in seen)
    assert sorted(Path(name).name for _, name in seen) == sorted(p.name for p in corpus.iterdir())


def test_workers_keep_in_the_cache_what_checking_in_one_process_keeps(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Workers pack each result for the cache themselves (feeds.scan._Checked): the rows
    are those one process writes, and a build that reads them back writes the same."""

    def rows(root: Path) -> tuple[list[Any], list[Any]]:
        with sqlite3.connect(root / ".feeds-cache" / DB_NAME) as db:
            files = db.execute("SELECT * FROM files ORDER BY label").fetchall()
            stats = db.execute("SELECT path, size, digest FROM stats ORDER BY path").fetchall()
        return files, stats

    serial = build(config_for(corpus, tmp_path / "serial"), now=NOW)
    monkeypatch.setattr(scan, "PARALLEL_MIN_FILES", 2)
    monkeypatch.setattr(workers, "cores", lambda: 2)
    parallel = build(config_for(corpus, tmp_path / "parallel"), now=NOW)
    assert same_report(parallel, serial)
    files, stats = rows(tmp_path / "parallel")
    assert (files, stats) == rows(tmp_path / "serial")
    assert len(files) == len(stats) == len(list(corpus.iterdir()))
    assert any(
        payload[cache.CHECKSUM_BYTES : cache.CHECKSUM_BYTES + 1] == cache._COMPRESSED
        for *_, payload in files
        if payload is not None
    )
    shutil.rmtree(tmp_path / "parallel" / "out")
    for record in (tmp_path / "parallel" / ".feeds-cache").glob("graph-*"):
        record.unlink()  # the graph merged again from the results read back
    parses = count_parses(monkeypatch, "feeds.scan")
    again = build(config_for(corpus, tmp_path / "parallel"), now=NOW)
    assert parses == []
    assert same_report(again, serial)
    assert tree(tmp_path / "parallel" / "out") == tree(tmp_path / "serial" / "out")


def test_a_result_a_worker_packed_that_does_not_unpack_is_checked_again(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Workers send results packed (feeds.scan._Checked.sent); one that does not unpack
    (a class the cache does not rebuild, say) is checked again where the run gathers them,
    as a damaged entry of the cache is, instead of ending the run."""
    expected = validate([corpus], now=NOW).diagnostics
    victim = sorted(corpus.iterdir())[3].name
    pack = cache.pack

    def damaging(value: object) -> bytes:
        blob = pack(value)
        if isinstance(value, scan.FileResult) and Path(value.file).name == victim:
            return blob[:-1] + bytes([blob[-1] ^ 1])
        return blob

    monkeypatch.setattr(cache, "pack", damaging)  # before the workers are forked
    monkeypatch.setattr(scan, "PARALLEL_MIN_FILES", 2)
    monkeypatch.setattr(workers, "cores", lambda: 2)
    parses = count_parses(monkeypatch, "feeds.scan")
    assert validate([corpus], now=NOW, cache=tmp_path / "c").diagnostics == expected
    assert parses == [victim]  # in this process; the workers checked the others


def test_progress_is_shown_on_a_terminal_only(tmp_path: Path) -> None:
    folder = tmp_path / "records"
    corpus_module().Corpus(seed=5).write(folder, 210)
    screen = on_terminal(["validate", "--no-cache", "records"], cwd=tmp_path)
    assert "Reading 210 files" in screen
    assert "210 files checked: all valid" in screen
    in_ci = on_terminal(["validate", "--no-cache", "records"], cwd=tmp_path, CI="true")
    assert "Reading" not in in_ci and "210 files checked" in in_ci
    piped = run_feeds("validate", "--no-cache", "records", cwd=tmp_path)
    assert piped.stderr.startswith("210 files checked: all valid")
    assert piped.stderr.count("\n") == 1  # the summary alone
    assert isinstance(for_terminal(io.StringIO()), Quiet)


def test_terminal_progress_draws_a_bar_for_long_stages_only() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    progress = TerminalProgress(screen)
    progress.start("Reading 3 files", 3)
    progress.advance(3)
    progress.finish()
    assert screen.getvalue() == ""
    progress.start("Reading 500 files", 500)
    progress.advance(500)
    progress.finish()
    assert "Reading 500 files" in screen.getvalue()


# Helpers: the real command, in a child process.


def feeds_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env.update(extra)
    return env


def start_feeds(*args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "feeds", *args],
        cwd=cwd,
        env=feeds_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_feeds(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "feeds", *args],
        cwd=cwd,
        env=feeds_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def on_terminal(args: list[str], cwd: Path, **env: str) -> str:
    """What the command shows on standard error when it is a terminal (a pty)."""
    main, child = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "feeds", *args],
        cwd=cwd,
        env=feeds_env(**env),
        stdout=subprocess.DEVNULL,
        stderr=child,
    )
    os.close(child)
    shown = bytearray()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([main], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # the child closed its end
                break
            if not chunk:
                break
            shown += chunk
        elif process.poll() is not None:
            break
    process.wait(timeout=10)
    os.close(main)
    return shown.decode("utf-8", "replace")


def test_the_stats_a_cache_remembers_are_those_it_stored(tmp_path: Path) -> None:
    """The stats table is read once per open cache and kept in step with its writes."""
    folder = tmp_path / "cache"
    paths = [tmp_path / f"{name}.md" for name in "abc"]
    for path in paths:
        path.write_text(path.name)
    store = cache.Cache(folder)
    assert store.known_digests() == {}
    entries = [(str(p), FileStat.of(p), 5, p.name.encode()) for p in paths]
    store.remember_digests(entries)
    store.remember_digests([(str(paths[0]), FileStat.of(paths[0]), 7, b"again")])
    store.keep_only([], paths[:2], "context")
    seen = dict(store.known_digests())
    with cache.Cache(folder) as fresh:
        assert dict(fresh.known_digests()) == seen
    assert sorted(seen) == [str(p) for p in paths[:2]]
    assert seen[str(paths[0])][1:] == (7, b"again")
    store.close()


def test_library_versions_are_those_importlib_metadata_finds() -> None:
    versions = cache._installed_versions()
    for name in cache._LIBRARIES:
        assert versions[cache._distribution_key(name)] == metadata.version(name)


def test_a_library_installed_ahead_on_the_path_changes_the_fingerprint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = cache.code_fingerprint.__wrapped__()
    (tmp_path / "pyyaml-99.1.dist-info").mkdir()
    monkeypatch.syspath_prepend(str(tmp_path))
    assert cache._installed_versions()["pyyaml"] == "99.1"
    assert cache.code_fingerprint.__wrapped__() != before


def test_a_library_without_a_dist_info_folder_is_asked_of_importlib_metadata(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = cache.code_fingerprint.__wrapped__()
    monkeypatch.setattr(cache, "_installed_versions", dict)
    assert cache.code_fingerprint.__wrapped__() == before
    assert cache._version_from_metadata("no-such-library-anywhere") == "-"


def test_a_change_time_close_to_the_moment_seen_is_racy(tmp_path: Path) -> None:
    path = tmp_path / "record.md"
    path.write_text("x")
    seen = FileStat.of(path)
    ctime = seen.ctime_ns
    assert cache.racy(ctime, ctime)
    assert cache.racy(ctime, ctime + cache.RACY_NS)
    assert not cache.racy(ctime, ctime + cache.RACY_NS + 1)
    assert not cache.settled(seen, seen, ctime + cache.RACY_NS)
    assert cache.settled(seen, seen, ctime + cache.RACY_NS + 1)
    assert not cache.settled(seen._replace(size=seen.size + 1), seen, ctime + 10**10)


def traced_growth(step: Callable[[], Any]) -> tuple[Any, int]:
    """What ``step`` gives, and the most memory it held at once beyond what it started with."""
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        value = step()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return value, peak - before


def test_records_are_written_and_read_without_holding_their_pickle(tmp_path: Path) -> None:
    """A build's record is pickled straight into its file and unpickled straight from it:
    the graph record is half a gigabyte at 100k records, and holding its pickle (three
    times over, when written) was the peak of a cold build."""
    value = [os.urandom(500).hex() for _ in range(20_000)]  # 20 MB of text
    size = len(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
    path = tmp_path / "record.pickle"
    _, writing = traced_growth(lambda: cache.write_record(path, b"test-record\n", value))
    (read, ends), reading = traced_growth(lambda: cache.read_records(path, b"test-record\n"))
    assert read == [value]
    assert [end.size for end in ends] == [path.stat().st_size]
    assert writing < size / 4
    assert reading < 1.5 * size  # what was read, not its pickle as well


def test_a_streamed_list_is_made_only_while_its_frame_is_written(tmp_path: Path) -> None:
    """A :class:`~feeds.cache.Streamed` list is read back as the list of what its items
    gave, which are made one by one as the frame is written and none held after: never
    the whole list at once.  Read without leave to build a list, the frame is not read."""
    taken: list[int] = []

    def items() -> Iterator[str]:
        for index in range(20_000):
            taken.append(index)
            yield os.urandom(500).hex()

    streamed = cache.Streamed(items())
    assert taken == []
    path = tmp_path / "record.pickle"
    _, writing = traced_growth(
        lambda: cache.write_record(path, b"test-record\n", 1, cache.Unshared(streamed))
    )
    assert len(taken) == 20_000
    assert writing < 20_000 * 1_000 / 4  # 20 MB of text, had it been made whole
    (first, read), _ = cache.read_records(path, b"test-record\n", cache.STREAMED_CLASSES)
    assert first == 1
    assert type(read) is list
    assert len(read) == 20_000
    assert all(len(item) == 1_000 for item in read)
    assert cache.read_records(path, b"test-record\n")[0] == [1]


def test_a_record_whose_frames_another_digest_vouches_for_reads_as_nothing(
    tmp_path: Path,
) -> None:
    """Frames are checked with XXH3; those of a record written with SHA-256 (as before)
    are taken for damaged, never for values, and from the first of them on nothing is read."""
    path = tmp_path / "record.pickle"
    cache.write_record(path, b"test-record\n", ["first"])
    second = pickle.dumps(["second"], protocol=pickle.HIGHEST_PROTOCOL)
    check = hashlib.sha256(second).digest()[:16]  # as long as the digest of a frame
    with path.open("ab") as stream:
        stream.write(len(second).to_bytes(8, "little") + check + second)
    assert cache.read_records(path, b"test-record\n")[0] == [["first"]]
    body = path.read_bytes()[len(b"test-record\n") + 24 :]
    first = pickle.dumps(["first"], protocol=pickle.HIGHEST_PROTOCOL)
    assert body.startswith(first)  # the layout this test writes by hand
    path.write_bytes(
        b"test-record\n" + len(first).to_bytes(8, "little") + hashlib.sha256(first).digest() + first
    )
    assert cache.read_records(path, b"test-record\n") == ([], [])


def test_a_raw_frame_is_read_back_as_where_its_bytes_lie_once_they_are_checked(
    tmp_path: Path,
) -> None:
    """A :class:`~feeds.cache.Raw` frame holds its chunks as they are, and reads back as
    where they lie in the file (:class:`~feeds.cache.RawFrame`); a
    :class:`~feeds.cache.Deferred` value after it is made once it is written.  A raw frame
    damaged is read no further, as any other."""
    written: list[bytes] = []

    def chunks() -> Iterator[bytes]:
        for number in range(1_000):
            written.append(os.urandom(number % 50))
            yield written[-1]

    path = tmp_path / "record.pickle"
    kind = b"test-record\n"
    cache.write_record(
        path, kind, "first", cache.Raw(chunks()), cache.Deferred(lambda: len(written)), "last"
    )
    (first, frame, count, last), ends = cache.read_records(path, kind, raw={1})
    assert (first, count, last) == ("first", 1_000, "last")
    assert type(frame) is cache.RawFrame
    content = path.read_bytes()
    assert content[frame.offset : frame.offset + frame.size] == b"".join(written)
    assert ends[1].size == frame.offset + frame.size
    assert cache.read_records(path, kind)[0] == ["first"]  # not a pickle
    damaged = bytearray(content)
    damaged[frame.offset + frame.size // 2] ^= 0xFF
    path.write_bytes(bytes(damaged))
    assert cache.read_records(path, kind, raw={1})[0] == ["first"]


def test_a_record_frame_may_be_pickled_without_a_memo(tmp_path: Path) -> None:
    """A frame of values none of which must be read back shared is pickled without the
    pickler's memo, whose table of every object pickled was 61 MB of the 79 MB that writing
    the graph record of 10k records held at once."""
    shared = ["a key"] * 1000
    text = [f"text {number}" for number in range(200_000)]
    path = tmp_path / "record.pickle"
    _, with_memo = traced_growth(lambda: cache.write_record(path, b"test-record\n", text))
    _, without = traced_growth(
        lambda: cache.write_record(path, b"test-record\n", shared, cache.Unshared(text))
    )
    assert with_memo > 16 * len(text)  # a table entry per string
    assert without < with_memo / 10
    read, ends = cache.read_records(path, b"test-record\n")
    assert read == [shared, text]
    assert read[0][0] is read[0][1]  # the first frame kept its memo
    assert ends[-1].size == path.stat().st_size


def test_a_record_frame_may_share_only_what_it_pickles_first(tmp_path: Path) -> None:
    """A :class:`~feeds.cache.SharedFirst` frame pickles its shared values with the memo,
    then the rest without it, where each of those is written as a reference: read back,
    the rest holds the very objects read first, and holds its other values as many times
    as it names them, with no table entry for each as it is written."""
    kind = b"test-record\n"
    keys = [f"key {number}" for number in range(1_000)]
    text = [f"text {number}" for number in range(200_000)]
    rest = {"cited": [keys[number % 1_000] for number in range(5_000)], "text": text}
    rest["again"] = text[:10]
    path = tmp_path / "record.pickle"
    _, with_memo = traced_growth(lambda: cache.write_record(path, kind, [keys, rest]))
    _, shared_first = traced_growth(
        lambda: cache.write_record(path, kind, cache.SharedFirst(keys, rest), "last")
    )
    assert shared_first < with_memo / 10
    read, ends = cache.read_records(path, kind, shared_first={0})
    assert read == [(keys, rest), "last"]
    (first, then), _ = read
    assert all(then["cited"][n] is first[n % 1_000] for n in range(5_000))
    assert then["again"][0] == then["text"][0]
    assert then["again"][0] is not then["text"][0]  # written twice
    assert ends[-1].size == path.stat().st_size


def test_stat_data_beyond_64_bits_of_nanoseconds_is_packed_wider(tmp_path: Path) -> None:
    """A file dated after April 2262 (a clock set wrong, or a file copied from one) has a
    modification time in nanoseconds that 64 bits do not hold: its stat data is packed
    wider, never taken for a file's packed in 32 bytes, and read back whole."""
    path = tmp_path / "all.atom.xml"
    path.write_bytes(b"<feed/>")
    late = 2**63 + 10**9
    os.utime(path, ns=(late, late))
    if path.stat().st_mtime_ns != late:
        pytest.skip("this file system keeps no such time")
    state = cache.packed_state(FileStat.of(path))
    assert len(state) == 64
    assert cache.packed_size(state) == len(b"<feed/>")
    assert cache.has_state(str(path), state)
    assert cache.has_content(str(path), state, cache.content_digest(b"<feed/>"))
    os.utime(path, ns=(late + 1, late + 1))
    assert not cache.has_state(str(path), state)
    large = 5 * 2**40 + 7
    early = cache.packed_state(FileStat(large, -(10**18), -(10**18), 1))  # 1938: fits
    assert len(early) == 32
    assert cache.packed_size(early) == large
    assert cache.packed_size(cache.packed_state(FileStat(large, late, late, 1))) == large


def test_a_file_is_known_again_by_its_content_when_its_stat_data_moved(
    tmp_path: Path,
) -> None:
    """Making or removing a link to a file moves its change time, and a file restored from
    a CI cache is a new one: a file of the size recorded is then vouched for by the digest
    of its content, and by nothing else; a symbolic link, never."""
    path = tmp_path / "all.atom.xml"
    path.write_bytes(b"<feed>as written</feed>")
    written = FileStat.of(path)
    state = cache.packed_state(written)
    digest = cache.content_digest(b"<feed>as written</feed>")
    assert cache.has_state(str(path), state, follow_symlinks=False)  # its stat data says so
    time.sleep(0.01)
    (tmp_path / "link.xml").hardlink_to(path)
    (tmp_path / "link.xml").unlink()
    assert not cache.has_state(str(path), state)
    assert cache.has_content(str(path), state, digest)
    assert not cache.has_content(str(path), state, b"")  # no digest recorded: not known
    assert not cache.has_content(str(path), state, cache.content_digest(b"something else"))
    with path.open("r+b") as stream:  # the same size and inode, its times set back
        stream.write(b"<feed>AS WRITTEN</feed>")
    os.utime(path, ns=(written.mtime_ns, written.mtime_ns))
    assert path.stat().st_mtime_ns == written.mtime_ns
    assert not cache.has_content(str(path), state, digest)
    copy = tmp_path / "copy.xml"
    copy.write_bytes(b"<feed>as written</feed>")  # another file of the same bytes
    assert cache.has_content(str(copy), state, digest)
    link = tmp_path / "link-to-copy.xml"
    link.symlink_to(copy)  # a build would put the link itself in its output
    assert not cache.has_content(str(link), state, digest)
    path.write_bytes(b"<feed>as written</feed>, and more")
    assert not cache.has_content(str(path), state, digest)
    assert not cache.has_content(str(tmp_path / "gone.xml"), state, digest)
