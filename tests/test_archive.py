"""RFC 5005 archives: a reader can walk back to the oldest entry, sees every entry once;
archive pages never change when newer entries arrive, and an older entry that comes changes
the pages around it only."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import feedparser
import pytest
from hypothesis import given
from hypothesis import strategies as st

from feeds.api import build
from feeds.archive import Split, ends_pages, page_limits, page_marks, split_archive
from feeds.config import Config
from feeds.urls import canonical_url
from tests.conftest import RecordFactory

BASE = "http://localhost:8000/"
PER_PAGE = 5


def write_day(write_record: RecordFactory, day: int, url: str | None = None) -> None:
    """A record published on ``day`` (1-based) of 2021, in topic ``Testing``."""
    write_record(
        f"{day:03d}.md",
        title=f"Day {day}",
        webUrl=url or f"https://news.example.com/2021/day-{day}/",
        publishedDateTime=f"{date(2021, 1, 1) + timedelta(days=day - 1)}T00:00:00Z",
        related=None,
    )


def build_days(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    build(Config(source=tmp_path / "records", output=out, entries_per_feed=PER_PAGE))
    return out


def local(url: str) -> str:
    assert url.startswith(BASE), url
    return url.removeprefix(BASE)


def links(parsed: Any, rel: str) -> list[str]:
    return [local(link.href) for link in parsed.feed.links if link.rel == rel]


def walk(out: Path, name: str) -> list[tuple[str, list[str]]]:
    """Follow ``prev-archive`` from a subscription document: (document, entry titles)."""
    chain = []
    seen = set()
    while True:
        parsed = feedparser.parse((out / name).read_bytes())
        assert not parsed.bozo, name
        chain.append((name, [entry.title for entry in parsed.entries]))
        seen.add(name)
        previous = links(parsed, "prev-archive")
        if not previous:
            return chain
        (name,) = previous
        assert name not in seen, "archive chain loops"


@pytest.mark.parametrize("fmt", ["atom", "rss"])
def test_archives_chain_back_to_the_oldest_entry_with_every_entry_once(
    tmp_path: Path, write_record: RecordFactory, fmt: str
) -> None:
    for day in range(1, 31):  # 30 entries: pages of about 5
        write_day(write_record, day)
    out = build_days(tmp_path)
    chain = walk(out, f"all.{fmt}.xml")
    pages = len(list((out / "all" / "archive").glob(f"*.{fmt}.xml")))
    assert pages >= 3
    assert [name for name, _ in chain] == [
        f"all.{fmt}.xml",
        *(f"all/archive/{page}.{fmt}.xml" for page in range(pages, 0, -1)),
    ]
    titles = [title for _, page in chain for title in page]
    assert titles == [f"Day {day}" for day in range(30, 0, -1)]  # each once, newest first
    least, most = page_limits(PER_PAGE)
    assert PER_PAGE <= len(chain[0][1]) <= PER_PAGE + most - 1  # the subscription document
    assert all(least <= len(page) <= most for _, page in chain[1:])


@pytest.mark.parametrize("fmt", ["atom", "rss"])
def test_archive_pages_say_what_they_are(
    tmp_path: Path, write_record: RecordFactory, fmt: str
) -> None:
    for day in range(1, 16):
        write_day(write_record, day)
    out = build_days(tmp_path)
    page = feedparser.parse((out / f"all/archive/2.{fmt}.xml").read_bytes())
    assert links(page, "self") == [f"all/archive/2.{fmt}.xml"]
    assert links(page, "current") == [f"all.{fmt}.xml"]
    assert links(page, "prev-archive") == [f"all/archive/1.{fmt}.xml"]
    assert links(page, "next-archive") == [f"all/archive/3.{fmt}.xml"]
    text = (out / f"all/archive/2.{fmt}.xml").read_text("utf-8")
    assert text.count("<fh:archive/>") == 1
    current = (out / f"all.{fmt}.xml").read_text("utf-8")
    assert "fh:archive" not in current and 'rel="current"' not in current


def archived(out: Path, pattern: str = "*/archive/*") -> dict[str, bytes]:
    """The archive pages of ``out`` (``pattern`` picks which), by path."""
    return {path.relative_to(out).as_posix(): path.read_bytes() for path in out.rglob(pattern)}


def test_a_rebuild_with_newer_entries_leaves_archive_pages_byte_identical(
    tmp_path: Path, write_record: RecordFactory
) -> None:
    for day in range(1, 21):
        write_day(write_record, day)
    before = archived(build_days(tmp_path))
    for feed in ["all", "providers/example-news", "topics/testing"]:
        assert f"{feed}/archive/1.atom.xml" in before
    for day in range(21, 41):  # newer entries fill more pages
        write_day(write_record, day)
    after = archived(build_days(tmp_path))
    assert {name: after[name] for name in before} == before
    assert len(after) > len(before)


def test_an_older_entry_added_changes_the_pages_around_it_only(
    tmp_path: Path, write_record: RecordFactory
) -> None:
    """Pages counted by ``PER_PAGE`` from the oldest would all move after it."""
    for day in range(1, 61):
        write_day(write_record, day)
    before = archived(build_days(tmp_path), "all/archive/*.atom.xml")
    assert len(before) >= 8
    # An entry dated as day 3, whose key does not end pages (most keys do not).
    url = next(
        url
        for n in range(100)
        if not ends_pages(
            page_marks([canonical_url(url := f"https://news.example.com/2021/late-{n}/")]), 5
        )[0]
    )
    write_day(write_record, 3, url)
    (tmp_path / "records" / "003.md").rename(tmp_path / "records" / "003b.md")
    write_day(write_record, 3)
    after = archived(build_days(tmp_path), "all/archive/*.atom.xml")
    assert sorted(after) == sorted(before)
    changed = [name for name in before if after[name] != before[name]]
    assert 1 <= len(changed) <= 2, changed
    assert "all/archive/1.atom.xml" in changed


def test_json_feed_archives_chain_with_next_url(
    tmp_path: Path, write_record: RecordFactory
) -> None:
    for day in range(1, 18):
        write_day(write_record, day)
    out = build_days(tmp_path)
    name, ids = "all.json", []
    while True:
        document = json.loads((out / name).read_text("utf-8"))
        ids += [item["title"] for item in document["items"]]
        if "next_url" not in document:
            break
        name = local(document["next_url"])
        assert document.get("expired", False) is ("archive" in document["feed_url"])
    assert ids == [f"Day {day}" for day in range(17, 0, -1)]


def cut_one_by_one(entries: list[float], per_page: int, ending: set[int]) -> Split[float]:
    """What :func:`split_archive` does, as the module's docstring says it, an entry at a time."""
    least, most = page_limits(per_page)
    pages, page = [], []
    for at, entry in enumerate(reversed(entries)):  # oldest first
        if len(entries) - at <= per_page:  # the newest per_page stay in the subscription one
            break
        page.append(entry)
        if len(page) == most or (len(page) >= least and entry in ending):
            pages.append(tuple(reversed(page)))
            page = []
    kept = sum(map(len, pages))
    return Split(tuple(entries[: len(entries) - kept]), tuple(pages))


