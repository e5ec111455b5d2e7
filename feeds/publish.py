"""Everything a build publishes, by path relative to the output folder.

Atom and RSS documents (with their archive pages), a JSON Feed beside each, the OPML
subscription list, the front page, its icon and the stylesheet that shows feeds in a
browser.  Documents are made one at a time, so they are written as they come and memory
does not grow with the archive; a document the previous build wrote the same is taken
from it (:mod:`feeds.rendercache`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from feeds.articles import Article
from feeds.config import Config
from feeds.earlier import EarlierEntries, document_names
from feeds.entries import EntryStore
from feeds.jsonfeed import json_name, render_json
from feeds.keys import DIGEST_SIZE, DocumentKeys, settings_key
from feeds.knownkeys import KnownKeys
from feeds.opml import render_opml
from feeds.output import OUTPUT_MARK
from feeds.plan import FeedPlan, FeedSpec
from feeds.render import (
    STYLESHEET,
    distinct_updates,
    document_entries,
    file_name,
    render_document,
)
from feeds.rendercache import Manifest, still_there
from feeds.site import favicon, render_index, stylesheet

INDEX = "index.html"
OPML = OUTPUT_MARK  # what tells an output of feeds apart (see feeds.output.check_replaceable)
FAVICON = "favicon.ico"


@dataclass(frozen=True, slots=True)
class Document:
    """One file of a build: bytes to write, or the previous build's identical file.

    ``key`` identifies what a feed document, or the front page and subscription list
    (:func:`site_key`), is made from (:mod:`feeds.rendercache`); the stylesheet and icon
    have none and are always made anew."""

    path: str
    content: bytes | Path
    key: bytes | None = None


@dataclass(frozen=True, slots=True)
class FeedDocument:
    """A feed's subscription document (``page`` is ``None``) or one of its archive pages,
    in every format, with the key of what it is made from (:mod:`feeds.rendercache`)."""

    spec: FeedSpec
    page: int | None
    key: bytes

    @property
    def entries(self) -> tuple[Article, ...]:
        return document_entries(self.spec, self.page)

    @property
    def names(self) -> list[str]:
        """Its files: one per XML format, then the JSON Feed."""
        return document_names(self.spec, self.page)


def pages(spec: FeedSpec) -> list[int | None]:
    """A feed's documents: the subscription document (``None``), then archive pages 1..n."""
    return [None, *range(1, len(spec.archives) + 1)]


def feed_documents(
    plan: FeedPlan,
    config: Config,
    entry_digests: Mapping[str, bytes] | None = None,
    known: KnownKeys | None = None,
) -> list[FeedDocument]:
    """Every feed document with its key, feed by feed as planned.  ``entry_digests`` are
    those known (:func:`feeds.keys.entry_digests`): without ``known``, every document's
    key is worked out from them, each asked for from a dict made for that alone."""
    keys = DocumentKeys(plan.articles, config, entry_digests, every=known is None)

    def key(spec: FeedSpec, page: int | None) -> bytes:
        found = None if known is None else known.key(spec, page)
        return found or keys.document(spec, page, document_entries(spec, page))

    return [
        FeedDocument(spec, page, key(spec, page)) for spec in plan.feeds for page in pages(spec)
    ]


def in_rendering_order(documents: Iterable[FeedDocument]) -> list[FeedDocument]:
    """``documents`` across feeds, newest first by the date of each one's middle entry:
    documents that list the same articles then come close together, and so does a page of
    a sparse feed, whose entries span months, with the pages of the busy feeds that list
    most of them (see :mod:`feeds.entries`).  Of the entries a cold build of the 10k bench
    corpus renders in one process, 18% are rendered again when documents come by their
    newest entry, 11% by their middle one.  Only the documents to render are put in this
    order: sorting the 77,485 documents of 100,000 records took 62-67 ms of a build that
    changed one."""

    def middle(document: FeedDocument) -> float:
        entries = document.entries
        return -entries[len(entries) // 2].published.timestamp() if entries else 0.0

    return sorted(documents, key=middle)  # stable: ties keep the plan's order


def reused(
    names: Sequence[str], key: bytes, previous: Manifest, output: Path
) -> list[Document] | None:
    """The files ``names`` of the document of ``key`` as the previous build wrote them into
    ``output``, when they hold exactly what it would be now; else ``None``."""
    if not still_there(previous, output, names, key):
        return None
    return [Document(name, output / name, key) for name in names]


def render_feeds(
    documents: Iterable[FeedDocument],
    articles: Mapping[str, Article],
    config: Config,
    earlier: EarlierEntries | None = None,
    store: EntryStore | None = None,
) -> Iterator[Document]:
    """The files of ``documents``, rendered; each entry is rendered once for all of them
    (``store``, a new one by default; one given keeps what it rendered before), and not at
    all when the last build wrote it the same in the document's files (``earlier``).
    ``articles`` hold at least the related articles of their entries."""
    if store is None:
        store = EntryStore(articles, aside=True, aside_folder=config.cache)
    else:
        store.articles = articles
    for document in documents:
        spec, page, key = document.spec, document.page, document.key
        entries = document.entries
        stamps = distinct_updates(entries)
        if earlier is not None:
            earlier.lend(store, spec, page, entries, stamps)
        xml = store.xml(entries, stamps)
        for fmt, content in render_document(spec, config, page, xml).items():
            yield Document(file_name(spec, fmt, page), content, key)
        items = store.json(entries)
        store.made(entries, stamps)
        yield Document(json_name(spec, page), render_json(spec, config, page, items), key)


# The files that show every feed: what each shows of a feed is in :func:`site_key`.
SITE_PAGES = (OPML, INDEX)


def site_key(plan: FeedPlan, config: Config) -> bytes:
    """The key of :data:`SITE_PAGES`: what they show of each feed, in order (its kind, key,
    name, path, size and dates), with the settings and the code.  A build that changed a
    few records mostly leaves these as they were, and making them took about 0.14 s of a
    build that changed one record of 10,000 (421 feeds)."""
    hasher = hashlib.blake2b(settings_key(config), digest_size=DIGEST_SIZE)
    for spec in plan.feeds:
        newest, updated = spec.newest, spec.updated
        shown = (
            spec.kind.value,
            spec.key,
            spec.name,
            spec.path,
            spec.total,
            None if newest is None else newest.isoformat(),
            None if updated is None else updated.isoformat(),
        )
        hasher.update(repr(shown).encode())
    return hasher.digest()


def publish_site(plan: FeedPlan, config: Config, key: bytes | None = None) -> Iterator[Document]:
    """The files made from the whole plan: the subscription list and front page, under
    ``key`` (:func:`site_key`), then the stylesheet and icon, which have no key: the code
    fingerprint does not cover them, and they are small, so they are written every build."""
    yield Document(OPML, render_opml(plan, config), key)
    yield Document(INDEX, render_index(plan, config), key)
    yield from publish_assets()


def publish_assets() -> Iterator[Document]:
    """The stylesheet and icon: the same for every plan."""
    yield Document(STYLESHEET, stylesheet())
    yield Document(FAVICON, favicon())


def publish(plan: FeedPlan, config: Config, previous: Manifest | None = None) -> Iterator[Document]:
    """Every file of a build, made in one process; with ``previous`` (the record of the last
    build into ``config.output``), documents that would come out the same are reused."""
    fresh = []
    for document in feed_documents(plan, config):
        files = reused(document.names, document.key, previous or {}, config.output)
        if files is None:
            fresh.append(document)
        else:
            yield from files
    yield from render_feeds(in_rendering_order(fresh), plan.articles, config)
    yield from publish_site(plan, config)
