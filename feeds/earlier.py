"""Entries of the last build's output, taken again for the documents a build renders anew.

A document is rendered again when one of its entries changed or moved; most of the entries
it lists did not, and after a few records changed, rendering those again was most of a
build.  Imported only by builds that render: reading a record of the last build
(:mod:`feeds.rendercache`) must not pay for feedgen.
"""

from __future__ import annotations

import copy
import re
from array import array
from collections import OrderedDict
from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Generic, TypeAlias, TypeVar

from feeds.articles import Article
from feeds.entries import EntryStore
from feeds.jsonfeed import SUFFIX as JSON_SUFFIX
from feeds.jsonfeed import item_marks, written_items
from feeds.plan import FeedSpec
from feeds.render import (
    FORMATS,
    EntryXml,
    article_id,
    entry_marks,
    file_name,
    written_entries,
)
from feeds.rendercache import Manifest, read_as_recorded

# An entry's own id and update time come before any other ``id`` or ``updated`` element in
# it, and element text holds no raw ``<`` or ``"``.
_ATOM_ID = re.compile(rb"<id>([^<]*)</id>")
_ATOM_UPDATED = re.compile(rb"<updated>([^<]*)</updated>")
_JSON_ID = re.compile(rb'"id": "([^"]*)"')


class EarlierEntries:
    """The entries the last build wrote, taken again for the documents rendered anew.

    A document is rendered again when one of its entries changed or moved, but most of its
    entries did not: after a few records changed, rendering those again was most of the
    work.  So the last build's files of such a document are read, when they are still as
    written, and each entry whose article has the same digest now as then (``lendable``,
    see :class:`SameDigests`; and, in Atom, the same update time) is taken from them byte
    for byte.  Only the build whose output this is can say which digests it published; the
    caller makes sure of that (:attr:`feeds.rendercache.LastBuild.build`).

    An entry is written the same in every document that lists it, so it may be taken from
    another page of the same feed too.  That matters once an article older than an archive
    page joins the feed: archive pages count from the oldest entry, so every later page
    moves up.  Taken from the same page only, 60,919 entries were rendered again (of 78,558
    articles) after 100 records that cite such articles were added to 10,100 of
    bench/corpus.py, in one process; 971 were (of 79,332) after the next 100.  Those not
    found in the same page are looked for in the last build's page of the feed that covered
    their dates (:meth:`_take_elsewhere`)."""

    def __init__(self, output: Path, previous: Manifest, lendable: Container[str]) -> None:
        self._output = output
        self._previous = previous
        self._lendable = lendable
        # Per feed (by path): its archive pages in the last build, and how far (in pages)
        # its entries were found from where they are now, the last time they were looked for.
        self._pages: dict[str, int] = {}
        self._offsets: dict[str, int] = {}
        self._read = _Kept()

    def lend(
        self,
        store: EntryStore,
        spec: FeedSpec,
        page: int | None,
        entries: Sequence[Article],
        stamps: Sequence[datetime],
    ) -> None:
        """Give ``store`` the entries of the document of ``spec`` and ``page`` that the last
        build wrote the same, for ``entries`` at ``stamps``."""
        same = [
            (article, stamp)
            for article, stamp in zip(entries, stamps, strict=True)
            if self.lends(article.key)
        ]
        if not same:
            return
        missing = _take(store, self._written(document_names(spec, page)), same)
        if missing:
            self._take_elsewhere(store, spec, page, missing)

    def lends(self, key: str) -> bool:
        """Whether the entry of the article ``key`` is taken from the last build's files
        (when a file that held it is still as written): it shows the same as then."""
        return key in self._lendable

    def lendable_among(self, keys: Iterable[str]) -> frozenset[str]:
        """Those of ``keys`` whose entries are taken from the last build's files."""
        return frozenset(filter(self.lends, keys))

    def for_workers(self) -> EarlierEntries:
        """What a render worker starts from: the same files, lending nothing until told
        what (:meth:`lending`).  Sent the digests of every article instead, a worker took
        286-293 MB at 30,000 records in builds that made every document again, against
        231-238 MB told with each batch."""
        return EarlierEntries(self._output, self._previous, frozenset())

    def lending(self, lendable: Container[str]) -> EarlierEntries:
        """The same files, lending the entries of ``lendable``: what a worker lends for
        the documents it was sent, whose keys came with them.  What was read of the files
        so far is shared: it does not depend on what lends."""
        other = copy.copy(self)
        other._lendable = lendable
        return other

    def _take_elsewhere(
        self,
        store: EntryStore,
        spec: FeedSpec,
        page: int | None,
        missing: list[tuple[Article, datetime]],
    ) -> None:
        """Give ``store`` what the last build's page of the feed that covered the dates of
        the ``missing`` entries (and its neighbours) holds of them.

        The feed's documents are in date order: archive pages from the oldest, then the
        subscription document.  The search starts where the last search in this feed found
        its entries, relative to the page, and moves towards the dates wanted; documents are
        rendered in date order, so that is mostly where they are."""
        last = self._page_count(spec)  # the index of the subscription document
        if last == 0:
            return  # the feed had no archive: its one document was read already
        here = last if page is None else page - 1
        lo = min(stamp for _, stamp in missing)
        hi = max(stamp for _, stamp in missing)
        index = min(max(here + self._offsets.get(spec.path, 0), 0), last)
        step = 0
        while True:
            written = self._written(_names_at(spec, index, last))
            if written is None:
                return
            move = 1 if written.newest < lo else -1 if written.oldest > hi else 0
            if move in (0, -step) or not 0 <= index + move <= last:
                break  # dates covered, or between two pages, or beyond the feed's ends
            index, step = index + move, move
        self._offsets[spec.path] = index - here
        missing = _take(store, written, missing)
        for neighbour in (index - 1, index + 1):
            if missing and 0 <= neighbour <= last:
                missing = _take(store, self._written(_names_at(spec, neighbour, last)), missing)

    def _page_count(self, spec: FeedSpec) -> int:
        """How many archive pages the feed had in the last build (they are numbered from 1
        without gaps)."""
        count = self._pages.get(spec.path)
        if count is None:
            count = self._pages[spec.path] = _count(
                lambda number: file_name(spec, "atom", number) in self._previous
            )
        return count

    def _written(self, names: Sequence[str]) -> _Written | None:
        """What the last build wrote in the files ``names`` of one document, while they are
        still as written; those read lately are kept (:class:`_Kept`), as the next pages
        of their feeds look in them."""
        return self._read.get(
            names[0], lambda places: _read_written(self._previous, self._output, names, places)
        )


