"""A build with nothing to do knows it from stat data alone, and says what a full check says.

The snapshot trusts only settled files: one changed less than ``RACY_NS`` before it was seen
could have changed again unseen.  Files written by a test are never settled, so most tests
here set ``RACY_NS`` to 0 (files changed before they were seen are settled); one test keeps
the real value.  Whether the quick way was taken is observed by making the cache impossible
to open: the quick way never opens it.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from feeds import api, cache, parallel, records, rendercache, scan, uptodate
from feeds.api import BuildReport, build
from feeds.config import Config
from feeds.records import Locator, NamedFiles
from feeds.rendercache import LastBuild, load_last_build, manifest_path
from tests.corpus import write_corpus
from tests.test_incremental import assert_same_as_cold, edit_record, inodes
from tests.test_workers import read, waited_for

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
AHEAD = "2026-12-24T18:00:00Z"  # a month after NOW


@pytest.fixture
def config(tmp_path: Path) -> Config:
    records = tmp_path / "records"
    write_corpus(records, 120)
    edit_record_at(records / "00006.md", publishedDateTime=AHEAD)  # a warning until then
    shutil.copy(records / "00009.md", records / "00100-copy.md")  # duplicate: an error
    (records / "00101-broken.md").write_text("no front matter here\n", "utf-8")
    return Config(
        source=records, output=tmp_path / "out", cache=tmp_path / "cache", entries_per_feed=5
    )


def edit_record_at(path: Path, **changes: object) -> None:
    edit_record(Config(source=path.parent), path.name, **changes)


@pytest.fixture
def settled(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files changed before they were seen count as settled."""
    monkeypatch.setattr(cache, "RACY_NS", 0)


def refuse_cache(monkeypatch: pytest.MonkeyPatch) -> list[Path | None]:
    """From now on the cache cannot be opened; the list receives each attempt."""
    opened: list[Path | None] = []
    monkeypatch.setattr(cache, "open_cache", opened.append)
    return opened


def without_paths(report: BuildReport) -> BuildReport:
    return replace(report, files=(), output=Path(), unchanged=False)


def full_check(config: Config, tmp_path: Path, now: datetime) -> BuildReport:
    """The report of a build that checks every file, into a fresh folder without a cache."""
    return build(replace(config, output=tmp_path / "full", cache=None), now=now)


