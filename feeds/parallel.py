"""Rendering and writing a build's documents on every core.

The key of every document is worked out first.  A document the staging folder already holds
the same (it is the output of the build before last, :mod:`feeds.output`) is kept there; one
the last build wrote the same is linked from its output (:mod:`feeds.rendercache`).  Those
left to render are taken from both ends of their order (newest first across feeds, by
each one's middle entry, so neighbours list mostly the same articles: see
:func:`feeds.publish.in_rendering_order`): this process renders from the newest, and a
worker process per other core from the oldest, until they meet, so whichever is faster
renders more.  A worker is sent a few documents at a time, each batch with the articles it
shows (:class:`Shipment`), and renders them straight into the staging folder: only paths
travel back.  The workers are fresh processes (``spawn``), not forked from this one: a
fork would hold the whole article graph too, doubling the memory of the process tree for
the little of it a worker needs at a time.  Nor are they forked from a ``forkserver``,
which stays beside them while they render, holding 32 MB of its own: cold builds of the
10k bench corpus peaked at 413-414 MB with one and at 389-391 MB without, in the same
time (two builds each).  When there is little to render (a build after a few records
changed), or one core, it all stays in one process: starting a worker costs more than it
saves.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import threading
from collections import deque
from collections.abc import Collection, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from feeds.articles import (
    Article,
    from_plain_values,
    plain_values,
    plain_values_as_related,
    related_shown,
)
from feeds.cache import PackedStat
from feeds.config import Config
from feeds.earlier import EarlierEntries
from feeds.entries import EntryStore
from feeds.knownkeys import KnownKeys
from feeds.output import Staging
from feeds.plan import FeedKind, FeedPlan, FeedSpec
from feeds.progress import Progress, Quiet
from feeds.publish import (
    SITE_PAGES,
    Document,
    FeedDocument,
    feed_documents,
    in_rendering_order,
    publish_assets,
    publish_site,
    render_feeds,
    reused,
    site_key,
)
from feeds.rendercache import Manifest, StatedAhead, still_there
from feeds.workers import cores, follow

# Entries to render (counted once per document listing them) below which one process is
# faster.
PARALLEL_MIN_ENTRIES = 5_000
# What an entry taken from the last build's files counts for, against one rendered: its
# document's files are read and written again.  Estimated from builds that added 100
# records to 10,000 (22-29 s, of which about 2 s rendering 5,500 entries at about 0.4 ms
# each, and 260,000 entries lent): some 75 us each, a fifth.  But sent to a worker, an
# entry lent costs about as much again: it goes with its article and the related articles
# it shows, in case it must be rendered.  After one title changed in 10,000 records citing
# about ten, 503 documents were made again, listing 26,305 entries of which 25,787 were
# lent: with a worker such builds took 3.34 s (3.30-3.54) and 4.70 s of processor time,
# in one process 3.24 s (3.00-3.45) and 3.31 s (three of each, alternated).
LENT_SHARE = 0.1
# What a worker process wrote of one shipment: the path and key of each file, the digest
# of each file's content by path (see :attr:`feeds.output.Staging.digests`), and the
# paths of those it linked from the output in place (:attr:`feeds.output.Staging.linked`);
# and of all its shipments, the same and how many documents.
Shipped = tuple[list[tuple[str, bytes]], dict[str, bytes], list[str]]
Rendered = tuple[list[tuple[str, bytes]], dict[str, bytes], list[str], int]

# Entries (counted once per document) a worker is sent at a time, and how many such batches
# may be on their way to it: enough to keep it busy, few enough that neither process holds
# much of its run at once.
BATCH_ENTRIES = 10_000
MIN_BATCH_ENTRIES = 500
IN_FLIGHT = 2


def write_documents(
    staging: Staging,
    plan: FeedPlan,
    config: Config,
    previous: Manifest,
    *,
    entry_digests: Mapping[str, bytes] | None = None,
    earlier: EarlierEntries | None = None,
    known: KnownKeys | None = None,
    before_last: Manifest | None = None,
    stated: StatedAhead | None = None,
    jobs: int | None = None,
    min_entries: int | None = None,
    progress: Progress | None = None,
) -> dict[str, bytes]:
    """Write every file of ``plan`` into ``staging`` with ``jobs`` processes [default: one
    per core, when there are ``min_entries`` to render, by default
    :data:`PARALLEL_MIN_ENTRIES`]; the paths written, each with its
    document key (empty for the stylesheet and icon).  ``previous`` is the
    record of the last build (its files are linked where they would come out the same,
    and ``earlier`` lends the entries they hold the same to the documents rendered again);
    ``before_last``, that of the files the staging folder starts with (``staging.existing``),
    which ``stated`` may have found with their stat data as recorded already;
    ``entry_digests`` are those known (:func:`feeds.keys.entry_digests`), and so are
    the keys of the documents ``known`` knows.  The digest of what each file written as
    bytes holds goes to ``staging.digests``, from every process."""
    progress = progress or Quiet()
    documents = feed_documents(plan, config, entry_digests, known)
    # Progress counts feed documents; this process reports its own as it goes, and each
    # worker's when it is done.
    progress.start(f"Writing {len(documents)} feed documents", len(documents))
    linked: list[list[Document]] = []
    fresh: list[FeedDocument] = []
    kept = before_last if staging.existing else {}
    written: dict[str, bytes] = {}

    def found(names: list[str], key: bytes) -> list[Document] | None:
        """The files ``names`` of ``key`` as an earlier output holds them the same: none
        when the staging folder keeps them (they are counted as written), the last
        build's to link when it has them; ``None`` when they must be made."""
        # One copy on disk for both outputs where they hold the same file: kept when it is
        # the very file the output in place holds, else linked from there.
        restated: list[str] = []
        if kept and still_there(
            kept,
            staging.folder,
            names,
            key,
            shared_with=previous,
            restated=restated,
            stated=stated,
        ):
            return _kept(staging, names, key, written, restated)
        if (files := reused(names, key, previous, config.output)) is not None:
            return files
        restated.clear()
        if kept and still_there(kept, staging.folder, names, key, restated=restated, stated=stated):
            return _kept(staging, names, key, written, restated)
        return None

    for document in documents:
        files = found(document.names, document.key)
        if files is None:
            fresh.append(document)
        elif files:
            linked.append(files)
        else:
            progress.advance()
    entries = _work(fresh, earlier)
    jobs = jobs or cores()
    if min_entries is None:
        min_entries = PARALLEL_MIN_ENTRIES
    if entries < min_entries:
        jobs = 1
    queue = _Queue(in_rendering_order(fresh))
    try:
        with contextlib.ExitStack() as stack:
            elsewhere = _start_workers(
                stack,
                jobs - 1,
                queue,
                plan.articles,
                staging=staging,
                config=config,
                earlier=earlier,
            )
            _link(staging, linked, written, progress)
            render = render_feeds(queue.newest(), plan.articles, config, earlier)
            written.update(_write(staging, render, progress))
            for done in elsewhere:
                theirs, digests, their_links, count = done.result()
                written.update(theirs)
                staging.digests.update(digests)
                staging.linked.update(their_links)
                progress.advance(count)
    finally:
        progress.finish()
    site = site_key(plan, config)
    pages = found(list(SITE_PAGES), site)
    site_files = publish_site(plan, config, site) if pages is None else [*pages, *publish_assets()]
    for site_file in site_files:
        staging.write(site_file.path, site_file.content)
        written[site_file.path] = site_file.key or b""
    staging.finish(written)
    return written


