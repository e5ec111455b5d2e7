"""RFC 5005 archives: a reader can walk back to the oldest entry, sees every entry once, and
full archive pages never change when newer entries arrive."""

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
from feeds.archive import split_archive
from feeds.config import Config
from tests.conftest import RecordFactory

BASE = "http://localhost:8000/"
PER_PAGE = 5


def write_day(write_record: RecordFactory, day: int) -> None:
    """A record published on ``day`` (1-based) of 2021, in topic ``Testing``."""
    write_record(
        f"{day:03d}.md",
        title=f"Day {day}",
        webUrl=f"https://news.example.com/2021/day-{day}/",
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
    for day in range(1, 24):  # 23 entries: pages of 5, so 3 archive pages and 8 current
        write_day(write_record, day)
    out = build_days(tmp_path)
    chain = walk(out, f"all.{fmt}.xml")
    assert [name for name, _ in chain] == [
        f"all.{fmt}.xml",
        f"all/archive/3.{fmt}.xml",
        f"all/archive/2.{fmt}.xml",
        f"all/archive/1.{fmt}.xml",
    ]
    titles = [title for _, page in chain for title in page]
    assert titles == [f"Day {day}" for day in range(23, 0, -1)]  # each once, newest first
    assert len(chain[0][1]) == 8  # between N and 2N - 1 in the subscription document
    assert all(len(page) == PER_PAGE for _, page in chain[1:])


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


def test_a_rebuild_with_newer_entries_leaves_full_pages_byte_identical(
    tmp_path: Path, write_record: RecordFactory
) -> None:
    for day in range(1, 15):  # 14 entries: 1 archive page, 9 current
        write_day(write_record, day)
    out = build_days(tmp_path)
    before = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("archive/*")}
    pages = ["all", "providers/example-news", "topics/testing"]
    assert sorted(before) == [
        f"{feed}/archive/1.{suffix}" for feed in pages for suffix in ("atom.xml", "json", "rss.xml")
    ]
    for day in range(15, 22):  # newer entries fill a second page
        write_day(write_record, day)
    out = build_days(tmp_path)
    after = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("archive/*")}
    assert {name: after[name] for name in before} == before
    assert "all/archive/2.atom.xml" in after


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


@given(st.integers(min_value=0, max_value=60), st.integers(min_value=1, max_value=12))
def test_split_keeps_every_entry_once_and_full_pages_stable(total: int, per_page: int) -> None:
    entries = list(range(total, 0, -1))  # newest first
    split = split_archive(entries, per_page)
    flattened = [*split.current, *(e for page in reversed(split.pages) for e in page)]
    assert flattened == entries
    assert all(len(page) == per_page for page in split.pages)
    if total >= per_page:
        assert per_page <= len(split.current) <= 2 * per_page - 1
    # Adding a newer entry never changes an existing page.
    grown = split_archive([total + 1, *entries], per_page)
    assert grown.pages[: len(split.pages)] == split.pages