@given(
    st.integers(min_value=0, max_value=80),
    st.integers(min_value=1, max_value=12),
    st.sets(st.integers(min_value=1, max_value=81)),
    st.integers(min_value=1, max_value=80),
)
def test_split_keeps_every_entry_once_and_pages_stable(
    total: int, per_page: int, ending: set[int], inserted: int
) -> None:
    """``ending``: the entries that end pages; ``inserted``: where an older entry comes."""
    least, most = page_limits(per_page)

    def ends(entries: list[float]) -> bytes:
        return bytes(entry in ending for entry in entries)

    entries: list[float] = list(range(total, 0, -1))  # newest first
    split = split_archive(entries, per_page, ends(entries))
    assert split == cut_one_by_one(entries, per_page, ending)
    flattened = [*split.current, *(e for page in reversed(split.pages) for e in page)]
    assert flattened == entries
    assert all(least <= len(page) <= most for page in split.pages)
    assert all(page[0] in ending or len(page) == most for page in split.pages)
    if total >= per_page:
        assert per_page <= len(split.current) <= per_page + most - 1
    else:
        assert not split.pages
    # Adding a newer entry never changes an existing page.
    grown = split_archive([total + 1, *entries], per_page, ends([total + 1, *entries]))
    assert grown.pages[: len(split.pages)] == split.pages
    # An older entry changes no page older than it, and once both cuttings end a page at the
    # same entry after it, every page after that one is the same too.
    at = inserted - 0.5
    inserted_too = sorted([*entries, at], reverse=True)
    more = split_archive(inserted_too, per_page, ends(inserted_too))
    older = [page for page in split.pages if page[0] < at]
    assert more.pages[: len(older)] == tuple(older)
    shared = sorted({page[0] for page in split.pages} & {page[0] for page in more.pages})
    if shared := [end for end in shared if end > at]:
        after = [page for page in split.pages if page[-1] > shared[0]]
        assert [page for page in more.pages if page[-1] > shared[0]] == after


@pytest.mark.parametrize("per_page", [2, 5, 50])
def test_pages_hold_about_per_page_entries(per_page: int) -> None:
    keys = [f"https://news.example.com/2021/{n}/" for n in range(200 * per_page, 0, -1)]
    split = split_archive(keys, per_page, ends_pages(page_marks(keys), per_page))
    sizes = [len(page) for page in split.pages]
    assert 0.8 * per_page <= sum(sizes) / len(sizes) <= 1.2 * per_page
    assert ends_pages(page_marks(keys[:50]), 1) == bytes([1] * 50)  # pages of one, as ever