def _work(documents: Sequence[FeedDocument], earlier: EarlierEntries | None) -> int:
    """What making ``documents`` costs, in entries rendered by feedgen (counted once per
    document listing them): an entry ``earlier`` lends counts for :data:`LENT_SHARE` of one.

    After one record changed at 100,000 records, 124 documents were made again; they listed
    6,248 entries, of which 124 could not be lent.  Counted whole, that was more than
    :data:`PARALLEL_MIN_ENTRIES`, and starting a worker (then sent what ``earlier`` knew
    of every article) made such builds take 21.8-25.1 s, against 18.3-19.9 s in one
    process.  After 100 records were added to 10,000, about 5,500 could not be lent and
    260,000 could: that work is worth a worker."""
    if earlier is None:
        return sum(len(document.entries) for document in documents)
    lends = earlier.lends
    listed = lent = 0
    for document in documents:
        listed += len(document.entries)
        lent += sum(map(lends, map(_KEY, document.entries)))
    return listed - lent + int(lent * LENT_SHARE)


_KEY = attrgetter("key")


def _kept(
    staging: Staging,
    names: list[str],
    key: bytes,
    written: dict[str, bytes],
    restated: Collection[str] = (),
) -> list[Document]:
    """Keep the files ``names`` of ``key`` as the staging folder holds them (those
    ``restated`` with stat data other than that recorded); none to write."""
    for name in names:
        staging.keep(name, restated=name in restated)
        written[name] = key
    return []