@dataclass(frozen=True, slots=True)
class SameDigests:
    """The articles whose entries show the same now (``now``) as in the last build
    (``earlier``): their digests, by key, are equal."""

    earlier: Mapping[str, bytes]
    now: Mapping[str, bytes]

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        digest = self.earlier.get(key)
        return digest is not None and digest == self.now.get(key)


# What the files of the documents read again that are kept at hand may weigh together, in
# each process that renders.  Documents are rendered by the date of their middle entry,
# across feeds, so the pages of one feed come apart; each page read is looked in again for
# the next page of its feed rendered, whose entries moved into it.  A build that added 100
# records to 10,000 of the bench's corpus read 16,859 documents again (7,123 of them) in
# one process keeping the last 8, and 9,290 keeping 128 (about 60 MB).  With this budget
# instead of 8, such builds took 18.86 s against 24.66 s (three of each, alternated), and
# their processes 654 MB at most together, against 537 MB.  Counted in bytes, as the pages
# of records citing about ten weigh three times as much: there, the same builds were no
# quicker (22.91 s against 21.02 s, within the runs' spread) and took 794 MB against 710.
KEPT_BYTES = 64 << 20
# What the places of the entries in the documents read may weigh together, in each
# process that renders (see :class:`_Kept`): 8 bytes a place, so that of a document of 100
# entries weighs about 2.7 KB, and this keeps those of about 6,000 such documents.
PLACES_BYTES = 16 << 20
_PLACES_EXTRA = 256  # what each document's places weigh besides the places themselves


# Where the entries of a document's Atom, RSS and JSON Feed files begin (none for a JSON
# Feed file that could not be read), as searching them found.
_Places: TypeAlias = "tuple[array[int], array[int], array[int] | None]"


class _Kept:
    """The documents read again that are kept at hand, while their files weigh
    :data:`KEPT_BYTES` together.

    A page is looked in again, for the next page of its feed, mostly after hundreds of
    megabytes of other documents were read (636 MB, the median, in a build that added 100
    records citing about ten to 9,900).  So where the entries of each document read begin
    is kept far longer (:data:`PLACES_BYTES`): reading one again, its files as recorded,
    then cuts them there without searching them, which was about half of the time taken
    to read a document's entries."""

    def __init__(self) -> None:
        # Module functions, not lambdas: what a render worker starts from is pickled.
        self._documents: _Weighed[_Written | None] = _Weighed(_document_weight, KEPT_BYTES)
        self._places: _Weighed[_Places] = _Weighed(_places_weight, PLACES_BYTES)

    def get(
        self, key: str, read: Callable[[_Places | None], tuple[_Written | None, _Places | None]]
    ) -> _Written | None:
        """The document ``key``, kept, or else ``read`` (told where its entries were found
        before, if known) and kept."""
        if key in self._documents:
            return self._documents.use(key)
        written, places = read(self._places.peek(key))
        self._documents.put(key, written)
        if places is not None:
            self._places.put(key, places)
        return written


V = TypeVar("V")


