"""Rendered entries, shared by the documents that list them.

An article appears in the all-articles feed, in a feed per topic and in its provider's feed,
each in three formats: rendering it once per format instead of once per document is most of
what makes a build fast.  The XML of an entry also carries its ``updated`` time, which a
document may move by microseconds to keep its entries' times distinct
(:func:`feeds.render.distinct_updates`), so XML is kept per ``(article, time)``.

Only the most recently used entries are kept, so memory does not grow with the archive;
documents are rendered in order of their middle entry's date across all feeds
(:func:`feeds.publish.in_rendering_order`), so an entry is mostly still at hand when the next
feed that lists it comes.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Generic, TypeVar

from feeds.articles import Article
from feeds.jsonfeed import render_item
from feeds.render import EntryXml, Shown, render_entries, shown

# Rendered entries kept by each process that renders: about 70 MB of them at the size of
# a seed record with ten related articles.  At 10,000 records, twice as many spared
# rendering 6% of the entries again (88,434 renders against 94,178, for 76,994 articles),
# for a fifth more peak memory (675 MB against 536 MB: they are held in each process).
CAPACITY = 8_192

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

    def put(self, key: K, value: V) -> None:
        self._items[key] = value
        if len(self._items) > self._capacity:
            self._items.popitem(last=False)


class EntryStore:
    """Entries rendered on demand, by article key; each document's missing entries are
    rendered together, in one feedgen document per format.

    ``articles`` are where the related articles of an entry are found: a worker process
    that is sent a few documents at a time points them at what it was sent with them
    (:func:`feeds.publish.render_feeds`), and keeps the entries it rendered before."""

    def __init__(self, articles: Mapping[str, Article], capacity: int = CAPACITY) -> None:
        self.articles = articles
        self._xml: _Recent[tuple[str, datetime], EntryXml] = _Recent(capacity)
        self._json: _Recent[str, bytes] = _Recent(capacity)
        # What the entries of the document being rendered show: its XML is rendered, then
        # its JSON Feed.  Kept for that document only: with its HTML content, what an
        # entry shows weighs a few kilobytes, and the rendered entries hold it already.
        self._shown: dict[str, Shown] = {}

    def xml(self, entries: Sequence[Article], stamps: Sequence[datetime]) -> list[EntryXml]:
        """The XML of ``entries`` (at ``stamps``), the entries of the next document."""
        self._shown = {}
        found = [self._xml.get((a.key, stamp)) for a, stamp in zip(entries, stamps, strict=True)]
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
                self._xml.put((article.key, stamp), xml)
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
        self._xml.put((article.key, stamp), xml)

    def keep_json(self, article: Article, item: bytes) -> None:
        """Take ``item`` as the JSON Feed item of ``article`` (written before, the same)."""
        self._json.put(article.key, item)

    def json(self, entries: Sequence[Article]) -> list[bytes]:
        """The JSON Feed items of ``entries``, mostly those of the document whose XML
        :meth:`xml` gave last."""
        out = []
        for article in entries:
            item = self._json.get(article.key)
            if item is None:
                item = render_item(article, self.shown(article))
                self._json.put(article.key, item)
            out.append(item)
        return out