@pytest.fixture(params=["here", "in a forked copy"])
def output_checked(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Where a build that may have nothing to do checks its output: in its own process,
    or in a forked copy of it, as it does when the output is large and there are cores
    to spare (:func:`feeds.api._output_check`)."""
    forked = request.param != "here"
    if forked:  # a build forks no copy of itself while another thread runs
        assert threading.active_count() == 1, f"threads left running: {threading.enumerate()}"
    monkeypatch.setattr("feeds.api.FORKED_CHECK_MIN_FILES", 0 if forked else 10**9)
    monkeypatch.setattr("feeds.workers.cores", lambda: 2)
    return str(request.param)


def forked_children(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The processes forked from this one from now on."""
    children: list[int] = []
    real = os.fork

    def fork() -> int:
        pid = real()
        if pid:
            children.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", fork)
    return children


@pytest.mark.usefixtures("settled")
def test_nothing_to_do_is_known_without_the_cache(
    config: Config, monkeypatch: pytest.MonkeyPatch, output_checked: str
) -> None:
    first = build(config, now=NOW)
    before = inodes(config.output)
    opened = refuse_cache(monkeypatch)
    looked_at = spy_on(monkeypatch, LastBuild, "intact_part")  # calls in this process only
    children = forked_children(monkeypatch)
    again = build(config, now=NOW)
    assert again.unchanged
    assert opened == []
    assert inodes(config.output) == before
    assert replace(again, unchanged=False) == first
    assert config.cache is not None
    parts = load_last_build(manifest_path(config.cache, config.output)).intact_parts()
    here = sorted(part for _, part in looked_at)
    if output_checked == "here":
        assert here == list(range(parts))
    else:  # those the copy had not taken when this process asked, from the last back
        assert here == list(range(parts - len(here), parts))
    assert len(children) == (0 if output_checked == "here" else 1)
    assert all(map(waited_for, children))


@pytest.mark.usefixtures("settled")
def test_what_the_cache_knows_of_every_file_is_let_go_while_documents_are_written(
    config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build that looks up every file's stat data at once lets it go before it writes
    documents, and reads it again for its snapshot, which vouches for every file."""
    monkeypatch.setattr(cache, "FEW_LABELS", 1)  # every file's stat data read at once
    caches: list[cache.Cache] = []
    init = cache.Cache.__init__

    def kept(self: cache.Cache, folder: Path) -> None:
        init(self, folder)
        caches.append(self)

    monkeypatch.setattr(cache.Cache, "__init__", kept)
    held: list[object] = []
    read_whole: list[bool] = []
    write = parallel.write_documents

    def writing(*args: Any, **kwargs: Any) -> dict[str, bytes]:
        held.extend(store._hashed for store in caches)
        return write(*args, **kwargs)

    known = cache.Cache.known_digests

    def looked_up(self: cache.Cache, paths: Any = None) -> Any:
        read_whole.append(self._hashed is None)
        return known(self, paths)

    monkeypatch.setattr(parallel, "write_documents", writing)
    monkeypatch.setattr(cache.Cache, "known_digests", looked_up)
    first = build(config, now=NOW)
    assert held == [None]
    assert read_whole[0] and read_whole[-1]  # before checking, and for the snapshot
    opened = refuse_cache(monkeypatch)
    again = build(config, now=NOW)
    assert again.unchanged
    assert opened == []
    assert replace(again, unchanged=False) == first


@pytest.mark.usefixtures("settled")
def test_without_a_snapshot_the_output_is_checked_once(
    config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, output_checked: str
) -> None:
    """A build with no snapshot to go by compares the records by content, then asks for
    the check of the output it began with (by its forked copy, when there is one), rather
    than checking the output again."""
    assert config.cache is not None
    monkeypatch.setattr(rendercache, "INTACT_PART_FILES", 50)  # parts enough to share
    first = build(config, now=NOW)
    uptodate.snapshot_path(config.cache, config.output).unlink()
    log = tmp_path / "parts"
    real = LastBuild.intact_part

    def intact_part(last: LastBuild, output: Path, part: int) -> bool:
        with log.open("a") as stream:  # one write per line, from either process
            stream.write(f"{os.getpid()} {part}\n")
        return real(last, output, part)

    monkeypatch.setattr(LastBuild, "intact_part", intact_part)
    up_to_date = api._up_to_date

    def copy_at_work(*args: Any) -> BuildReport | None:
        """As a build that takes a while to find it has no snapshot: the copy has checked
        two parts, which a build that checked its output again would check twice."""
        deadline = time.monotonic() + 30
        here = str(os.getpid())
        while (
            output_checked != "here"
            and [line for line in read(log).splitlines() if line.split()[0] != here][1:] == []
        ):
            assert time.monotonic() < deadline, "the copy checked fewer than two parts"
            time.sleep(0.01)
        return up_to_date(*args)

    monkeypatch.setattr(api, "_up_to_date", copy_at_work)
    children = forked_children(monkeypatch)
    again = build(config, now=NOW)
    assert again.unchanged
    assert replace(again, unchanged=False) == first
    parts = load_last_build(manifest_path(config.cache, config.output)).intact_parts()
    checked = [int(line.split()[1]) for line in read(log).splitlines()]
    assert sorted(set(checked)) == list(range(parts))
    assert len(checked) <= parts + 1  # the two may both take the part where they meet
    assert all(map(waited_for, children))


@pytest.mark.usefixtures("settled", "output_checked")
def test_without_a_snapshot_a_changed_output_is_made_again(config: Config, tmp_path: Path) -> None:
    assert config.cache is not None
    build(config, now=NOW)
    uptodate.snapshot_path(config.cache, config.output).unlink()
    page = config.output / "all.atom.xml"
    page.write_bytes(page.read_bytes().replace(b"<", b"[", 1))
    assert not build(config, now=NOW).unchanged
    assert_same_as_cold(config, tmp_path)


@pytest.mark.usefixtures("settled")
def test_the_copy_that_checks_the_output_ends_when_there_is_something_to_do(
    config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, output_checked: str
) -> None:
    build(config, now=NOW)
    children = forked_children(monkeypatch)
    edit_record_at(config.source / "00042.md", title="Something else")
    assert not build(config, now=NOW).unchanged
    # With the copy that checks the output, the one that states the output before last
    # while the build works (feeds.api._stated_ahead): both ended and waited for.
    assert len(children) == (0 if output_checked == "here" else 2)
    assert all(map(waited_for, children))
    assert_same_as_cold(config, tmp_path)


@pytest.mark.usefixtures("settled")
@pytest.mark.parametrize("later", [timedelta(0), timedelta(days=2), timedelta(days=60)])
def test_its_report_is_that_of_a_full_check(
    config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, later: timedelta
) -> None:
    build(config, now=NOW)
    opened = refuse_cache(monkeypatch)
    report = build(config, now=NOW + later)
    assert report.unchanged
    assert opened == []
    assert without_paths(report) == without_paths(full_check(config, tmp_path, NOW + later))
    future = [w for w in report.warnings if w.rule == "future-date"]
    assert len(future) == (0 if later > timedelta(days=30) else 1)
    assert any(d.rule == "duplicate-url" for item in report.skipped for d in item.diagnostics)
    assert any(d.rule == "front-matter" for item in report.skipped for d in item.diagnostics)


@pytest.mark.usefixtures("settled")
def test_a_touched_record_is_compared_by_content_then_trusted_again(
    config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A record touched since (a checkout, a script that wrote it again as it was) is read
    and hashed again, without the cache, and the snapshot then takes it as it now is."""
    assert config.cache is not None
    build(config, now=NOW)
    path = uptodate.snapshot_path(config.cache, config.output)
    before = uptodate.load_snapshot(path)
    os.utime(config.source / "00010.md", ns=(1, 1))
    opened = refuse_cache(monkeypatch)
    assert build(config, now=NOW).unchanged
    after = uptodate.load_snapshot(path)
    assert before is not None and after is not None
    changed = [old for old, new in zip(before.sources, after.sources, strict=True) if old != new]
    assert [name for name, *_ in changed] == [str(config.source / "00010.md")]
    assert build(config, now=NOW).unchanged
    assert opened == []


@pytest.mark.usefixtures("settled")
@pytest.mark.parametrize("keep", ["size", "size and times"])
def test_a_record_changed_in_place_is_seen(config: Config, tmp_path: Path, keep: str) -> None:
    build(config, now=NOW)
    path = config.source / "00042.md"
    before = path.stat()
    text = path.read_text("utf-8")
    path.write_text(text.replace("title: ", "title: X", 1)[:-1], "utf-8")  # same size
    assert path.stat().st_size == before.st_size
    if keep == "size and times":
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    report = build(config, now=NOW)
    assert not report.unchanged
    assert_same_as_cold(config, tmp_path)


FILE_CHANGES = ("add", "remove", "rename")


def change_files(source: Path, change: str) -> None:
    """Add a record, remove one or rename one (``change``)."""
    if change == "add":
        shutil.copy(source / "00003.md", source / "00003-again.md")
    elif change == "remove":
        (source / "00003.md").unlink()
    else:
        (source / "00003.md").rename(source / "00003-renamed.md")


@pytest.mark.usefixtures("settled")
@pytest.mark.parametrize("change", [*FILE_CHANGES, "settings", "schema"])
def test_other_changes_are_seen(
    config: Config, tmp_path: Path, change: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    build(config, now=NOW)
    if change in FILE_CHANGES:
        change_files(config.source, change)
    elif change == "settings":
        config = replace(config, title="Another title")
    else:
        monkeypatch.setattr("feeds.api.schema_key", lambda schema: "another schema")
    assert not build(config, now=NOW).unchanged
    assert_same_as_cold(config, tmp_path)


@pytest.mark.usefixtures("settled", "output_checked")
@pytest.mark.parametrize("change", ["edit", "add", "remove"])
def test_a_changed_output_is_made_again(config: Config, tmp_path: Path, change: str) -> None:
    build(config, now=NOW)
    page = config.output / "all.atom.xml"
    if change == "edit":
        page.write_bytes(page.read_bytes().replace(b"<", b"[", 1))
    elif change == "add":
        (config.output / "topics" / "stray.xml").write_text("not ours")
    else:
        page.unlink()
    assert not build(config, now=NOW).unchanged
    assert_same_as_cold(config, tmp_path)


def test_records_just_written_are_hashed_again_without_the_cache(
    config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the real ``RACY_NS``: the corpus was written a moment ago, so it is not settled.
    The build reads and hashes the files again instead of trusting their stat data, and the
    snapshot then takes them as they now are."""
    assert config.cache is not None
    path = uptodate.snapshot_path(config.cache, config.output)
    first = build(config, now=NOW)
    before = uptodate.load_snapshot(path)
    opened = refuse_cache(monkeypatch)
    again = build(config, now=NOW)
    assert again.unchanged
    assert opened == []
    assert replace(again, unchanged=False) == first
    after = uptodate.load_snapshot(path)
    assert before is not None and after is not None
    assert [source[5] for source in after.sources] > [source[5] for source in before.sources]
    assert replace(after, sources=before.sources) == before


def test_a_change_its_stat_data_does_not_show_is_found_by_content(
    config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the real ``RACY_NS``: a record rewritten within the same tick of the file
    system's clock as the build looked at it keeps its stat data (here the snapshot is
    given the new stat data, as such a clock would leave it); only its content tells."""
    assert config.cache is not None
    path = uptodate.snapshot_path(config.cache, config.output)
    build(config, now=NOW)
    record = config.source / "00042.md"
    text = record.read_text("utf-8")
    record.write_text(text.replace("title: ", "title: X", 1)[:-1], "utf-8")  # same size
    snapshot = uptodate.load_snapshot(path)
    assert snapshot is not None
    index = [name for name, *_ in snapshot.sources].index(str(record))
    name, *_, observed, used = snapshot.sources[index]
    sources = list(snapshot.sources)
    sources[index] = (name, *cache.FileStat.of(record), observed, used)
    uptodate.store_snapshot(path, replace(snapshot, sources=tuple(sources)))
    opened = refuse_cache(monkeypatch)
    assert not build(config, now=NOW).unchanged
    assert opened == [config.cache]
    assert_same_as_cold(config, tmp_path)


@pytest.mark.usefixtures("settled")
@pytest.mark.parametrize("damage", [b"", b"garbage", "truncated", "another build's", "old clock"])
def test_a_snapshot_that_cannot_be_trusted_is_ignored(
    config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: bytes | str
) -> None:
    assert config.cache is not None
    path = uptodate.snapshot_path(config.cache, config.output)
    first = build(config, now=NOW)
    kept = path.read_bytes()
    now = NOW
    if damage == "truncated":
        path.write_bytes(kept[:-100])
    elif damage == "another build's":
        # The snapshot of a build of other settings, beside this build's record.
        build(replace(config, title="Another title"), now=NOW)
        other = path.read_bytes()
        build(config, now=NOW)
        path.write_bytes(other)
    elif damage == "old clock":
        now = NOW - timedelta(days=1)  # the clock went back: dates ahead are not known
    else:
        assert isinstance(damage, bytes)
        path.write_bytes(damage)
    opened = refuse_cache(monkeypatch)
    report = build(config, now=now)
    assert opened == [config.cache]
    assert without_paths(report) == without_paths(full_check(config, tmp_path, now))
    if damage != "old clock":
        assert without_paths(report) == without_paths(first)


@pytest.mark.usefixtures("settled")
def test_dates_ahead_are_placed_where_the_snapshot_says_without_composing_the_file(
    config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build(config, now=NOW)
    opened = refuse_cache(monkeypatch)
    with monkeypatch.context() as patched:
        patched.setattr(Locator, "position", _never_composed)
        report = build(config, now=NOW + timedelta(days=1))
    assert report.unchanged and opened == []
    (ahead,) = [w for w in report.warnings if w.rule == "future-date"]
    assert "checked at 2026-11-26T12:00:00Z" in ahead.message  # the clock of this build
    assert without_paths(report) == without_paths(
        full_check(config, tmp_path, NOW + timedelta(days=1))
    )


def _never_composed(self: Locator, path: object) -> tuple[int, int]:
    raise AssertionError(f"{self.record.file} was composed to place {path}")


@pytest.mark.usefixtures("settled")
def test_a_snapshot_round_trips(config: Config, tmp_path: Path) -> None:
    assert config.cache is not None
    build(config, now=NOW)
    snapshot = uptodate.load_snapshot(uptodate.snapshot_path(config.cache, config.output))
    assert snapshot is not None
    assert len(snapshot.sources) == len(snapshot.checks) == 122
    assert [name for name, *_ in snapshot.sources] == [
        str(path) for path in sorted(config.source.iterdir())
    ]
    assert [file for file, _, _ in snapshot.checks] == [name for name, *_ in snapshot.sources]
    ((index, latest, dated),) = snapshot.ahead  # the one record dated after the build
    assert snapshot.checks[index][0].endswith("00006.md")
    ((field, line, column),) = dated  # where its date sits
    assert field == "publishedDateTime" and line > 1 and column > 1
    # One that names a file it does not hold is not one this code wrote.
    foreign = replace(snapshot, ahead=((len(snapshot.checks), latest, dated),))
    uptodate.store_snapshot(tmp_path / "foreign", foreign)
    assert uptodate.load_snapshot(tmp_path / "foreign") is None
    assert all(d.rule != "future-date" for _, found, _ in snapshot.checks for d in found)


def spy_on(monkeypatch: pytest.MonkeyPatch, owner: object, name: str) -> list[tuple[Any, ...]]:
    """Calls to ``owner.name`` from now on, by their arguments (``self`` left out)."""
    calls: list[tuple[Any, ...]] = []
    real = getattr(owner, name)

    def spy(self: object, *args: object) -> object:
        calls.append(args)
        return real(self, *args)

    monkeypatch.setattr(owner, name, spy)
    return calls


@pytest.mark.usefixtures("settled")
def test_an_edit_that_keeps_the_size_is_found_before_the_output_is_looked_at(
    config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Telling whether the output is as the last build left it takes a stat call per
    output file: a build that hashes the touched records first needs none of them when
    one holds something else now."""
    build(config, now=NOW)
    path = config.source / "00042.md"
    size = path.stat().st_size
    path.write_text(path.read_text("utf-8").replace("title: ", "title: X", 1)[:-1], "utf-8")
    assert path.stat().st_size == size
    looked_at = spy_on(monkeypatch, LastBuild, "intact_part")
    assert not build(config, now=NOW).unchanged
    assert looked_at == []
    assert_same_as_cold(config, tmp_path)


@pytest.mark.usefixtures("settled")
def test_the_files_the_snapshot_vouches_for_are_not_looked_up_again(
    config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After one record changed, the cache is asked about that one file only; and what it
    holds of files no build reads is not looked for, as the files are those of the last
    build."""
    build(config, now=NOW)
    edit_record_at(config.source / "00042.md", title="Changed once")
    asked = spy_on(monkeypatch, cache.Cache, "known_digests")
    tidied = spy_on(monkeypatch, cache.Cache, "keep_only")
    report = build(config, now=NOW)
    assert not report.unchanged
    # Once to hash it, once for the next snapshot.
    assert asked == [([str((config.source / "00042.md").absolute())],)] * 2
    assert tidied == []
    assert_same_as_cold(config, tmp_path)
    assert build(config, now=NOW).unchanged  # the snapshot it left is whole


@pytest.mark.usefixtures("settled")
def test_a_build_makes_paths_for_the_files_it_reads_only(
    config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Making a path for every record file, and naming the files again from those paths,
    took a twentieth of a build that changed one record of 100,000."""
    build(config, now=NOW)
    edited = config.source / "00042.md"
    edit_record_at(edited, title="Changed once")
    made: list[Path] = []
    opened: list[Path] = []
    make, open_ = NamedFiles.__getitem__, Path.open
    read_bounded, read_stated = records.read_bounded, records.read_stated

    def making(self: NamedFiles, index: Any) -> Any:
        made.append(path := make(self, index))
        return path

    def opening(self: Path, *args: Any, **kwargs: Any) -> Any:
        opened.append(self)
        return open_(self, *args, **kwargs)

    def reading(path: Path, max_bytes: int) -> bytes:  # records are read through these
        opened.append(path)
        return read_bounded(path, max_bytes)

    def reading_stated(path: Path, max_bytes: int) -> tuple[bytes, os.stat_result, int]:
        opened.append(path)
        return read_stated(path, max_bytes)

    monkeypatch.setattr(NamedFiles, "__getitem__", making)
    monkeypatch.setattr(Path, "open", opening)
    monkeypatch.setattr(records, "read_bounded", reading)
    monkeypatch.setattr(scan, "read_stated", reading_stated)
    assert not build(config, now=NOW).unchanged
    read = {path for path in opened if path.parent == config.source}
    assert edited in read
    assert set(made) == read
    assert_same_as_cold(config, tmp_path)


@pytest.mark.usefixtures("settled")
@pytest.mark.parametrize("change", FILE_CHANGES)
def test_what_the_cache_holds_of_files_gone_is_dropped_when_the_files_change(
    config: Config, change: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    build(config, now=NOW)
    change_files(config.source, change)
    tidied = spy_on(monkeypatch, cache.Cache, "keep_only")
    build(config, now=NOW)
    assert len(tidied) == 1
    assert config.cache is not None
    with cache.Cache(config.cache) as store:
        known = set(store.known_digests())
    assert known == {str(path.absolute()) for path in config.source.iterdir()}


@pytest.mark.usefixtures("settled")
def test_a_snapshot_outliving_its_cache_database_still_vouches_for_files(
    config: Config, tmp_path: Path
) -> None:
    """The database is gone (deleted, or found damaged): the files are checked again, and
    the snapshot's content hashes are as good as before."""
    assert config.cache is not None
    build(config, now=NOW)
    for database in config.cache.glob(f"{cache.DB_NAME}*"):
        database.unlink()
    edit_record_at(config.source / "00042.md", title="Changed once")
    assert not build(config, now=NOW).unchanged
    assert_same_as_cold(config, tmp_path)
    assert build(config, now=NOW).unchanged


@pytest.mark.usefixtures("settled")
def test_a_snapshot_looks_at_files_by_name(config: Config) -> None:
    """Files added, removed or renamed since do not stop it vouching for the others."""
    assert config.cache is not None
    build(config, now=NOW)
    snapshot = uptodate.load_snapshot(uptodate.snapshot_path(config.cache, config.output))
    assert snapshot is not None
    names = [name for name, *_ in snapshot.sources]
    same = snapshot.look(names)
    assert same.same_files and all(same.vouched)
    os.utime(names[3], ns=(1, 1))
    others = [*names[:2], str(config.source / "new.md"), *names[3:]]
    other = snapshot.look(others)
    assert not other.same_files
    assert [source is None for source in other.vouched][:5] == [False, False, True, True, False]
    assert other.now[2] is None and other.now[3] is not None
    labels = [file for file, _, _ in snapshot.checks]
    assert snapshot.in_doubt(labels, snapshot.settings, other) is None
