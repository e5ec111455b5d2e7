"""Entries of the last build's output, taken again for the documents a build renders anew.

A document is rendered again when one of its entries changed or moved; most of the entries
it lists did not, and after a few records changed, rendering those again was most of a
build.  Imported only by builds that render: reading a record of the last build
(:mod:`feeds.rendercache`) must not pay for feedgen.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path

from feeds.articles import Article
from feeds.entries import EntryStore
from feeds.jsonfeed import written_items
from feeds.render import EntryXml, article_id, written_entries
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
    written, and each entry whose article has the same digest now as then (and, in Atom,
    the same update time) is taken from them byte for byte.  Only the build whose output
    this is can say which digests it published (``earlier``); the caller makes sure of that
    (:attr:`feeds.rendercache.LastBuild.build`)."""

    def __init__(
        self,
        output: Path,
        previous: Manifest,
        earlier: Mapping[str, bytes],
        now: Mapping[str, bytes],
    ) -> None:
        self._output = output
        self._previous = previous
        self._earlier = earlier
        self._now = now

    def lend(
        self,
        store: EntryStore,
        names: Sequence[str],
        entries: Sequence[Article],
        stamps: Sequence[datetime],
    ) -> None:
        """Give ``store`` the entries of the document of ``names`` (its Atom, RSS and JSON
        Feed files) that its last version holds the same, for ``entries`` at ``stamps``."""
        same = [
            (article, stamp)
            for article, stamp in zip(entries, stamps, strict=True)
            if (digest := self._earlier.get(article.key)) is not None
            and digest == self._now.get(article.key)
        ]
        if not same:
            return
        # Its Atom, RSS and JSON Feed files, each when still as written.
        atom, rss, document = (
            read_as_recorded(self._previous, self._output, name) for name in names
        )
        if atom is not None and rss is not None:
            written = _entries_by_moment(atom, rss)
            for article, stamp in same:
                moment = (article_id(article).encode(), stamp.isoformat().encode())
                if (xml := written.get(moment)) is not None:
                    store.keep(article, stamp, xml)
        if document is not None:
            items = {}
            for item in written_items(document):
                if (found := _JSON_ID.search(item)) is not None:
                    items[found[1]] = item
            for article, _ in same:
                if (kept := items.get(article_id(article).encode())) is not None:
                    store.keep_json(article, kept)


def _entries_by_moment(atom: bytes, rss: bytes) -> dict[tuple[bytes, bytes], EntryXml]:
    """The entries of an Atom document and of the RSS document of the same feed page, by
    the Atom entry's id and update time (both list the same entries, in the same order)."""
    atoms, items = written_entries(atom, "atom"), written_entries(rss, "rss")
    if len(atoms) != len(items):
        return {}
    found = {}
    for entry, item in zip(atoms, items, strict=True):
        identity, updated = _ATOM_ID.search(entry), _ATOM_UPDATED.search(entry)
        if identity is not None and updated is not None:
            found[identity[1], updated[1]] = EntryXml(entry, item)
    return found