def _link(
    staging: Staging, linked: list[list[Document]], written: dict[str, bytes], progress: Progress
) -> None:
    """Link the previous build's files of the documents ``linked`` into ``staging``."""
    for files in linked:
        for file in files:
            staging.write(file.path, file.content)
            written[file.path] = file.key or b""
        progress.advance()


def _write(
    staging: Staging, files: Iterator[Document], progress: Progress | None = None
) -> list[tuple[str, bytes]]:
    """Write ``files`` into ``staging``; their paths and keys."""
    written = []
    last = None
    for file in files:
        staging.write(file.path, file.content)
        written.append((file.path, file.key or b""))
        if progress is not None and file.key != last:
            progress.advance()  # a feed document's files come together, under one key
            last = file.key
    return written


class _Queue:
    """Documents to render, taken from both ends: this process takes the newest one at a
    time, workers the oldest a batch at a time."""

    def __init__(self, documents: Sequence[FeedDocument]) -> None:
        self._documents = documents
        self._newest = 0
        self._oldest = len(documents)  # past the last one not taken
        self._entries = sum(len(document.entries) + 1 for document in documents)  # left
        self._lock = threading.Lock()

    def newest(self) -> Iterator[FeedDocument]:
        while True:
            with self._lock:
                if self._newest >= self._oldest:
                    return
                document = self._documents[self._newest]
                self._newest += 1
                self._entries -= len(document.entries) + 1
            yield document

    def oldest(self) -> list[FeedDocument]:
        """The oldest documents left, in order, about :data:`BATCH_ENTRIES` entries of them
        (fewer towards the end, so that no one waits long for the last batch)."""
        with self._lock:
            wanted = max(MIN_BATCH_ENTRIES, min(BATCH_ENTRIES, self._entries // 8))
            start, size = self._oldest, 0
            while start > self._newest and size < wanted:
                start -= 1
                size += len(self._documents[start].entries) + 1
            batch = list(self._documents[start : self._oldest])
            self._oldest = start
            self._entries -= size
        return batch


def _start_workers(
    stack: contextlib.ExitStack,
    count: int,
    queue: _Queue,
    articles: Mapping[str, Article],
    *,
    staging: Staging,
    config: Config,
    earlier: EarlierEntries | None,
) -> list[Future[Rendered]]:
    """Have ``count`` worker processes render documents of ``queue``; what each will have
    written (see :data:`Rendered`).  ``stack`` stops them, and the threads that feed
    them, when it closes."""
    if count < 1:
        return []
    context = multiprocessing.get_context("spawn")
    # Each worker is told with each batch which of its entries the last build's files lend.
    lender = None if earlier is None else earlier.for_workers()
    workers = [
        stack.enter_context(
            ProcessPoolExecutor(
                1,
                context,
                initializer=_start_worker,
                initargs=(staging, config, lender, os.getpid()),
            )
        )
        for _ in range(count)
    ]
    # A worker process starts with the first task sent to it, which pickles what it starts
    # from: sent from here, before this process renders.  Started by the first batch, from
    # a feeding thread, pickling the staging folder and the earlier entries raced with this
    # process adding to them: "OrderedDict mutated during iteration", once in a build after
    # 100 records were added to 10,000.
    for worker in workers:
        worker.submit(_ready)
    feeders = stack.enter_context(ThreadPoolExecutor(count))
    stop = threading.Event()
    stack.callback(stop.set)  # first thing on the way out: the feeders send no more
    return [
        feeders.submit(_feed, worker, queue, articles, earlier, stop, in_place=staging.in_place)
        for worker in workers
    ]


def _feed(
    worker: ProcessPoolExecutor,
    queue: _Queue,
    articles: Mapping[str, Article],
    earlier: EarlierEntries | None,
    stop: threading.Event,
    *,
    in_place: Manifest,
) -> Rendered:
    """Send ``worker`` batches of the oldest documents left, a few at a time, until none
    are left; what it wrote."""
    written: list[tuple[str, bytes]] = []
    digests: dict[str, bytes] = {}
    linked: list[str] = []
    pending: deque[Future[Shipped]] = deque()
    documents = 0

    def received(done: Future[Shipped]) -> None:
        files, their_digests, their_links = done.result()
        written.extend(files)
        digests.update(their_digests)
        linked.extend(their_links)

    while not stop.is_set() and (batch := queue.oldest()):
        if len(pending) >= IN_FLIGHT:
            received(pending.popleft())
        shipment = Shipment.of(batch, articles, earlier, in_place)
        pending.append(worker.submit(_render_shipment, shipment))
        documents += len(batch)
    for done in pending:
        received(done)
    return written, digests, linked, documents


@dataclass(frozen=True, slots=True)
class Shipment:
    """Feed documents for a worker to render, with the articles they show as plain values:
    a feed's spec names every article of the feed, and pickling articles field by field is
    slow.  Their entries are sent whole, and the related articles those list only as far as
    an entry shows them (:func:`feeds.articles.plain_values_as_related`).  ``lendable``
    are the keys of the entries that the last build's files lend (see
    :meth:`EarlierEntries.lending`); ``in_place``, what the record of the output in place
    says of the documents' files (see :attr:`feeds.output.Staging.in_place`)."""

    # Per document: its feed's kind, key, name, path, entry count and number of archive
    # pages; the page; its key; the keys of its entries.
    documents: tuple[
        tuple[FeedKind, str, str, str, int, int, int | None, bytes, tuple[str, ...]], ...
    ]
    articles: tuple[tuple[Any, ...], ...]
    lendable: frozenset[str] = frozenset()
    in_place: tuple[tuple[str, tuple[bytes, PackedStat, bytes]], ...] = ()

    @classmethod
    def of(
        cls,
        documents: Sequence[FeedDocument],
        articles: Mapping[str, Article],
        earlier: EarlierEntries | None = None,
        in_place: Manifest | None = None,
    ) -> Shipment:
        listed = {article.key: article for d in documents for article in d.entries}
        shown = {key: plain_values(article) for key, article in listed.items()}
        for article in listed.values():
            for key in related_shown(article, articles):
                if key not in shown:
                    shown[key] = plain_values_as_related(articles[key])
        return cls(
            tuple(
                (
                    d.spec.kind,
                    d.spec.key,
                    d.spec.name,
                    d.spec.path,
                    d.spec.total,
                    len(d.spec.archives),
                    d.page,
                    d.key,
                    tuple(article.key for article in d.entries),
                )
                for d in documents
            ),
            tuple(shown.values()),
            frozenset() if earlier is None else earlier.lendable_among(listed),
            ()
            if not in_place
            else tuple(
                (name, known)
                for d in documents
                for name in d.names
                if (known := in_place.get(name)) is not None
            ),
        )

    def opened(self) -> tuple[list[FeedDocument], dict[str, Article]]:
        """The documents, each with a spec that holds its own entries only (with as many
        archive pages as the feed has: all a document shows of the others), and the
        articles."""
        articles = {article.key: article for article in from_plain_values(self.articles)}
        documents = []
        for kind, key, name, path, total, pages, page, document_key, keys in self.documents:
            entries = tuple(articles[entry] for entry in keys)
            archives = tuple(entries if index + 1 == page else () for index in range(pages))
            spec = FeedSpec(kind, key, name, path, entries if page is None else (), total, archives)
            documents.append(FeedDocument(spec, page, document_key))
        return documents, articles


# A worker's own state: set when it starts, kept from one shipment to the next.
_WORKER: dict[str, Any] = {}


def _start_worker(
    staging: Staging, config: Config, earlier: EarlierEntries | None, parent: int
) -> None:
    follow(parent)
    store = EntryStore({}, aside=True, aside_folder=config.cache)
    _WORKER.update(staging=staging, config=config, earlier=earlier, store=store)


def _ready() -> None:
    """Nothing: the first task a worker is sent, so that it starts from the calling thread."""


def _render_shipment(shipment: Shipment) -> Shipped:
    """The paths and keys of the files written, the digests of their content, and those
    linked from the output in place."""
    documents, articles = shipment.opened()
    store: EntryStore = _WORKER["store"]  # kept from one shipment to the next
    staging: Staging = _WORKER["staging"]
    earlier: EarlierEntries | None = _WORKER["earlier"]
    if earlier is not None:
        earlier = earlier.lending(shipment.lendable)
    staging.in_place = dict(shipment.in_place)
    files = render_feeds(documents, articles, _WORKER["config"], earlier, store)
    written = _write(staging, files)
    linked = list(staging.linked)  # this shipment's only: cleared after each
    staging.linked.clear()
    return written, {path: staging.digests.pop(path) for path, _ in written}, linked
