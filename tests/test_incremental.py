"""A build that reuses the previous build's documents writes exactly what a cold build writes.

Each test builds a corpus with a cache, changes something (a record, the settings, the output
folder, the cache itself), builds again, and compares every byte with a build of the same
input into a fresh folder without a cache.  Reuse is observed through the files themselves:
a reused document is a hard link to the previous build's file, so it keeps its inode.
"""

from __future__ import annotations

import filecmp
import gc
import json
import os
import pickletools
import random
import shutil
import tempfile
from array import array
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from feeds import (
    api,
    cache,
    earlier,
    entries,
    graphcache,
    keys,
    output,
    parallel,
    rendercache,
    texts,
    uptodate,
)
from feeds import scan as scan_module
from feeds.api import build, check_source, long_lived, validate
from feeds.articles import RELATED_LISTED
from feeds.cache import FileStat
from feeds.config import Config
from feeds.jsonfeed import item_marks, written_items
from feeds.keys import DocumentKeys
from feeds.plan import plan_feeds
from feeds.publish import FAVICON, INDEX, OPML
from feeds.records import discover
from feeds.render import STYLESHEET, entry_marks, mark_positions, pieces, written_entries
from feeds.schema import load_schema
from tests.conftest import HOT, RecordFactory, cite_one_article
from tests.corpus import record, write_corpus
from tests.edits import edited_run, random_edit
from tests.test_workers import ended

RECORDS = 150


@pytest.fixture
def config(tmp_path: Path) -> Config:
    write_corpus(tmp_path / "records", RECORDS)
    return Config(
        source=tmp_path / "records",
        output=tmp_path / "out",
        cache=tmp_path / "cache",
        entries_per_feed=5,  # small pages: every feed has archives
    )


def files(folder: Path) -> dict[str, Path]:
    return {p.relative_to(folder).as_posix(): p for p in folder.rglob("*") if p.is_file()}


def packed(path: Path) -> cache.PackedStat:
    """The stat data of ``path`` as the record of an output keeps it."""
    return cache.packed_state(FileStat.of(path))


def changed_at(folder: Path) -> dict[str, tuple[int, int]]:
    """Each file's inode and change time (making or removing a link to it moves that)."""
    return {
        name: ((state := path.stat()).st_ino, state.st_ctime_ns)
        for name, path in files(folder).items()
    }


def inodes(folder: Path) -> dict[str, int]:
    return {name: path.stat().st_ino for name, path in files(folder).items()}


def assert_same_as_cold(config: Config, tmp_path: Path) -> None:
    cold = replace(config, output=tmp_path / "cold", cache=None)
    build(cold)
    built, expected = files(config.output), files(cold.output)
    assert sorted(built) == sorted(expected)
    different = [n for n in built if not filecmp.cmp(built[n], expected[n], shallow=False)]
    assert different == []


def edit_record(config: Config, name: str, **changes: object) -> None:
    path = config.source / name
    text = path.read_text("utf-8")
    front = yaml.safe_load(text.split("---\n")[1])
    front.update(changes)
    body = text.split("---\n", 2)[2]
    dumped = yaml.safe_dump(front, sort_keys=True, allow_unicode=True, width=1000)
    path.write_text(f"---\n{dumped}---\n{body}", "utf-8")


def test_nothing_changed_writes_nothing(config: Config, tmp_path: Path) -> None:
    first = build(config)
    before = inodes(config.output)
    folder = config.output.stat().st_ino
    again = build(config)
    assert again.unchanged
    assert config.output.stat().st_ino == folder
    assert inodes(config.output) == before
    assert replace(again, unchanged=False) == first  # the same report: counts and problems
    assert_same_as_cold(config, tmp_path)


def test_a_touched_but_unchanged_record_changes_nothing(config: Config) -> None:
    build(config)
    record = config.source / "00010.md"
    os.utime(record, ns=(1, 1))
    assert build(config).unchanged


def test_a_build_after_an_edit_reuses_every_other_document(config: Config, tmp_path: Path) -> None:
    build(config)
    edit_record(config, "00042.md", excerpt="Said differently.")
    build(config)
    before = inodes(config.output)
    edit_record(config, "00042.md", excerpt="Said differently again.")
    report = build(config)
    assert not report.unchanged
    after = inodes(config.output)
    remade = {n for n in after if after.get(n) != before.get(n)}
    # Made every build (they are small), and linked from the output in place, the same.
    assert not {STYLESHEET, FAVICON} & remade
    assert len(remade) < len(after) / 4
    assert_same_as_cold(config, tmp_path)


class Stages:
    """A :class:`feeds.progress.Progress` that keeps each stage's label, total and steps."""

    def __init__(self) -> None:
        self.stages: list[tuple[str, int, int]] = []

    def start(self, label: str, total: int) -> None:
        self.stages.append((label, total, 0))

    def advance(self, steps: int = 1) -> None:
        label, total, done = self.stages[-1]
        self.stages[-1] = (label, total, done + steps)

    def finish(self) -> None:
        pass

    def labels(self) -> list[str]:
        return [label.split()[0] for label, _, _ in self.stages]


def test_a_build_shows_how_far_it_got_going_over_every_article(config: Config) -> None:
    """Between reading the files and writing the documents, a build that merged every file
    goes over every article for its entry digests (``feeds.keys.entry_digests``): at
    100,000 records, for 17 s, which a terminal showed nothing of.  A build after one
    record changed goes over the articles merged again only, and shows no such stage."""
    cold = Stages()
    report = build(config, progress=cold)
    assert cold.labels() == ["Reading", "Preparing", "Writing"]
    assert cold.stages[1] == (
        f"Preparing {report.articles} entries",
        report.articles,
        report.articles,
    )
    edit_record(config, "00042.md", excerpt="Said differently.")
    again = Stages()
    build(config, progress=again)
    assert "Preparing" not in again.labels()


def test_the_front_page_and_subscription_list_are_remade_only_when_what_they_show_changes(
    config: Config, tmp_path: Path
) -> None:
    """They show each feed's name and newest dates, and the front page its size: an edited
    excerpt changes none of these, a new record changes sizes."""
    build(config)
    edit_record(config, "00042.md", excerpt="Said differently.")
    build(config)
    before = inodes(config.output)
    edit_record(config, "00042.md", excerpt="Said differently again.")
    build(config)
    after = inodes(config.output)
    assert {name: after[name] for name in (INDEX, OPML)} == {
        name: before[name] for name in (INDEX, OPML)
    }
    assert_same_as_cold(config, tmp_path)
    front_page = (config.output / INDEX).read_bytes()
    shutil.copy(config.source / "00042.md", config.source / "zz-new.md")
    edit_record(config, "zz-new.md", webUrl="https://example.com/a-new-article")
    build(config)
    assert (config.output / INDEX).read_bytes() != front_page
    assert_same_as_cold(config, tmp_path)


def test_one_changed_record_remakes_only_its_documents(config: Config, tmp_path: Path) -> None:
    build(config)
    before = inodes(config.output)
    edit_record(config, "00042.md", title="A title nobody used before")
    build(config)
    after = inodes(config.output)
    remade = {n for n in after if after.get(n) != before.get(n)}
    assert any(n.startswith("all") for n in remade), "the record's own documents are remade"
    assert len(remade) < len(after) / 4, "most documents are reused"
    assert_same_as_cold(config, tmp_path)


@pytest.mark.parametrize(
    "change",
    ["remove a record", "add a record", "new date", "new settings", "fewer entries per feed"],
)
def test_other_changes_match_a_cold_build(config: Config, tmp_path: Path, change: str) -> None:
    build(config)
    if change == "remove a record":
        (config.source / "00007.md").unlink()
    elif change == "add a record":
        write_corpus(tmp_path / "more", RECORDS + 3)
        (tmp_path / "more" / f"{RECORDS + 2:05d}.md").rename(config.source / "new.md")
    elif change == "new date":
        edit_record(config, "00003.md", publishedDateTime="2001-01-01T00:00:00Z")
    elif change == "new settings":
        config = replace(config, title="Another name", base_url="https://example.org/x/")
    else:
        config = replace(config, entries_per_feed=3)
    build(config)
    assert_same_as_cold(config, tmp_path)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_build_of_a_run_of_random_edits_matches_a_cold_build(
    tmp_path: Path, seed: int
) -> None:
    """Edits of every kind, one to three between builds, in an order no other test tries:
    each build starts from the graph, output and output before last that the one before
    left, so a mistake in carrying any of them over shows up as a byte that differs."""
    rng = random.Random(seed)
    config = edited_run(tmp_path, rng, seed)
    build(config)
    done: list[str] = []
    for _ in range(8):
        done.append("; ".join(random_edit(config.source, rng) for _ in range(rng.randint(1, 3))))
        build(config)
        cold = replace(config, output=tmp_path / "cold", cache=None)
        build(cold)
        built, expected = files(config.output), files(cold.output)
        different = sorted(set(built) ^ set(expected)) + [
            name
            for name in built
            if name in expected and not filecmp.cmp(built[name], expected[name], shallow=False)
        ]
        assert different == [], f"after {done}"


