"""Feed archives (RFC 5005 section 4): every entry stays reachable, and full pages never change.

A feed's entries are counted from the *oldest*: archive page 1 holds the oldest ``N`` entries,
page 2 the next ``N``, and so on.  Only whole pages are archived; the subscription document
keeps the rest, which is the newest ``N`` to ``2N - 1`` entries (all of them while there are
fewer than ``2N``).  Adding newer entries therefore only ever appends pages: a full page holds
the same entries under the same URL in every later build, and since a page's document is made
from nothing but its own entries and its number, it is byte-identical too, so caches and
readers may keep it forever.

Links follow the RFC: the subscription document points ``prev-archive`` at the newest page;
page ``k`` points ``prev-archive`` at page ``k - 1`` (none on page 1), ``current`` at the
subscription document, and ``next-archive`` at page ``k + 1``.  That last link is written on
every page, even while page ``k + 1`` does not exist yet (it appears once the subscription
document has filled it): a link added later would change a page that must not change.

What this cannot promise: a record that is removed or back-dated into an archived page, or
that edits an archived entry, rewrites the pages from that point on (RFC 5005 section 4.1
asks publishers to repeat such corrections in the subscription document).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Split(Generic[T]):
    """``current`` newest first; ``pages[0]`` is page 1 (the oldest), each newest first."""

    current: tuple[T, ...]
    pages: tuple[tuple[T, ...], ...]


def split_archive(newest_first: Sequence[T], per_page: int) -> Split[T]:
    """Cut a feed's entries, newest first, into the subscription document and full pages."""
    if per_page < 1:
        raise ValueError(f"per_page must be at least 1, not {per_page}")
    entries = tuple(newest_first)
    count = len(entries)
    full_pages = max(0, count // per_page - 1)
    # Page k holds the k-th run of ``per_page`` entries counted from the oldest: sliced from
    # the end of the newest-first order, it is already newest first.
    pages = tuple(
        entries[count - (page + 1) * per_page : count - page * per_page]
        for page in range(full_pages)
    )
    current = entries[: count - full_pages * per_page]
    return Split(current, pages)
