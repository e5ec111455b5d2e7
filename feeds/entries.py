"""Rendered entries, shared by the documents that list them.

An article appears in the all-articles feed, in a feed per topic and in its provider's feed,
each in three formats: rendering it once per format instead of once per document is most of
what makes a build fast.  The XML of an entry also carries its ``updated`` time, which a
document may move by microseconds to keep its entries' times distinct
(:func:`feeds.render.distinct_updates`), so XML is kept per ``(article, time)``.

Only the most recently used entries are kept, so memory does not grow with the archive;
documents are rendered in order of their middle entry's date across all feeds
(:func:`feeds.publish.in_rendering_order`), so an entry is mostly still at hand when the next
feed that lists it comes.  And an entry goes as soon as every document that lists it has
been made (:meth:`EntryStore.made`): kept until it was the least recently used, it took the
room of entries still to come.  One let go to make room before then is put aside on disk
(:mod:`feeds.aside`), and read back when a document lists it again: feeds that list a few
articles over years (thousands of rare topics or providers) list entries rendered long before.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Generic, TypeVar

from feeds.articles import Article
from feeds.aside import Aside
from feeds.jsonfeed import render_item
from feeds.plan import documents_listing
from feeds.render import EntryXml, Shown, render_entries, shown

# Rendered entries kept by each process that renders: about 35 MB of them at the size of
# a seed record with ten related articles.  Once entries went as soon as no document was
# left to list them (EntryStore.made), twice as many spared few renders on two cores:
# cold builds of the 10k bench corpus took 18.7-20.7 s with 8,192, 19.2-20.2 s with
# 4,096, and peaked at 491-496 MB against 434-435 MB (three each, alternated).  At 100k
# records, two cold builds with 4,096 peaked at 1,011 MB (main process 814 MB, render
# worker 154 MB) and 1,077 MB, in 266 s and 270 s; two with 8,192 at 1,085 MB (853 and
# 191 MB) and 1,116 MB, in 263 s.  In one process, 4,096 rendered 91,896 entries of the
# 76,994 articles at 10k, 8,192 rendered 78,372 (35.7 s against 33.4 s).
CAPACITY = 4_096
# Entries put aside (feeds.aside) at most, in each process that renders, of each kind (XML,
# JSON Feed), and what their file may weigh; beyond, entries are let go and rendered again
# if they come again.  Each held costs about 150 bytes of memory: 20 MB at most, of each
# kind.  In a cold build of 10,000 records with 5,243 feeds, 10,816 were held at most.
ASIDE_MOST = 1 << 17
ASIDE_MOST_BYTES = 1 << 30

K = TypeVar("K")
V = TypeVar("V")


class _Recent(Generic[K, V]):
    """A mapping that forgets its least recently used items beyond ``capacity``."""

    def __init__(self, capacity: int) -> None:
        self._items: OrderedDict[K, V] = OrderedDict()
        self._capacity = capacity

    def get(self, key: K) -> V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> tuple[K, V] | None:
        """Keep ``value``; the item forgotten to make room for it, if any."""
        self._items[key] = value
        if len(self._items) > self._capacity:
            return self._items.popitem(last=False)
        return None

    def forget(self, key: K) -> None:
        self._items.pop(key, None)

    def __contains__(self, key: K) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)


class EntryStore:
    """Entries rendered on demand, by article key; each document's missing entries are
    rendered together, in one feedgen document per format.

    ``articles`` are where the related articles of an entry are found: a worker process
    that is sent a few documents at a time points them at what it was sent with them
    (:func:`feeds.publish.render_feeds`), and keeps the entries it rendered before.

    With ``aside``, an entry let go to make room is put aside in a file
    (:class:`feeds.aside.Aside`), in ``aside_folder`` or else the system's temporary files,
    and read back when a document lists it again, until every document listing it was
    made: rendering it again took about 0.2 ms, reading it back a few microseconds.
    Feeds that list few articles over years list entries rendered long before.  A cold
    build of 10,000 records with 5,243 feeds, in one process, rendered 121,217 entries for
    its 10,500 articles without, in 107.5 s; 11,034 with, in 30.6 s."""

    def __init__(
        self,
        articles: Mapping[str, Article],
        capacity: int = CAPACITY,
        *,
        aside: bool = False,
        aside_folder: Path | None = None,
    ) -> None:
        self.articles = articles
        self._xml: _Recent[tuple[str, datetime], EntryXml] = _Recent(capacity)
        self._json: _Recent[str, bytes] = _Recent(capacity)
        most = ASIDE_MOST if aside else 0
        self._xml_aside: Aside[tuple[str, datetime]] = Aside(
            aside_folder, parts=2, most=most, most_bytes=ASIDE_MOST_BYTES
        )
        self._json_aside: Aside[str] = Aside(
            aside_folder, parts=1, most=most, most_bytes=ASIDE_MOST_BYTES
        )
        # What the entries of the document being rendered show: its XML is rendered, then
        # its JSON Feed.  Kept for that document only: with its HTML content, what an
        # entry shows weighs a few kilobytes, and the rendered entries hold it already.
        self._shown: dict[str, Shown] = {}
        # By article whose JSON Feed item is kept, at hand or aside, how many documents
        # listing it were made (:meth:`made`), until all were.
        self._made: dict[str, int] = {}

    def xml(self, entries: Sequence[Article], stamps: Sequence[datetime]) -> list[EntryXml]:
        """The XML of ``entries`` (at ``stamps``), the entries of the next document."""
        self._shown = {}
        found = [self._known_xml((a.key, stamp)) for a, stamp in zip(entries, stamps, strict=True)]
        missing = [
            (article, stamp)
            for article, stamp, xml in zip(entries, stamps, found, strict=True)
            if xml is None
        ]
        rendered = iter(render_entries(missing, self.articles, self.shown))
        out = []
        for article, stamp, known in zip(entries, stamps, found, strict=True):
            xml = known or next(rendered)
            if known is None:
                self._keep_xml((article.key, stamp), xml)
            out.append(xml)
        return out

    def shown(self, article: Article) -> Shown:
        """What the entry of ``article`` shows, worked out once for every format of the
        document being rendered."""
        seen = self._shown.get(article.key)
        if seen is None:
            seen = self._shown[article.key] = shown(article, self.articles)
        return seen

    def keep(self, article: Article, stamp: datetime, xml: EntryXml) -> None:
        """Take ``xml`` as the entry of ``article`` at ``stamp`` (written before, the same)."""
        self._keep_xml((article.key, stamp), xml)

    def keep_json(self, article: Article, item: bytes) -> None:
        """Take ``item`` as the JSON Feed item of ``article`` (written before, the same)."""
        self._keep_item(article.key, item)

    def json(self, entries: Sequence[Article]) -> list[bytes]:
        """The JSON Feed items of ``entries``, mostly those of the document whose XML
        :meth:`xml` gave last."""
        out = []
        for article in entries:
            key = article.key
            item = self._json.get(key)
            if item is None:
                held = self._json_aside.get(key)
                item = render_item(article, self.shown(article)) if held is None else held[0]
                self._keep_item(key, item)
            out.append(item)
        return out

    def made(self, entries: Sequence[Article], stamps: Sequence[datetime]) -> None:
        """Count the document of ``entries`` (at ``stamps``) as made, in every format, and
        forget the entries of the articles every document listing them was made for
        (:func:`feeds.plan.documents_listing`), as far as this store knows.

        Kept until they were the least recently used instead, the entries of articles
        that no document was left to list took the room of others, which were then
        rendered again: with room for 8,192 entries, a cold build of the 10k bench corpus
        in one process rendered 94,178 entries of its 76,994 articles, against 78,372 so,
        in 37.6 s against 33.4 s; on two cores, 21.1-21.4 s against 20.0-20.5 s (three
        builds each, alternated).  At 100k records, cold builds took as long either way
        (263 s).  It made room to keep fewer (:data:`CAPACITY`)."""
        made, items, aside = self._made, self._json, self._json_aside
        for article, stamp in zip(entries, stamps, strict=True):
            key = article.key
            if key not in items and key not in aside:  # let go already: counted no more
                continue
            count = made.get(key, 0) + 1
            if count < documents_listing(article):
                made[key] = count
                continue
            made.pop(key, None)
            self._xml.forget((key, stamp))
            self._json.forget(key)
            self._xml_aside.forget((key, stamp))
            aside.forget(key)

    def _known_xml(self, key: tuple[str, datetime]) -> EntryXml | None:
        """The entry of ``key`` at hand, else put aside (then at hand again)."""
        xml = self._xml.get(key)
        if xml is None and (parts := self._xml_aside.get(key)) is not None:
            xml = EntryXml(*parts)
            self._keep_xml(key, xml)
        return xml

    def _keep_xml(self, key: tuple[str, datetime], xml: EntryXml) -> None:
        """Keep ``xml`` at hand; the entry let go to make room is put aside.  Any entry let
        go is: that of an article every document listing it was made for is forgotten
        then (:meth:`made`), not let go; and those of the document being rendered are let
        go before it is counted, when it lists more entries than there is room for."""
        forgotten = self._xml.put(key, xml)
        if forgotten is not None:
            gone, entry = forgotten
            self._xml_aside.put(gone, (entry.atom, entry.rss))

    def _keep_item(self, key: str, item: bytes) -> None:
        """Keep the JSON Feed item of ``key``; the item let go to make room is put aside
        (as in :meth:`_keep_xml`), and what is counted of its article goes with it when it
        cannot be, so that the count holds no more than the store does."""
        forgotten = self._json.put(key, item)
        if forgotten is not None:
            gone, value = forgotten
            if not self._json_aside.put(gone, (value,)):
                self._made.pop(gone, None)

    def __len__(self) -> int:
        """How many entries it holds, counted once per format."""
        return len(self._xml) + len(self._json)
