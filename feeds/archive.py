"""Feed archives (RFC 5005 section 4): every entry stays reachable, and an entry that comes or
goes changes the pages around it, not every page after it.

A feed's entries are cut into pages from the *oldest*, and pages are numbered from the oldest:
page 1 holds the oldest entries.  Where a page ends depends on the entries themselves, as
content-defined chunking cuts a file (rsync, restic): a page ends after an entry whose key
*ends pages* (:func:`ends_pages`, about one key in ``N / 2 + 1``, the same in every feed and
build) once the page holds at least ``N / 2`` entries, or after ``2N`` entries whatever they
are; a page holds about ``N`` entries (``N`` is ``entries_per_feed``).  Pages that leave at
least ``N`` newer entries are archived; the subscription document keeps the rest, the newest
``N`` to ``3N - 1``.

Pages of ``N`` counted from the oldest moved every page after an entry added or removed among
them: at 10,000 records, a record citing an article of 2019 that the feeds did not show yet
rewrote every archive page of the feed of all articles (5,620-5,626 of 23,269 files).  Here the
pages before that entry keep their entries, as before, and the pages after it keep theirs
too from the first entry after it where both cuttings end a page: the same record rewrote 25
files (of 24,220: pages of about ``N`` make a few more than pages of ``N``).  An entry that
ends pages itself (about one in ``N / 2 + 1``), added or removed, may still renumber every
page after it.

A page's document is made from nothing but its own entries and its number, so a page whose
entries are the same is byte-identical in every build, and caches and readers may keep it.
Adding newer entries only ever appends pages.  Links follow the RFC: the subscription
document points ``prev-archive`` at the newest page; page ``k`` points ``prev-archive`` at page
``k - 1`` (none on page 1), ``current`` at the subscription document, and ``next-archive`` at
page ``k + 1``.  That last link is written on every page, even while page ``k + 1`` does not
exist yet: a link added later would change a page that need not change.
"""

from __future__ import annotations

import zlib
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Split(Generic[T]):
    """``current`` newest first; ``pages[0]`` is page 1 (the oldest), each newest first."""

    current: tuple[T, ...]
    pages: tuple[tuple[T, ...], ...]


def page_limits(per_page: int) -> tuple[int, int]:
    """The fewest entries a page holds before an entry that ends pages ends it, and the most
    it holds."""
    if per_page < 1:
        raise ValueError(f"per_page must be at least 1, not {per_page}")
    return max(1, per_page // 2), 2 * per_page


def page_marks(keys: Iterable[str]) -> array[int]:
    """The mark of each of ``keys`` that says whether its entry ends pages, for any number
    of entries a page (:func:`ends_pages`): a CRC of the key, the same in every process and
    build, worked out without a call of Python code per key.  A graph keeps those of its
    articles with their order (:class:`feeds.plan.NewestFirst`): worked out again in each
    build that changed one record at 100,000 records, they took 0.39 s of its 1.1 s of
    planning, most of it spent going from one article to the next in memory."""
    return array("I", map(zlib.crc32, map(str.encode, keys)))


def ends_pages(marks: Iterable[int], per_page: int) -> bytes:
    """A byte for each of ``marks`` (:func:`page_marks`), 1 where its entry ends a page it
    is in once the page is long enough: one in ``per_page - least + 1``, so that a page
    holds ``per_page`` entries on average."""
    least, _ = page_limits(per_page)
    spread = per_page - least + 1
    return bytes(map((0).__eq__, map(spread.__rmod__, marks)))


def split_archive(newest_first: Sequence[T], per_page: int, ends: bytes) -> Split[T]:
    """Cut a feed's entries, newest first, into the subscription document and the pages it
    archives; ``ends`` holds a byte for each entry, in the same order, 1 for those that end
    pages (see the module's docstring)."""
    least, most = page_limits(per_page)
    entries = tuple(newest_first)
    pages: list[tuple[T, ...]] = []
    start = len(entries)  # the page being cut holds entries[at:start], newest first
    # Oldest first, a page ends at the first entry that ends pages once it holds ``least``
    # (newest first: the last such index), else at ``most``.  A page is archived when at
    # least ``per_page`` entries are newer than it: it ends at index ``per_page`` or later.
    while start - least >= per_page:
        at = ends.rfind(1, max(start - most, per_page), start - least + 1)
        if at < 0:
            if start - most < per_page:
                break
            at = start - most
        pages.append(entries[at:start])
        start = at
    return Split(entries[:start], tuple(pages))