class _Weighed(Generic[V]):
    """Values by key, the one used or put last at the end, while they weigh ``budget``
    together: beyond it, those used the longest ago are dropped (the last one put is kept,
    whatever it weighs)."""

    def __init__(self, weigh: Callable[[V], int], budget: int) -> None:
        self._values: OrderedDict[str, V] = OrderedDict()
        self._weigh = weigh
        self._budget = budget
        self._weight = 0

    def __contains__(self, key: str) -> bool:
        return key in self._values

    def use(self, key: str) -> V:
        """The value of ``key``, now the one used last."""
        self._values.move_to_end(key)
        return self._values[key]

    def peek(self, key: str) -> V | None:
        """The value of ``key``, if kept, where it is."""
        return self._values.get(key)

    def put(self, key: str, value: V) -> None:
        if key in self._values:
            self._weight -= self._weigh(self._values.pop(key))
        self._values[key] = value
        self._weight += self._weigh(value)
        while self._weight > self._budget and len(self._values) > 1:
            _, dropped = self._values.popitem(last=False)
            self._weight -= self._weigh(dropped)


def _document_weight(written: _Written | None) -> int:
    return 0 if written is None else written.size


def _places_weight(places: _Places) -> int:
    return _PLACES_EXTRA + sum(len(found) * found.itemsize for found in places if found is not None)


@dataclass(frozen=True, slots=True)
class _Written:
    """The entries of one document of the last build: XML by the Atom entry's id and update
    time, JSON Feed items by id, and the dates its entries span."""

    xml: Mapping[tuple[bytes, bytes], EntryXml]
    items: Mapping[bytes, bytes]
    oldest: datetime
    newest: datetime
    size: int  # what its files weigh


def document_names(spec: FeedSpec, page: int | None) -> list[str]:
    """The files of a feed document: one per XML format, then the JSON Feed (as
    :func:`feeds.render.file_name` and :func:`feeds.jsonfeed.json_name` name them).  A
    build names the files of every document: those of the 77,485 documents of 100,000
    records took 50-57 ms so, and 78-98 ms by those two."""
    path = spec.document_path(page)
    return [f"{path}{suffix}" for suffix in _SUFFIXES]


_SUFFIXES = (*(suffix for suffix, _ in FORMATS.values()), JSON_SUFFIX)


def _names_at(spec: FeedSpec, index: int, last: int) -> list[str]:
    """The files of the feed's document at ``index`` in date order (``last`` is the
    subscription document's)."""
    return document_names(spec, None if index == last else index + 1)


def _count(exists: Callable[[int], bool]) -> int:
    """The largest ``n`` with ``exists(1)`` … ``exists(n)`` all true (0 when ``exists(1)``
    is false), asking ``exists`` about twice its logarithm."""
    high = 1
    while exists(high):
        high *= 2
    low = high // 2  # exists(low), or low == 0
    while high - low > 1:
        middle = (low + high) // 2
        if exists(middle):
            low = middle
        else:
            high = middle
    return low


def _take(
    store: EntryStore, written: _Written | None, wanted: list[tuple[Article, datetime]]
) -> list[tuple[Article, datetime]]:
    """Give ``store`` the entries of ``wanted`` that ``written`` holds; those it does not
    hold in XML."""
    if written is None:
        return wanted
    rest = []
    for article, stamp in wanted:
        identity = article_id(article).encode()
        if (item := written.items.get(identity)) is not None:
            store.keep_json(article, item)
        if (xml := written.xml.get((identity, stamp.isoformat().encode()))) is not None:
            store.keep(article, stamp, xml)
        else:
            rest.append((article, stamp))
    return rest


def _read_written(
    previous: Manifest, output: Path, names: Sequence[str], places: _Places | None
) -> tuple[_Written | None, _Places | None]:
    """The entries of the document ``names`` (its Atom, RSS and JSON Feed files), read
    when its Atom and RSS files are still as the last build wrote them; and where they
    begin in its files.  ``places``: where they begin, found when the files were read
    before.  Only files as recorded are read (:func:`read_as_recorded`), so their bytes are
    those searched then."""
    atom, rss, document = (read_as_recorded(previous, output, name) for name in names)
    if atom is None or rss is None:
        return None, None
    if places is None:
        places = (
            array("q", entry_marks(atom, "atom")),
            array("q", entry_marks(rss, "rss")),
            None if document is None else array("q", item_marks(document)),
        )
    xml = _entries_by_moment(
        written_entries(atom, "atom", places[0]), written_entries(rss, "rss", places[1])
    )
    if not xml:
        return None, places
    items = {}
    if document is not None:  # searched when it could not be read the first time
        for item in written_items(document, places[2]):
            if (found := _JSON_ID.search(item)) is not None:
                items[found[1]] = item
    times = [datetime.fromisoformat(updated.decode()) for _, updated in xml]
    size = len(atom) + len(rss) + len(document or b"")
    return _Written(xml, items, min(times), max(times), size), places


def _entries_by_moment(
    atoms: Sequence[bytes], items: Sequence[bytes]
) -> dict[tuple[bytes, bytes], EntryXml]:
    """The entries of an Atom document and of the RSS document of the same feed page, by
    the Atom entry's id and update time (both list the same entries, in the same order)."""
    if len(atoms) != len(items):
        return {}
    found = {}
    for entry, item in zip(atoms, items, strict=True):
        identity, updated = _ATOM_ID.search(entry), _ATOM_UPDATED.search(entry)
        if identity is not None and updated is not None:
            found[identity[1], updated[1]] = EntryXml(entry, item)
    return found