@pytest.mark.parametrize("at_most", [0, 10**9])
def test_builds_take_the_entry_digests_where_the_graph_record_packs_them_or_in_dicts_alike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, at_most: int
) -> None:
    """A build that merged a few articles again asks for their entry digests where the
    graph record packs them; one that merged more than ``DIGESTS_LOOKED_UP_AT_MOST``, from
    dicts.  Either way it writes what a cold build writes."""
    monkeypatch.setattr(api, "DIGESTS_LOOKED_UP_AT_MOST", at_most)
    made: list[int] = []
    as_dicts = keys.as_dicts

    def counted(*mappings: Mapping[str, bytes]) -> list[Mapping[str, bytes]]:
        made.extend(len(d) for d in mappings if isinstance(d, keys.RecordedDigests))
        return as_dicts(*mappings)

    monkeypatch.setattr(keys, "as_dicts", counted)
    rng = random.Random(4)
    config = edited_run(tmp_path, rng, 4)
    build(config)
    for _ in range(4):
        random_edit(config.source, rng)
        build(config)
        assert_same_as_cold(config, tmp_path)
    assert bool(made) == (at_most == 0)


def test_a_cold_build_holds_its_entry_digests_packed_and_keys_documents_from_a_dict(
    config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The digests of every article stay with the build to its end, packed as the graph
    record packs them; keying every document asks for each of them, from a dict made for
    that alone, which rendering does not hold."""
    given: list[Mapping[str, bytes]] = []
    write_documents = parallel.write_documents

    def spy(*args: Any, **kwargs: Any) -> dict[str, bytes]:
        given.append(kwargs["entry_digests"])
        return write_documents(*args, **kwargs)

    made: list[dict[str, bytes]] = []
    copied_dict = keys.copied_dict

    def counted(digests: Mapping[str, bytes]) -> dict[str, bytes]:
        made.append(copied_dict(digests))
        return made[-1]

    monkeypatch.setattr(parallel, "write_documents", spy)
    monkeypatch.setattr(keys, "copied_dict", counted)
    build(config)
    assert [type(digests) for digests in given] == [keys.RecordedDigests]
    assert [type(digests) for digests in made] == [dict]
    assert made[0] == given[0] and len(made[0]) > 100
    assert_same_as_cold(config, tmp_path)


def test_a_build_that_merged_every_file_again_lends_entries_from_dicts(
    config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Most records changed, the graph is merged from every file, and no document's key
    is known; the output in place lends the entries that stayed the same, each asked for
    from dicts of both graphs' digests, not where they are packed."""
    made: list[list[type]] = []
    as_dicts = keys.as_dicts

    def counted(*mappings: Mapping[str, bytes]) -> list[Mapping[str, bytes]]:
        made.append([type(digests) for digests in mappings])
        return as_dicts(*mappings)

    monkeypatch.setattr(keys, "as_dicts", counted)
    build(config)
    assert made == []  # a cold build lends nothing
    records = sorted(config.source.glob("*.md"))
    for path in records[: len(records) * 2 // 3]:
        front = yaml.safe_load(path.read_text("utf-8").split("---\n")[1])
        if isinstance(front, dict) and "title" in front:
            edit_record(config, path.name, title=f"{front['title']} again")
    lenders: list[object] = []
    lend = earlier.EarlierEntries.lend

    def lending(self: earlier.EarlierEntries, *args: Any) -> None:
        lenders.append(self)
        lend(self, *args)

    monkeypatch.setattr(earlier.EarlierEntries, "lend", lending)
    build(config)
    assert made == [[keys.RecordedDigests, keys.RecordedDigests]]
    assert lenders  # the output in place lent entries
    assert_same_as_cold(config, tmp_path)


def test_many_touched_records_are_checked_before_the_graph_is_read_back(
    config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Enough of them for worker processes: those are forked from this one, and forked
    after it read the graph back, each held the graph too.  Checked first, they are found
    in the cache once the graph is read back, and the build is a cold build's."""
    monkeypatch.setattr(cache, "RACY_NS", 0)  # the records were there before the first build
    build(config)
    monkeypatch.setattr(scan_module, "PARALLEL_MIN_FILES", 4)
    events: list[tuple[str, int]] = []
    load_state, check_paths = graphcache.load_state, scan_module._check_paths

    def loading(*args: Any, **kwargs: Any) -> Any:
        events.append(("graph read back", 0))
        return load_state(*args, **kwargs)

    def checking(todo: Sequence[Any], *args: Any, **kwargs: Any) -> Any:
        events.append(("files checked", len(todo)))
        return check_paths(todo, *args, **kwargs)

    monkeypatch.setattr(graphcache, "load_state", loading)
    monkeypatch.setattr(scan_module, "_check_paths", checking)
    names = sorted(path.name for path in config.source.iterdir())[10:16]
    for name in names:
        edit_record(config, name, title=f"Edited {name}")
    for index, name in enumerate(names[:2]):  # and new ones, which the cache knows nothing of
        shutil.copy(config.source / name, config.source / f"new-{index}.md")
        edit_record(config, f"new-{index}.md", webUrl=f"https://new.example.com/{index}")
    report = build(config)
    assert events == [("files checked", 8), ("graph read back", 0), ("files checked", 0)]
    assert report.articles > 0
    assert_same_as_cold(config, tmp_path)

    # Fewer than that, they are checked where they always were: after the graph.
    events.clear()
    for name in names[:3]:
        edit_record(config, name, title=f"Edited again {name}")
    build(config)
    assert events == [("graph read back", 0), ("files checked", 3)]
    assert_same_as_cold(config, tmp_path)

    # Nor when most files were touched (a checkout): they would all be looked up twice.
    events.clear()
    for path in config.source.iterdir():
        os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    edit_record(config, names[0], title="Edited once more")
    build(config)
    assert events == [("graph read back", 0), ("files checked", 1)]
    assert_same_as_cold(config, tmp_path)


@pytest.mark.parametrize("name", ["all.atom.xml", "index.html"])
def test_a_file_edited_in_the_output_is_made_again(
    config: Config, tmp_path: Path, name: str
) -> None:
    build(config)
    page = config.output / name
    text = page.read_bytes()
    page.write_bytes(text.replace(b"<", b"[", 1))  # same size, same name
    assert not build(config).unchanged
    assert page.read_bytes() == text
    assert_same_as_cold(config, tmp_path)


@pytest.mark.parametrize("target", ["moved", "copied"])
def test_a_file_of_the_output_replaced_by_a_link_is_made_again(
    config: Config, tmp_path: Path, target: str
) -> None:
    """A symbolic link in the output is not taken, even one to the very file written: a
    build links the file it takes into its new output, and would publish the link."""
    build(config)
    page = config.output / "topics" / sorted(files(config.output / "topics"))[0]
    elsewhere = tmp_path / "elsewhere.xml"
    if target == "moved":
        page.rename(elsewhere)
    else:
        shutil.copyfile(page, elsewhere)
        page.unlink()
    page.symlink_to(elsewhere)
    assert not build(config).unchanged
    assert not [p for p in config.output.rglob("*") if p.is_symlink()]
    assert_same_as_cold(config, tmp_path)


def test_a_link_to_the_very_file_recorded_is_not_taken_for_it(tmp_path: Path) -> None:
    real = tmp_path / "real.xml"
    real.write_bytes(b"<feed/>")
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "a.xml").symlink_to(real)
    state = packed(real)  # the state of the very file the link leads to
    previous = {"a.xml": (b"key", state, cache.content_digest(b"<feed/>"))}
    assert not rendercache.still_there(previous, folder, ["a.xml"], b"key")
    (folder / "a.xml").unlink()
    real.rename(folder / "a.xml")  # the file itself, its change time moved
    assert rendercache.still_there(previous, folder, ["a.xml"], b"key")


def test_a_file_added_to_the_output_is_removed(config: Config, tmp_path: Path) -> None:
    build(config)
    (config.output / "topics" / "stray.xml").write_text("not ours")
    assert not build(config).unchanged
    assert_same_as_cold(config, tmp_path)


def test_a_file_removed_from_the_output_is_made_again(config: Config, tmp_path: Path) -> None:
    build(config)
    (config.output / "feeds.opml").unlink()
    assert not build(config).unchanged
    assert_same_as_cold(config, tmp_path)


def test_a_build_whose_output_was_removed_lends_nothing_and_matches_a_cold_build(
    config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What CI does when it keeps the cache but not the output: there is nothing to take
    entries from, so nothing is set up to (every document would look for its files)."""
    build(config)
    edit_record(config, "00042.md", title="A title nobody used before")
    shutil.rmtree(config.output)
    shutil.rmtree(output.previous_path(config.output))
    lenders: list[object] = []
    read = records_read(monkeypatch)
    with monkeypatch.context() as patch:
        patch.setattr(earlier.EarlierEntries, "__init__", lambda *args: lenders.append(args))
        report = build(config)
    assert not report.unchanged and lenders == []
    assert read == []  # the record of files that are gone: not even read
    assert_same_as_cold(config, tmp_path)
    edit_record(config, "00042.md", title="Another title nobody used before")
    build(config)  # its output is there, and is swapped out and kept
    assert len(read) == 1
    shutil.rmtree(config.output)
    assert output.previous_path(config.output).is_dir()
    build(config)
    assert len(read) == 2  # the files of the output kept can be taken
    assert_same_as_cold(config, tmp_path)


def records_read(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The records of the last build's files that builds read, from now on."""
    read: list[Path] = []
    load = rendercache.load_last_build

    def counted(path: Path) -> rendercache.LastBuild:
        read.append(path)
        return load(path)

    monkeypatch.setattr(rendercache, "load_last_build", counted)
    return read


def test_builds_whose_texts_are_held_apart_write_what_builds_holding_them_write(
    config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Spilled by a build that merges every file, or read back from the graph record by
    one whose output was removed, the texts of the articles come out the same, though
    only a few are kept once read."""
    build(config)
    monkeypatch.setattr(texts, "TEXTS_IN_MEMORY", 7)
    monkeypatch.setattr(texts, "TEXTS_KEPT", 8)
    monkeypatch.setattr(texts, "SPILL_BUFFER_BYTES", 500)
    spilled = replace(config, output=tmp_path / "spilled", cache=tmp_path / "spilled-cache")
    for _ in range(2):  # merged from every file, then read back with the output removed
        build(spilled)
        built, expected = files(spilled.output), files(config.output)
        assert sorted(built) == sorted(expected)
        different = [n for n in built if not filecmp.cmp(built[n], expected[n], shallow=False)]
        assert different == []
        shutil.rmtree(spilled.output)


def test_the_record_of_the_last_build_vouches_only_for_files_as_they_were(
    config: Config,
) -> None:
    build(config)
    assert config.cache is not None
    record = rendercache.manifest_path(config.cache, config.output)
    last = rendercache.load_last_build(record)
    assert last.intact(config.output)
    assert last.file_names() == sorted(last.files) == sorted(files(config.output))
    victim = config.output / last.file_names()[-1]
    victim.write_bytes(victim.read_bytes())  # the same bytes, but written again
    assert not rendercache.load_last_build(record).intact(config.output)
    unlike = replace(last, rows=[(path, key) for path, key, *_ in last.rows])
    assert not unlike.intact(config.output)  # rows not as written: trusted for nothing
    assert unlike.files == {}


def test_the_output_is_checked_in_parts_that_cover_every_file_once(
    config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build that may have nothing to do checks its output part by part, from both ends
    at once (:class:`feeds.workers.ForkedCheck`): a file changed is found in its part, and
    in no other."""
    build(config)
    assert config.cache is not None
    monkeypatch.setattr(rendercache, "INTACT_PART_FILES", 7)
    last = rendercache.load_last_build(rendercache.manifest_path(config.cache, config.output))
    names = [str(row[0]) for row in last.rows]
    parts = last.intact_parts()
    assert parts == 1 + -(-len(names) // 7) > 3
    assert all(last.intact_part(config.output, part) for part in range(parts))
    for index in (0, 6, len(names) - 1):  # the first and last files of part 1, and the very last
        victim = config.output / names[index]
        victim.write_bytes(victim.read_bytes())  # the same bytes, but written again
    failing = [part for part in range(parts) if not last.intact_part(config.output, part)]
    assert failing == [1, parts - 1]
    (config.output / "stray.txt").write_text("not ours")
    failing = [part for part in range(parts) if not last.intact_part(config.output, part)]
    assert failing == [0, 1, parts - 1]  # the folder holding it too
    assert not last.intact(config.output)


@pytest.mark.parametrize(
    "damage",
    [
        b"",
        b"garbage",
        rendercache._FORMAT + b"\0" * 40,
        "truncated",
        "foreign pickle",
        "other shape",
    ],
)
def test_a_damaged_record_of_the_last_build_is_ignored(
    config: Config, tmp_path: Path, damage: bytes | str
) -> None:
    build(config)
    assert config.cache is not None
    record = rendercache.manifest_path(config.cache, config.output)
    if damage == "truncated":
        record.write_bytes(record.read_bytes()[:-100])
    elif damage == "foreign pickle":  # intact, of this kind, but naming a class to build
        rows = [("all.atom.xml", b"k", Path("/"))]
        cache.write_record(record, rendercache._FORMAT, (b"in", 1, 1, rows, [], b"", None))
    elif damage == "other shape":  # intact, of this kind, plain values, but not our rows
        cache.write_record(record, rendercache._FORMAT, (b"in", 1, 1, "rows", [], b"", None))
    else:
        assert isinstance(damage, bytes)
        record.write_bytes(damage)
    assert rendercache.load_last_build(record) == rendercache.LastBuild()
    before = inodes(config.output)
    build(config)
    after = inodes(config.output)
    assert all(after[n] != before.get(n) for n in after), "nothing is reused"
    assert_same_as_cold(config, tmp_path)


def new_version(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a new version of feeds looks like to the caches."""
    monkeypatch.setattr(cache, "code_fingerprint", lambda: "another version")
    monkeypatch.setattr("feeds.keys.code_fingerprint", lambda: "another version")


def test_new_code_renders_everything_again_and_links_what_comes_out_the_same(
    config: Config, tmp_path: Path, rendered: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """New code may render anything otherwise, so it takes nothing by its key; what it
    renders as the output in place holds it is linked from there, and needs no room.  (The
    first build after a new version of feeds needed room for a second output of 36 GB at
    100,000 records, and stopped with a full disk, again and again.)"""
    first = build(config)
    before = changed_at(config.output)
    new_version(monkeypatch)
    rendered.clear()
    build(config)
    assert len(set(rendered)) == first.articles
    # The very files, not even linked again: the output before last shared them already.
    assert changed_at(config.output) == before
    assert_same_as_cold(config, tmp_path)


def test_what_a_worker_renders_the_same_is_linked_from_the_output_in_place(
    config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker process is told what the output in place holds of the documents it is sent,
    and links those it renders the same; only what changed takes room.  The record of the
    new output vouches for every file, linked or written: the next build has nothing to do."""
    build(config)
    before = inodes(config.output)
    new_version(monkeypatch)
    monkeypatch.setattr(parallel, "PARALLEL_MIN_ENTRIES", 0)
    monkeypatch.setattr(parallel, "BATCH_ENTRIES", 200)
    monkeypatch.setattr(parallel, "MIN_BATCH_ENTRIES", 50)
    monkeypatch.setattr(parallel, "cores", lambda: 2)
    edit_record(config, "00042.md", title="A title nobody used before")
    build(config)
    after = inodes(config.output)
    remade = {name for name in after if after[name] != before.get(name)}
    assert remade, "the edited record's documents hold other bytes"
    assert len(remade) < len(after) / 4
    assert_same_as_cold(config, tmp_path)
    monkeypatch.setattr(parallel, "write_documents", no_space)
    assert build(config).unchanged  # the record of the output vouches for every file


def test_without_a_cache_nothing_is_recorded(config: Config, tmp_path: Path) -> None:
    config = replace(config, cache=None)
    build(config)
    before = inodes(config.output)
    build(config)
    assert all(inode != before[n] for n, inode in inodes(config.output).items())
    assert not (tmp_path / "cache").exists()


def test_a_cache_folder_that_cannot_be_made_does_not_fail_the_build(
    config: Config, tmp_path: Path
) -> None:
    assert config.cache is not None
    config.cache.write_text("a file where the cache folder should be")
    with pytest.warns(cache.CacheWarning, match="not usable"):
        build(config)
    with pytest.warns(cache.CacheWarning, match="not usable"):
        assert not build(config).unchanged
    assert_same_as_cold(config, tmp_path)


@pytest.mark.parametrize("year", [2020, 9000])
def test_a_document_key_tells_every_update_time_apart(tmp_path: Path, year: int) -> None:
    """Update times differ by as little as a microsecond within a document
    (:func:`feeds.render.distinct_updates`); each moment gives its own key."""
    write_corpus(tmp_path / "records", 20)
    paths, _ = discover([tmp_path / "records"])
    graph = check_source(paths, load_schema(), datetime.now(UTC)).graph
    spec = plan_feeds(graph, 50).feeds[0]
    first = spec.entries[0]
    moment = datetime(year, 6, 1, 12, 0, tzinfo=UTC)
    made = set()
    for step in range(3):
        article = first._replace(updated=moment + timedelta(microseconds=step))
        keys = DocumentKeys({**graph, first.key: article}, Config())
        made.add(keys.document(spec, None, [article]))
    assert len(made) == 3
    keys = DocumentKeys({**graph, first.key: article}, Config())
    assert keys.document(spec, None, [article]) in made  # and the same again


def test_two_entries_of_one_time_key_their_order(tmp_path: Path) -> None:
    """Of two entries with the same update time, the later one in a document is written a
    microsecond later: the order of the entries is part of the key."""
    write_corpus(tmp_path / "records", 20)
    paths, _ = discover([tmp_path / "records"])
    graph = check_source(paths, load_schema(), datetime.now(UTC)).graph
    spec = plan_feeds(graph, 50).feeds[0]
    first, second = (a._replace(updated=spec.entries[0].updated) for a in spec.entries[:2])
    keys = DocumentKeys({**graph, first.key: first, second.key: second}, Config())
    assert keys.document(spec, None, [first, second]) != keys.document(spec, None, [second, first])


def test_an_archive_page_key_does_not_count_the_pages(tmp_path: Path) -> None:
    """An archive page keeps its entries when newer ones come (feeds.archive): newer pages
    do not change its key, while the subscription document, which links the newest page,
    does change."""
    write_corpus(tmp_path / "records", 20)
    paths, _ = discover([tmp_path / "records"])
    graph = check_source(paths, load_schema(), datetime.now(UTC)).graph
    spec = plan_feeds(graph, 5).feeds[0]
    assert spec.archives
    grown = replace(spec, archives=(*spec.archives, spec.archives[-1]))
    keys = DocumentKeys(graph, Config())
    page = spec.archives[0]
    assert keys.document(spec, 1, page) == keys.document(grown, 1, page)
    assert keys.document(spec, None, spec.entries) != keys.document(grown, None, spec.entries)


def test_a_record_past_the_related_articles_an_entry_lists_leaves_that_entry_alone(
    tmp_path: Path, write_record: RecordFactory, rendered: list[str]
) -> None:
    """The entry of an article that many records cite lists only the first of them
    (:data:`feeds.articles.RELATED_LISTED`): the others can change, and more can cite
    it, without rendering that entry, and its documents, again."""
    cite_one_article(write_record, RELATED_LISTED + 3)
    config = Config(source=tmp_path / "records", output=tmp_path / "out", cache=tmp_path / "cache")
    build(config)

    def down_to_those_listed() -> None:  # then it no longer says there are more
        for n in range(RELATED_LISTED, RELATED_LISTED + 4):
            (config.source / f"r{n}.md").unlink()

    for change, renders_it in (
        (lambda: edit_record(config, "r52.md", title="A title nobody used before"), False),
        (lambda: cite_one_article(write_record, RELATED_LISTED + 4), False),
        (lambda: edit_record(config, "r03.md", title="Another title"), True),
        (down_to_those_listed, True),
    ):
        rendered.clear()
        change()
        build(config)
        assert rendered
        assert (HOT in rendered) == renders_it
        assert_same_as_cold(config, tmp_path)


def test_long_lived_data_is_made_without_the_collector_and_then_frozen() -> None:
    assert gc.isenabled()
    frozen = gc.get_freeze_count()
    with long_lived():
        assert not gc.isenabled()
        made = [[index] for index in range(1000)]
    assert gc.isenabled()
    assert gc.get_freeze_count() >= frozen + len(made)
    gc.disable()
    try:
        with long_lived():
            pass
        assert not gc.isenabled()  # the state it found is the state it leaves
    finally:
        gc.enable()


def test_a_build_and_a_validation_leave_the_collector_on(config: Config) -> None:
    build(config)
    assert gc.isenabled()
    validate(sorted(config.source.iterdir()), cache=config.cache)
    assert gc.isenabled()


def test_what_the_last_build_left_is_read_without_the_collector(
    config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The record of the last build's output, its files and those of the output before
    last, and the snapshot with the record files stated against it, stay to the end of the
    build that reads them, as its graph does."""
    build(config)
    edit_record(config, "00042.md", title="A title nobody used before")
    spy = _CollectorSpy(monkeypatch)
    spy(rendercache, "load_last_build")
    spy(rendercache, "_manifest")  # the files of either output
    spy(uptodate, "load_snapshot")
    spy(uptodate.Snapshot, "look")
    build(config)
    names = ("load_last_build", "_manifest", "load_snapshot", "look")
    assert spy.seen == {(name, False) for name in names}
    assert gc.isenabled()


def test_what_a_build_records_for_the_next_is_made_without_the_collector(
    config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The record of the output and the snapshot of the sources are made after rendering,
    which needs the collector (feedgen leaves cycles behind): it is off again for them,
    and on once the build is done."""
    build(config)
    edit_record(config, "00042.md", title="A title nobody used before")
    spy = _CollectorSpy(monkeypatch)
    spy(entries, "render_entries")
    spy(api, "_content_digests")
    spy(rendercache, "store_last_build")
    spy(uptodate, "sources_of")
    spy(uptodate, "store_snapshot")
    build(config)
    names = ("_content_digests", "store_last_build", "sources_of", "store_snapshot")
    assert spy.seen == {("render_entries", True), *((name, False) for name in names)}
    assert gc.isenabled()
    # A build with nothing to do leaves a snapshot too: the same one, with a touched file
    # found the same; a new one, without the last.
    touched = config.source / "00007.md"
    os.utime(touched, ns=(touched.stat().st_atime_ns, touched.stat().st_mtime_ns + 10**9))
    assert config.cache is not None
    snapshot = uptodate.snapshot_path(config.cache, config.output)
    for expected in ({"store_snapshot"}, {"sources_of", "store_snapshot"}):
        spy.seen.clear()
        assert build(config).articles
        assert spy.seen == {(name, False) for name in expected}
        assert gc.isenabled()
        snapshot.unlink()


class _CollectorSpy:
    """Notes, in :attr:`seen`, the name of each function it spies on as it is called,
    with whether the cyclic garbage collector was on."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self._monkeypatch = monkeypatch
        self.seen: set[tuple[str, bool]] = set()

    def __call__(self, owner: Any, name: str) -> None:
        real = getattr(owner, name)

        def called(*args: Any, **kwargs: Any) -> Any:
            self.seen.add((name, gc.isenabled()))
            return real(*args, **kwargs)

        self._monkeypatch.setattr(owner, name, called)


# Entries taken again from the last build's files for the documents rendered anew
# (feeds.earlier.EarlierEntries): only those that would come out the same, and only from
# the output of the very build whose article graph this one started from.


def test_a_changed_title_renders_only_the_entries_that_show_it(
    config: Config, tmp_path: Path, rendered: list[str]
) -> None:
    first = build(config)
    rendered.clear()
    edit_record(config, "00042.md", title="A title nobody used before")
    build(config)
    # The record's own entry, and those of its related articles, which list its title.
    assert 0 < len(set(rendered)) <= 40
    assert len(set(rendered)) < first.articles / 10
    assert_same_as_cold(config, tmp_path)


def test_a_build_from_another_builds_graph_takes_no_entries(
    config: Config, tmp_path: Path, rendered: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build that recorded its graph but never published (it failed while writing) leaves
    an output made from another graph: the next build leaves that build's changes out of
    the graph it starts from (see the test below), and renders the changed record's entry
    again, whose digest in that graph differs from its digest now."""
    build(config)
    edit_record(config, "00042.md", title="A title nobody used before")
    fail_while_writing(config, monkeypatch)
    rendered.clear()
    build(config)
    assert rendered, "nothing was taken from an output of another graph"
    assert_same_as_cold(config, tmp_path)


def no_space(*args: object, **kwargs: object) -> NoReturn:
    """A stand-in for a step of a build that runs out of disk."""
    raise OSError(28, "No space left on device")


def fail_while_writing(config: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    """Build ``config``, failing once the graph is recorded, while writing the output."""
    with monkeypatch.context() as patch:
        patch.setattr(parallel, "write_documents", no_space)
        with pytest.raises(Exception, match="No space left"):
            build(config)


def test_a_build_after_one_that_failed_takes_entries_from_the_output_in_place(
    config: Config, tmp_path: Path, rendered: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The graph recorded by builds that never published is left out: the next build starts
    from the graph of the output in place, and takes from it every entry it would write
    the same, as if those builds had not run.  (Taking none made the first build after a
    build stopped half-way render every entry of its documents again.)  Here the builds
    fail before they stage anything; the test below fails one while it writes."""
    first = build(config)
    for name, title in [("00042.md", "A title nobody used before"), ("00007.md", "Another")]:
        edit_record(config, name, title=title)
        with monkeypatch.context() as patch:
            patch.setattr(output, "staged", no_space)
            with pytest.raises(OSError, match="No space left"):
                build(config)
    rendered.clear()
    build(config)
    # The two records' own entries, and those of their related articles, which list them.
    assert 0 < len(set(rendered)) <= 80
    assert len(set(rendered)) < first.articles / 5
    assert_same_as_cold(config, tmp_path)
    rendered.clear()
    edit_record(config, "00042.md", title="A third title")
    build(config)  # its change, appended where the left-out ones were, serves the next too
    assert 0 < len(set(rendered)) <= 40
    assert_same_as_cold(config, tmp_path)


def test_a_build_after_one_that_failed_while_writing_renders_only_what_changed(
    config: Config, tmp_path: Path, rendered: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The failed build's staging folder, the output before last, is left for the next
    build: removing it would have moved the change time of the files of the output in
    place that it linked to, and the next build would have trusted none of them."""
    build(config)
    before = {name: path.stat().st_ctime_ns for name, path in files(config.output).items()}
    edit_record(config, "00042.md", title="A title nobody used before")
    fail_while_writing(config, monkeypatch)
    after = {name: path.stat().st_ctime_ns for name, path in files(config.output).items()}
    assert after == before
    rendered.clear()
    build(config)
    assert 0 < len(set(rendered)) <= 40
    assert_same_as_cold(config, tmp_path)


def test_the_record_of_the_output_holds_the_digest_of_every_file(config: Config) -> None:
    """Of the files written, linked from the output in place and kept from the output
    before last alike."""
    assert config.cache is not None
    record = rendercache.manifest_path(config.cache, config.output)
    build(config)
    for title in ("A title nobody used before", "Another title"):
        edit_record(config, "00042.md", title=title)
        build(config)
        last = rendercache.load_last_build(record)
        recorded = {path: digest for path, (_, _, digest) in last.files.items()}
        written = files(config.output)
        assert recorded == {n: cache.content_digest(p.read_bytes()) for n, p in written.items()}


def test_the_record_of_the_output_holds_its_rows_pickled_without_a_memo(config: Config) -> None:
    """Pickling the rows of 232,459 files took 233-369 ms with the pickler's memo, against
    61-62 ms without; none of what they hold is read back shared."""
    assert config.cache is not None
    record = rendercache.manifest_path(config.cache, config.output)
    build(config)
    edit_record(config, "00042.md", title="A title nobody used before")
    build(config)
    stored = cache.read_record(record, rendercache._FORMAT)
    rows, kept = stored[3], stored[6][1]
    last = rendercache.load_last_build(record)
    assert cache.unpickled(rows) == list(last.rows)
    assert kept and last.kept.differing == kept  # the documents the edit changed
    for pickled in (rows, kept):
        opcodes = {opcode.name for opcode, _, _ in pickletools.genops(pickled)}
        assert "MEMOIZE" not in opcodes
        assert "BINUNICODE" in opcodes or "SHORT_BINUNICODE" in opcodes  # paths


def test_a_build_after_one_that_failed_once_it_had_written_renders_only_what_changed(
    config: Config, tmp_path: Path, rendered: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build that failed once it had written its documents (out of disk, say) replaced
    the links its staging folder held to files of the output in place, and so moved the
    change time of those.  Their content vouches for them: the next build renders only
    what changed, not every document again (and so needs no room for a second output)."""
    build(config)
    before = {name: path.stat() for name, path in files(config.output).items()}
    with monkeypatch.context() as patch:
        patch.setattr(output.Staging, "finish", no_space)
        with pytest.raises(output.OutputError, match="No space left"):
            build(replace(config, title="Another site"))  # every document written anew
    moved = [n for n, path in files(config.output).items() if path.stat() != before[n]]
    assert len(moved) > len(before) * 0.9
    rendered.clear()
    edit_record(config, "00042.md", title="A title nobody used before")
    build(config)
    assert 0 < len(set(rendered)) <= 40
    kept = [n for n, inode in inodes(config.output).items() if inode == before[n].st_ino]
    assert len(kept) > len(before) * 0.8
    assert_same_as_cold(config, tmp_path)


@pytest.mark.parametrize("before_last", [False, True])
def test_an_output_restored_from_a_ci_cache_is_taken_by_its_content(
    config: Config, tmp_path: Path, rendered: list[str], before_last: bool
) -> None:
    """CI restores the output and the cache folder from its own cache (by tar, as
    ``actions/cache`` does), and the output before last with them or not: their files are
    new ones, with the bytes and modification times of those written.  A build takes them
    by their content, renders nothing, and records them as they now are: the build after
    it has nothing to do."""
    build(config)
    edit_record(config, "00042.md", title="A title nobody used before")
    build(config)
    for folder, restore in [(config.output, True), (previous_of(config), before_last)]:
        copy = tmp_path / "restored"
        shutil.copytree(folder, copy)  # the same bytes and modification times
        shutil.rmtree(folder)
        if restore:
            copy.rename(folder)
        else:
            shutil.rmtree(copy)
    rendered.clear()
    restored = {*inodes(config.output).values(), *inodes(previous_of(config)).values()}
    assert not build(config).unchanged
    assert rendered == []
    made = [name for name, inode in inodes(config.output).items() if inode not in restored]
    assert set(made) <= {FAVICON, STYLESHEET}  # written every build
    assert build(config).unchanged
    assert_same_as_cold(config, tmp_path)


def test_an_edited_output_file_lends_no_entries(config: Config, tmp_path: Path) -> None:
    build(config)
    edit_record(config, "00042.md", title="A title nobody used before")
    for name, path in files(config.output).items():  # every entry, of every document
        if name.endswith((".atom.xml", ".rss.xml", ".json")):
            path.write_bytes(path.read_bytes().replace(b"http", b"HTTP"))
    build(config)
    assert_same_as_cold(config, tmp_path)


def test_entries_moved_to_other_archive_pages_are_taken_from_where_they_were(
    config: Config, tmp_path: Path, rendered: list[str]
) -> None:
    """Archive pages are numbered from the oldest entry: records older than every page put
    pages before the others, and each entry of their feeds is on a page of another number
    (and the first pages are cut anew).  Entries are taken from the page of the last
    build that held them, so few besides the new ones are rendered: those whose time
    another entry of their new page shares (written a microsecond apart now, see
    ``distinct_updates``), and those of a page whose file this build replaced in the output
    before last, where it was one file with the last output's (its change time moved).
    Taken from the same page only, those of 306 of the 315 articles were rendered."""
    first = build(config)
    rendered.clear()
    added = 12  # more than two pages of five
    rng = random.Random(5005)
    for n in range(added):
        data = record(rng, 10_000 + n)
        data.update(
            publishedDateTime=f"1999-01-{n + 1:02d}T08:00:00Z",
            published=True,
            topics=["AI"],
            provider={"name": "Example News", "domain": "news.example.com"},
        )
        data.pop("related", None)
        front = yaml.safe_dump(data, sort_keys=True, allow_unicode=True, width=1000)
        (config.source / f"old-{n:02d}.md").write_text(f"---\n{front}---\n", "utf-8")
    build(config)
    assert added <= len(set(rendered)) <= added + first.articles // 8
    assert_same_as_cold(config, tmp_path)


def test_the_pages_of_a_feed_are_counted_by_asking_about_a_few() -> None:
    for pages in [0, 1, 2, 3, 7, 8, 9, 1000]:
        asked: list[int] = []

        def exists(number: int, pages: int = pages, asked: list[int] = asked) -> bool:
            asked.append(number)
            return number <= pages

        assert earlier._count(exists) == pages
        assert len(asked) <= 2 * pages.bit_length() + 1


def test_documents_read_again_are_kept_while_their_files_weigh_what_is_allowed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The documents read last are kept while their files weigh ``KEPT_BYTES`` together,
    one used again the longest; the last one read is kept whatever it weighs, and one whose
    files could not be taken weighs nothing (and is not read again either)."""
    monkeypatch.setattr(earlier, "KEPT_BYTES", 100)
    kept = earlier._Kept()
    reads: list[str] = []
    when = datetime(2021, 1, 1, tzinfo=UTC)

    def get(key: str, size: int | None) -> None:
        def read(
            places: earlier._Places | None,
        ) -> tuple[earlier._Written | None, earlier._Places | None]:
            reads.append(key)
            return (None if size is None else earlier._Written({}, {}, when, when, size)), None

        kept.get(key, read)

    for key in "abac":  # a used again: b is dropped for c
        get(key, 40)
    for key in "acba":  # b read again drops a, which is read again
        get(key, 40)
    get("d", 500)  # the last one read is kept alone
    get("d", 500)
    get("e", None)
    get("e", None)
    assert reads == ["a", "b", "c", "b", "a", "d", "e"]


def test_where_the_entries_of_documents_begin_is_kept_longer_than_the_documents(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A document read again is told where its entries were found the first time, while
    those places weigh ``PLACES_BYTES`` together (the last ones found, whatever they weigh);
    places found again replace those kept."""
    monkeypatch.setattr(earlier, "KEPT_BYTES", 0)  # only the last document read is kept
    monkeypatch.setattr(earlier, "PLACES_BYTES", 2 * (earlier._PLACES_EXTRA + 3 * 8))
    kept = earlier._Kept()
    told: list[tuple[str, list[int] | None]] = []
    when = datetime(2021, 1, 1, tzinfo=UTC)

    def get(key: str, found: list[int] | None) -> None:
        def read(
            known: earlier._Places | None,
        ) -> tuple[earlier._Written | None, earlier._Places | None]:
            told.append((key, None if known is None else list(known[0])))
            if found is None:  # not read as recorded: nothing found
                return None, None
            places = (array("q", found), array("q", found), array("q", found))
            return earlier._Written({}, {}, when, when, 1), places

        kept.get(key, read)

    get("a", [1])
    get("b", [2])
    get("a", [10])  # told 1; 10 is kept instead
    get("c", [3])  # b, used the longest ago, is forgotten
    get("b", [4])  # so is a
    get("a", [20])
    get("d", None)  # not read as recorded: nothing is kept of it
    get("b", [5])
    get("d", [6])
    get("b", [7])
    get("e", list(range(100)))  # kept alone
    get("f", None)
    get("e", [])
    assert told == [
        ("a", None),
        ("b", None),
        ("a", [1]),
        ("c", None),
        ("b", None),
        ("a", None),
        ("d", None),
        ("b", [4]),
        ("d", None),
        ("b", [5]),
        ("e", None),
        ("f", None),
        ("e", list(range(100))),
    ]


def test_documents_read_again_are_cut_where_their_entries_were_found(
    config: Config, tmp_path: Path, rendered: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no document kept, each page looked in again is read again and cut where its
    entries were found the first time, as recorded: what it lends is what it lent then."""
    build(config)
    for n in range(12):  # older than every page: every entry of their feeds moves
        edit_record(config, f"{n:05d}.md", publishedDateTime=f"1999-02-{n + 1:02d}T08:00:00Z")
    monkeypatch.setattr(earlier, "KEPT_BYTES", 0)
    told: list[bool] = []
    read = earlier._read_written

    def reading(
        previous: rendercache.Manifest,
        output: Path,
        names: Sequence[str],
        places: earlier._Places | None,
    ) -> tuple[earlier._Written | None, earlier._Places | None]:
        told.append(places is not None)
        return read(previous, output, names, places)

    monkeypatch.setattr(earlier, "_read_written", reading)
    rendered.clear()
    build(config)
    assert told.count(True) >= 20
    assert len(set(rendered)) <= RECORDS // 3
    assert_same_as_cold(config, tmp_path)


def test_a_json_feed_file_unread_when_its_places_were_found_is_searched_when_read_again(
    config: Config,
) -> None:
    """Where a document's items begin is not known when its JSON Feed file could not be
    read as recorded the first time: read again, as recorded, it is searched."""
    build(config)
    assert config.cache is not None
    last = rendercache.load_last_build(rendercache.manifest_path(config.cache, config.output))
    names = ["all.atom.xml", "all.rss.xml", "all.json"]
    document = config.output / names[2]
    content = document.read_bytes()
    document.write_bytes(content + b" ")
    first, places = earlier._read_written(last.files, config.output, names, None)
    assert first is not None and not first.items
    assert places is not None and places[2] is None
    document.write_bytes(content)  # as recorded again: vouched for by its digest
    again, _ = earlier._read_written(last.files, config.output, names, places)
    assert again is not None
    assert len(again.items) == len(again.xml) == len(written_items(content))
    assert sorted(again.items.values()) == sorted(written_items(content))


def test_marks_are_found_by_what_surrounds_them_from_the_start_of_the_text() -> None:
    text = b"\nab\nab\nac"
    assert mark_positions(text, b"\nab", 0, len(text), lead=1) == [1, 4]
    assert mark_positions(text, b"\nab", 2, len(text), lead=1) == [4]
    assert mark_positions(text, b"\na", 0, len(text), lead=1) == mark_positions(text, b"a", 0, 9)


def test_written_entries_and_items_are_those_spliced_in(config: Config) -> None:
    build(config)
    documents = [p for p in files(config.output) if p.endswith(".json")]
    assert documents
    for name in documents:
        document = (config.output / name).read_bytes()
        items = written_items(document)
        assert [json.loads(item) for item in items] == json.loads(document)["items"]
        assert b",\n".join(items) in document
        assert written_items(document, item_marks(document)) == items
        for fmt in ("atom", "rss"):
            xml = (config.output / name.replace(".json", f".{fmt}.xml")).read_bytes()
            cut = written_entries(xml, fmt)
            assert len(cut) == len(items)
            assert b"".join(cut) in xml
            assert written_entries(xml, fmt, entry_marks(xml, fmt)) == cut


@given(
    text=st.lists(st.sampled_from([b"ab", b"a", b"b", b"\n", b"<e>"]), max_size=30).map(b"".join),
    mark=st.sampled_from([b"ab", b"a", b"aa", b"<e>", b"\n<e>"]),
    bounds=st.tuples(st.integers(-2, 70), st.integers(-2, 70)),
    skip=st.integers(0, 2),
)
@settings(max_examples=2000, deadline=None)
def test_pieces_are_what_splitting_the_region_and_putting_marks_back_gives(
    text: bytes, mark: bytes, bounds: tuple[int, int], skip: int
) -> None:
    start, end = (max(0, min(bound, len(text))) for bound in bounds)
    skip = min(skip, len(mark))  # a part of the mark, at most
    first, *others = text[start:end].split(mark)
    assert pieces(text, mark, start, end, skip=skip) == [
        first,
        *(mark[skip:] + other for other in others),
    ]


def test_a_document_without_entries_has_none_to_lend() -> None:
    assert written_items(b'{\n  "items": []\n}\n') == []
    assert written_entries(b'<?xml version="1.0"?>\n<feed>\n</feed>\n', "atom") == []


# The output a build swaps out is kept beside the new one (feeds.output.previous_path), and
# the next build starts from it: only the files that differ are written or removed.


def previous_of(config: Config) -> Path:
    return config.output.parent / f".previous-{config.output.name}"


def test_a_build_starts_from_the_output_before_last(config: Config, tmp_path: Path) -> None:
    build(config)
    first = {name: path.read_bytes() for name, path in files(config.output).items()}
    edit_record(config, "00042.md", title="A title nobody used before")
    build(config)
    assert {n: p.read_bytes() for n, p in files(previous_of(config)).items()} == first
    for title in ("Another title", "Yet another title", "A title nobody used before"):
        before = inodes(config.output)
        edit_record(config, "00042.md", title=title)
        build(config)
        assert_same_as_cold(config, tmp_path)
        after, previous = inodes(config.output), inodes(previous_of(config))
        assert previous == before, "the output swapped out is kept as it was"
        # One copy on disk of what both hold the same: most files are the same file.
        shared = [name for name in after if previous.get(name) == after[name]]
        assert len(shared) > len(after) * 3 / 4


def test_the_record_of_the_output_kept_holds_what_differs_with_the_files_linked_from_it(
    config: Config, tmp_path: Path
) -> None:
    """The record of a build holds the output it kept as the record before it held that
    output, with the state of each file it linked from there taken again; and holds it as
    it differs from the new output, which shares most files.  (The state of a file it
    replaced in its own folder is left as it was: that file no longer matches, and is never
    taken for a document.)"""
    assert config.cache is not None
    record = rendercache.manifest_path(config.cache, config.output)
    build(config)
    linked = 0
    for run, name in enumerate(("00042.md", "00007.md", "00042.md", "00100.md")):
        last = rendercache.load_last_build(record)
        edit_record(config, name, title=f"A title nobody used before, {run}")
        build(config)
        now = rendercache.load_last_build(record)
        kept = previous_of(config)
        assert sorted(now.previous) == sorted(files(kept)) == sorted(last.files)
        assert {p: (key, digest) for p, (key, _, digest) in now.previous.items()} == {
            p: (key, digest) for p, (key, _, digest) in last.files.items()
        }
        retaken = [p for p, (_, state, _) in now.previous.items() if state != last.files[p][1]]
        for path in retaken:
            assert cache.has_state(str(kept / path), now.previous[path][1])
        linked += len(retaken)
        gone, differing = cache.read_record(record, rendercache._FORMAT)[6]
        assert 0 < len(gone) + len(cache.unpickled(differing)) < len(now.files) / 4
    assert linked > 0, "files were linked from the output in place"
    assert_same_as_cold(config, tmp_path)


def _stored(
    record: Path, output: Path, written: Mapping[str, bytes], **given: Any
) -> rendercache.LastBuild:
    """The record of a build that wrote ``written`` into ``output``, as the next build
    reads it back, stored with the other arguments ``given``."""
    rendercache.store_last_build(
        record, output, written, inputs=b"in", articles=1, feeds=1, **given
    )
    return rendercache.load_last_build(record)


def test_the_files_kept_are_recorded_as_the_folder_recorded_them(tmp_path: Path) -> None:
    """A file the build kept as recorded is recorded again with the state and digest of
    that record, not stated or hashed again; a file it kept with other stat data (not
    among ``kept``), or wrote, with its state now and the digest it was given, and so is
    one among ``kept`` that the record lacks.  One recorded and kept that the build did
    not write is not recorded at all, nor is one recorded that it neither kept nor wrote."""
    output, record = tmp_path / "out", tmp_path / "documents.pickle"
    (output / "sub" / "deep").mkdir(parents=True)
    for name in ("kept.xml", "restated.xml", "written.xml", "sub/deep/kept.xml", "unwritten.xml"):
        (output / name).write_text(name)
    recorded = {
        "kept.xml": (b"k1", cache.packed_state(FileStat(1, 2, 3, 4)), b"d1"),
        "restated.xml": (b"k2", cache.packed_state(FileStat(5, 6, 7, 8)), b"d2"),
        "sub/deep/kept.xml": (b"k4", cache.packed_state(FileStat(9, 10, 11, 12)), b"d4"),
        "unwritten.xml": (b"k5", cache.packed_state(FileStat(13, 14, 15, 16)), b"d5"),
        "removed.xml": (b"k6", cache.packed_state(FileStat(17, 18, 19, 20)), b"d6"),
    }
    written = {
        "kept.xml": b"k1",
        "restated.xml": b"k2",
        "written.xml": b"k3",
        "sub/deep/kept.xml": b"k4",
    }
    last = _stored(
        record,
        output,
        written,
        kept={"kept.xml", "written.xml", "sub/deep/kept.xml", "unwritten.xml"},
        recorded=recorded,
        digests={"restated.xml": b"d2", "written.xml": b"d3"},
    )
    now = {name: packed(output / name) for name in written}
    assert last.files == {
        "kept.xml": recorded["kept.xml"],
        "restated.xml": (b"k2", now["restated.xml"], b"d2"),
        "written.xml": (b"k3", now["written.xml"], b"d3"),
        "sub/deep/kept.xml": recorded["sub/deep/kept.xml"],
    }
    assert sorted(last.folders) == ["", "sub", "sub/deep"]


_PATHS = ("a.xml", "b.json", "t/a.xml", "t/x/b.xml", "t/x/c.json", "p/a.xml", "p/q/r/d.xml")


@given(
    plan=st.lists(
        st.tuples(
            st.sampled_from(["written", "kept", "kept, not written", "gone"]),
            st.booleans(),  # recorded
            st.booleans(),  # on disk
        ),
        min_size=len(_PATHS),
        max_size=len(_PATHS),
    ),
    mirrored=st.booleans(),
)
@settings(max_examples=300, deadline=None)
def test_the_record_holds_each_file_written_as_it_was_kept_or_as_it_now_is(
    plan: list[tuple[str, bool, bool]], mirrored: bool
) -> None:
    """Whatever mix of files a build wrote, kept as recorded, kept without writing, or left,
    the record holds exactly: each file written that is there, with its document key; the
    state and digest recorded for those it kept as recorded (not when it mirrored its
    output), its state now and the digest it was given for the others; and the folders of
    those files that are there."""
    with tempfile.TemporaryDirectory() as work:
        output, record = Path(work) / "out", Path(work) / "documents.pickle"
        output.mkdir()
        written: dict[str, bytes] = {}
        kept: set[str] = set()
        recorded: dict[str, tuple[bytes, cache.PackedStat, bytes]] = {}
        digests: dict[str, bytes] = {}
        for number, (path, (fate, is_recorded, on_disk)) in enumerate(
            zip(_PATHS, plan, strict=True)
        ):
            key = f"k{number}".encode()
            if fate not in {"kept, not written", "gone"}:
                written[path] = key
            if fate.startswith("kept"):
                kept.add(path)
            if is_recorded:
                state = cache.packed_state(FileStat(number, number, number, number))
                recorded[path] = (key, state, f"d{number}".encode())
            if fate == "written":
                digests[path] = f"new{number}".encode()
            if on_disk:
                (output / path).parent.mkdir(parents=True, exist_ok=True)
                (output / path).write_text(path)
        last = _stored(
            record,
            output,
            written,
            kept=kept,
            recorded=recorded,
            digests=digests,
            mirrored=mirrored,
        )
        expected = {}
        for path, key in written.items():
            if not mirrored and path in kept and path in recorded:
                expected[path] = recorded[path]
            elif (output / path).is_file():
                expected[path] = (key, packed(output / path), digests.get(path, b""))
        assert dict(last.files) == expected
        folders = {""}
        for path in expected:
            folder = path
            while "/" in folder:
                folder = folder.rpartition("/")[0]
                folders.add(folder)
        assert sorted(last.folders) == sorted(f for f in folders if (output / f).is_dir())


def test_the_output_kept_is_recorded_as_it_differs_from_the_new_one(tmp_path: Path) -> None:
    output, record = tmp_path / "out", tmp_path / "documents.pickle"
    output.mkdir()
    for name in ("a.xml", "b.xml", "c.xml"):
        (output / name).write_text(name)
    written = {name: b"k" + name.encode() for name in ("a.xml", "b.xml", "c.xml")}

    def stored(**kept: Any) -> rendercache.LastBuild:
        return _stored(record, output, written, **kept)

    kept = {
        "a.xml": (b"ka.xml", packed(output / "a.xml"), b""),  # the same file
        "b.xml": (b"kb.xml", cache.packed_state(FileStat(1, 2, 3, 4)), b""),  # another file there
        "d.xml": (b"kd.xml", cache.packed_state(FileStat(5, 6, 7, 8)), b"dd"),  # the new lacks it
    }  # and no c.xml
    last = stored(previous=kept)
    assert dict(last.previous) == kept
    assert sorted(last.files) == ["a.xml", "b.xml", "c.xml"]
    gone, differing = cache.read_record(record, rendercache._FORMAT)[6]
    assert gone == ["c.xml"]
    assert sorted(row[0] for row in cache.unpickled(differing)) == ["b.xml", "d.xml"]
    last = stored(mirrored=True)
    assert cache.read_record(record, rendercache._FORMAT)[6] == ([], b"")
    assert last.previous == last.files and len(last.files) == 3
    assert stored().previous == {}  # nothing kept


def test_a_record_of_the_output_kept_that_is_not_ours_is_trusted_for_nothing(
    config: Config, tmp_path: Path
) -> None:
    assert config.cache is not None
    record = rendercache.manifest_path(config.cache, config.output)
    build(config)
    edit_record(config, "00042.md", title="A title nobody used before")
    build(config)
    values = list(cache.read_record(record, rendercache._FORMAT))
    values[6] = ([], b"not a pickle")
    cache.write_record(record, rendercache._FORMAT, tuple(values))
    last = rendercache.load_last_build(record)
    assert last.files and last.previous == {}
    edit_record(config, "00042.md", title="Another title")
    build(config)
    assert_same_as_cold(config, tmp_path)


def test_a_record_of_folders_not_as_recorded_here_is_trusted_for_nothing(
    config: Config, tmp_path: Path
) -> None:
    """Stat data of the output's folders in another form than this code records (as the
    four numbers earlier records held) would never match, and a folder left unchecked would
    pass for unchanged: the record is not taken at all."""
    assert config.cache is not None
    record = rendercache.manifest_path(config.cache, config.output)
    build(config)
    values = list(cache.read_record(record, rendercache._FORMAT))
    folders = values[4]
    assert folders and all(type(state) is bytes for _, state in folders)
    values[4] = [(folder, tuple(FileStat.of(config.output / folder))) for folder, _ in folders]
    cache.write_record(record, rendercache._FORMAT, tuple(values))
    assert rendercache.load_last_build(record) == rendercache.LastBuild()
    edit_record(config, "00042.md", title="A title nobody used before")
    build(config)
    assert_same_as_cold(config, tmp_path)


def test_the_record_of_a_file_gone_from_the_output_kept_drops_it(tmp_path: Path) -> None:
    folder = tmp_path / "kept"
    folder.mkdir()
    for name in ("a.xml", "b.xml", "c.xml"):
        (folder / name).write_text(name)
    states = {name: packed(folder / name) for name in ("a.xml", "b.xml", "c.xml")}
    last = rendercache.LastBuild(
        rows=[(name, b"k" + name.encode(), s, b"d" + name.encode()) for name, s in states.items()]
    )
    (folder / "b.xml").unlink()
    (folder / "c.xml").write_text("linked, and so of a new change time")
    swapped = last.swapped_out(folder, {"b.xml", "c.xml", "not recorded.xml"})
    assert dict(swapped) == {
        "a.xml": (b"ka.xml", states["a.xml"], b"da.xml"),
        "c.xml": (b"kc.xml", packed(folder / "c.xml"), b"dc.xml"),
    }


def test_settings_set_back_take_the_files_made_with_them(config: Config, tmp_path: Path) -> None:
    """The output before last holds what a build with the settings of the build before
    last writes: a build with those settings again keeps every document of it, and the
    front page and subscription list.  (The stylesheet and icon are written every build.)"""
    site = {FAVICON, STYLESHEET}
    build(config)
    other = replace(config, title="Another site")
    build(other)
    made_with_other = {n: inode for n, inode in inodes(config.output).items() if n not in site}
    build(config)
    build(other)
    after = {n: inode for n, inode in inodes(config.output).items() if n not in site}
    assert after == made_with_other
    assert_same_as_cold(other, tmp_path)


def test_the_files_a_build_links_over_are_deleted_in_the_background(
    config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a build that wrote every document anew, the next one links the files of the
    output in place over those of the output before last, which no output shares: each is
    set aside, and deleted in a thread, and none is left once the build is done."""
    build(config)
    other = replace(config, title="Another site")
    build(other)  # every document anew
    set_aside: list[str] = []
    real = output._Discards.set_aside

    def spied(self: output._Discards, path: str) -> bool:
        moved = real(self, path)
        if moved and not os.path.lexists(path):
            set_aside.append(path)
        return moved

    monkeypatch.setattr(output._Discards, "set_aside", spied)
    edit_record(config, "00042.md", title="A title nobody used before")
    build(other)
    assert len(set_aside) > len(files(other.output)) / 2
    leftovers = [p.name for p in other.output.parent.iterdir() if p.name.startswith(".disc")]
    assert leftovers == []
    assert_same_as_cold(other, tmp_path)


@pytest.fixture(params=["here", "ahead, in a forked copy"])
def before_last_stated(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Where a build that writes states the files of the output before last: in its own
    process as it keeps them, or ahead, in a forked copy of it, as it does when there are
    many and cores to spare (:func:`feeds.api._stated_ahead`)."""
    monkeypatch.setattr("feeds.workers.cores", lambda: 2)
    forked = "ahead" in request.param
    monkeypatch.setattr("feeds.api.FORKED_CHECK_MIN_FILES", 0 if forked else 10**9)
    monkeypatch.setattr(rendercache, "STATED_PART_FILES", 4)  # many parts, some spoiled
    return str(request.param)


@pytest.mark.usefixtures("before_last_stated")
def test_a_spoiled_file_of_the_output_before_last_is_written_again(
    config: Config, tmp_path: Path
) -> None:
    build(config)
    edit_record(config, "00042.md", title="A title nobody used before")
    build(config)
    for path in files(previous_of(config)).values():
        if path.suffix == ".xml":
            with path.open("ab") as stream:  # in place: the output shares some of these
                stream.write(b"<!-- spoiled -->")
    edit_record(config, "00042.md", title="Another title")
    build(config)
    assert_same_as_cold(config, tmp_path)


def stated_folder(tmp_path: Path, count: int) -> tuple[Path, rendercache.Manifest]:
    """An output before last of ``count`` files, and its record."""
    folder = tmp_path / ".previous-out"
    folder.mkdir()
    for index in range(count):
        (folder / f"{index:02}.xml").write_bytes(b"<feed/>")
    return folder, {name: (b"key", packed(path), b"") for name, path in files(folder).items()}


def stated_here(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The files :func:`feeds.rendercache.still_there` states itself from now on."""
    stated: list[Path] = []
    real = cache.has_state

    def has_state(path: str, state: cache.PackedStat, *, follow_symlinks: bool = True) -> bool:
        stated.append(Path(path))
        return real(path, state, follow_symlinks=follow_symlinks)

    monkeypatch.setattr(rendercache, "has_state", has_state)
    return stated


def copy_done(stated: rendercache.StatedAhead) -> None:
    """Wait until the copy of ``stated`` has stated every file (and forget it)."""
    ended(stated._work)


def test_the_files_stated_ahead_as_recorded_are_not_stated_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("feeds.workers.cores", lambda: 2)
    monkeypatch.setattr(rendercache, "STATED_PART_FILES", 4)
    folder, recorded = stated_folder(tmp_path, 40)
    (folder / "07.xml").write_bytes(b"<feed>spoiled</feed>")
    with rendercache.StatedAhead(recorded, folder) as stated:
        copy_done(stated)
        staging = tmp_path / "staging"
        folder.rename(staging)  # as a build starts its new output from it
        stated.still_at(staging)
        found = {name for name in recorded if stated.found(name)}
        assert "07.xml" not in found
        assert len(found) >= len(recorded) // 2  # the others of its part are not
        here = stated_here(monkeypatch)
        kept = {
            name
            for name in recorded
            if rendercache.still_there(recorded, staging, [name], b"key", stated=stated)
        }
    assert kept == set(recorded) - {"07.xml"}
    assert sorted(path.name for path in here) == sorted(set(recorded) - found)


def test_a_build_keeps_the_files_stated_ahead_without_stating_them(
    config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("feeds.workers.cores", lambda: 2)
    monkeypatch.setattr("feeds.api.FORKED_CHECK_MIN_FILES", 0)
    # Many parts: the build after a cold one leaves a few files of the output before last
    # with stat data other than recorded (it unlinked them from the new output: restated).
    monkeypatch.setattr(rendercache, "STATED_PART_FILES", 4)
    build(config)
    edit_record(config, "00042.md", title="A title nobody used before")
    build(config)
    before_last = inodes(previous_of(config))
    made: list[rendercache.StatedAhead] = []
    stated_ahead = api._stated_ahead

    def made_ahead(*args: Any) -> rendercache.StatedAhead:
        made.append(stated_ahead(*args))
        return made[-1]

    real_staged = output.staged

    def staged(*args: Any, **kwargs: Any) -> Any:
        # The copy done before the build renames the folder it states: a copy still at
        # work then finds none of the files it has not stated yet.
        for stated in made:
            if stated._work.forked:  # not for the cold build it is compared with
                copy_done(stated)
        return real_staged(*args, **kwargs)

    real_still_at = rendercache.StatedAhead.still_at
    found: set[str] = set()

    def still_at(stated: rendercache.StatedAhead, folder: Path) -> None:
        real_still_at(stated, folder)
        found.update(name for name in before_last if stated.found(name))

    monkeypatch.setattr(api, "_stated_ahead", made_ahead)
    monkeypatch.setattr(output, "staged", staged)
    monkeypatch.setattr(rendercache.StatedAhead, "still_at", still_at)
    here = stated_here(monkeypatch)
    edit_record(config, "00042.md", title="Another title")
    build(config)
    kept = {name for name, inode in inodes(config.output).items() if before_last.get(name) == inode}
    assert len(kept) > len(before_last) / 2
    assert len(found) > len(before_last) / 2
    # What it stated itself of the output before last (its staging folder now) is what the
    # copy did not find as recorded: files of the output in place are stated to be linked.
    in_staging = {
        Path(*path.relative_to(tmp_path).parts[1:]).as_posix()
        for path in here
        if config.output not in path.parents
    }
    assert in_staging.isdisjoint(found)
    assert_same_as_cold(config, tmp_path)


def test_nothing_stated_ahead_is_taken_for_another_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("feeds.workers.cores", lambda: 2)
    folder, recorded = stated_folder(tmp_path, 8)
    with rendercache.StatedAhead(recorded, folder) as stated:
        copy_done(stated)
        assert all(stated.found(name) for name in recorded)
        other = tmp_path / "other"
        shutil.copytree(folder, other)  # the same names, other files
        stated.still_at(other)
        assert not any(stated.found(name) for name in recorded)
    assert not any(stated.found(name) for name in recorded)


@pytest.mark.parametrize("loss", ["the folder", "the cache"])
def test_without_the_output_before_last_a_build_starts_afresh(
    config: Config, tmp_path: Path, loss: str
) -> None:
    build(config)
    edit_record(config, "00042.md", title="A title nobody used before")
    build(config)
    if loss == "the folder":
        shutil.rmtree(previous_of(config))
    else:
        assert config.cache is not None
        shutil.rmtree(config.cache)
    edit_record(config, "00042.md", title="Another title")
    build(config)
    assert_same_as_cold(config, tmp_path)
    assert previous_of(config).is_dir()


def test_a_build_without_a_cache_keeps_no_output_before_last(
    config: Config, tmp_path: Path
) -> None:
    build(config)
    edit_record(config, "00042.md", title="A title nobody used before")
    build(config)
    assert previous_of(config).is_dir()
    build(replace(config, cache=None))
    assert not previous_of(config).exists()
    assert_same_as_cold(config, tmp_path)


def test_a_removed_feed_leaves_no_files_or_folders_behind(config: Config, tmp_path: Path) -> None:
    build(config)
    edit_record(config, "00042.md", topics=["A topic of its own"])
    build(config)
    edit_record(config, "00042.md", title="A title nobody used before")
    build(config)
    assert (previous_of(config) / "topics" / "a-topic-of-its-own.atom.xml").is_file()
    edit_record(config, "00042.md", topics=["Another topic of its own"])
    build(config)  # starts from the output that had the first topic
    assert not (config.output / "topics" / "a-topic-of-its-own.atom.xml").exists()
    assert_same_as_cold(config, tmp_path)
    empty = [p for p in config.output.rglob("*") if p.is_dir() and not any(p.iterdir())]
    assert empty == []


def test_a_spoiled_output_is_not_kept_for_the_build_after_next(
    config: Config, tmp_path: Path
) -> None:
    """Files of the output that were spoiled, then swapped out, are no document of any key:
    when a record goes back to what it said, its documents are rendered again."""
    build(config)
    for path in files(config.output).values():
        if path.suffix in {".xml", ".json"}:
            with path.open("ab") as stream:
                stream.write(b"\n")
    original = (tmp_path / "records" / "00042.md").read_bytes()
    edit_record(config, "00042.md", title="A title nobody used before")
    build(config)
    (tmp_path / "records" / "00042.md").write_bytes(original)
    build(config)
    assert_same_as_cold(config, tmp_path)


def test_the_build_after_a_cold_one_links_nothing(
    config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build into an empty output keeps a copy of it, made of links: the next build starts
    from it, and writes only what changed."""
    build(config)
    assert inodes(previous_of(config)) == inodes(config.output)
    links: list[str] = []
    monkeypatch.setattr(output, "_link_or_copy", lambda source, target: links.append(target))
    edit_record(config, "00042.md", title="A title nobody used before")
    build(config)
    assert links == []
    assert_same_as_cold(config, tmp_path)
