"""Everything a build publishes, by path relative to the output folder.

Atom and RSS documents (with their archive pages), a JSON Feed beside each, the OPML
subscription list, the front page, its icon and the stylesheet that shows feeds in a
browser.  Documents are made one at a time, so they are written as they come and memory
does not grow with the archive; a document the previous build wrote the same is taken
from it (:mod:`feeds.rendercache`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from feeds.config import Config
from feeds.entries import EntryStore
from feeds.jsonfeed import json_name, render_json
from feeds.opml import render_opml
from feeds.plan import FeedPlan, FeedSpec
from feeds.render import (
    FORMATS,
    STYLESHEET,
    distinct_updates,
    document_entries,
    file_name,
    render_document,
)
from feeds.rendercache import DocumentKeys, Manifest, reusable
from feeds.site import favicon, render_index, stylesheet

INDEX = "index.html"
OPML = "feeds.opml"
FAVICON = "favicon.ico"


@dataclass(frozen=True, slots=True)
class Document:
    """One file of a build: bytes to write, or the previous build's identical file.

    ``key`` identifies what a feed document is made from (:mod:`feeds.rendercache`);
    the few small files made from the whole plan have none and are always made anew."""

    path: str
    content: bytes | Path
    key: bytes | None = None


def pages(spec: FeedSpec) -> list[int | None]:
    """A feed's documents: the subscription document (``None``), then archive pages 1..n."""
    return [None, *range(1, len(spec.archives) + 1)]


def feed_documents(plan: FeedPlan) -> list[tuple[FeedSpec, int | None]]:
    """Every feed document, those with the newest entries first, across feeds: documents
    that list the same articles then come close together (see :mod:`feeds.entries`)."""
    documents = [(spec, page) for spec in plan.feeds for page in pages(spec)]

    def newest(document: tuple[FeedSpec, int | None]) -> float:
        entries = document_entries(*document)
        return -entries[0].published.timestamp() if entries else 0.0

    return sorted(documents, key=newest)  # stable: ties keep the plan's order


def shares(
    documents: list[tuple[FeedSpec, int | None]], count: int
) -> list[list[tuple[FeedSpec, int | None]]]:
    """``documents`` cut into ``count`` runs of about as many entries each.  Runs of
    neighbouring documents list mostly the same articles, so each process renders an
    article about once."""
    total = sum(len(document_entries(*d)) + 1 for d in documents)
    runs: list[list[tuple[FeedSpec, int | None]]] = [[] for _ in range(count)]
    done = 0
    for document in documents:
        runs[min(count - 1, done * count // max(total, 1))].append(document)
        done += len(document_entries(*document)) + 1
    return runs


def publish_feeds(
    documents: list[tuple[FeedSpec, int | None]],
    plan: FeedPlan,
    config: Config,
    previous: Manifest | None = None,
    entry_digests: Mapping[str, bytes] | None = None,
) -> Iterator[Document]:
    """The files of ``documents``.  With ``previous`` (the record of the last build into
    ``config.output``), documents that would come out the same are reused; ``entry_digests``
    are those known (:func:`feeds.rendercache.entry_digests`)."""
    previous = previous or {}
    keys = DocumentKeys(plan.articles, config, entry_digests)
    store = EntryStore(plan.articles)
    for spec, page in documents:
        entries = document_entries(spec, page)
        stamps = distinct_updates(entries)
        key = keys.document(spec, page, entries, stamps)
        names = [file_name(spec, fmt, page) for fmt in FORMATS] + [json_name(spec, page)]
        old = reusable(previous, config.output, names, key)
        if old is not None:
            yield from (Document(name, path, key) for name, path in zip(names, old, strict=True))
            continue
        xml = store.xml(entries, stamps)
        for fmt, document in render_document(spec, config, page, xml).items():
            yield Document(file_name(spec, fmt, page), document, key)
        items = store.json(entries)
        yield Document(json_name(spec, page), render_json(spec, config, page, items), key)


def publish_site(plan: FeedPlan, config: Config) -> Iterator[Document]:
    """The files made from the whole plan: the subscription list, front page and its parts."""
    yield Document(OPML, render_opml(plan, config))
    yield Document(INDEX, render_index(plan, config))
    yield Document(STYLESHEET, stylesheet())
    yield Document(FAVICON, favicon())


def publish(plan: FeedPlan, config: Config, previous: Manifest | None = None) -> Iterator[Document]:
    """Every file of a build, made in one process."""
    yield from publish_feeds(feed_documents(plan), plan, config, previous)
    yield from publish_site(plan, config)
