"""Rendering and writing a build's documents on every core.

The key of every document is worked out first.  A document the staging folder already holds
the same (it is the output of the build before last, :mod:`feeds.output`) is kept there; one
the last build wrote the same is linked from its output (:mod:`feeds.rendercache`).  Those
left to render are cut into runs of neighbouring dates (:func:`feeds.publish.shares`), one
per core; forked processes render theirs straight into the staging folder, so nothing but
the paths travels back.  What the workers need (plan, settings) is inherited through
``fork``, not pickled.  When there is little to render (a build after a few records
changed), or one core, it all stays in one process: starting a worker costs more than it
saves.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from feeds.config import Config
from feeds.earlier import EarlierEntries
from feeds.output import Staging
from feeds.plan import FeedPlan
from feeds.progress import Progress, Quiet
from feeds.publish import (
    Document,
    FeedDocument,
    feed_documents,
    publish_site,
    render_feeds,
    reused,
    shares,
)
from feeds.rendercache import Manifest, still_there
from feeds.workers import cores

# Entries to render (counted once per document listing them) below which one process is
# faster.
PARALLEL_MIN_ENTRIES = 5_000

_inherited: dict[str, Any] = {}


def write_documents(
    staging: Staging,
    plan: FeedPlan,
    config: Config,
    previous: Manifest,
    *,
    entry_digests: Mapping[str, bytes] | None = None,
    earlier: EarlierEntries | None = None,
    before_last: Manifest | None = None,
    jobs: int | None = None,
    min_entries: int = PARALLEL_MIN_ENTRIES,
    progress: Progress | None = None,
) -> dict[str, bytes]:
    """Write every file of ``plan`` into ``staging`` with ``jobs`` processes [default: one
    per core, when there are ``min_entries`` to render]; the paths written, each with its
    document key (empty for the few files made from the whole plan).  ``previous`` is the
    record of the last build (its files are linked where they would come out the same,
    and ``earlier`` lends the entries they hold the same to the documents rendered again);
    ``before_last``, that of the files the staging folder starts with (``staging.existing``);
    ``entry_digests`` are those known (:func:`feeds.rendercache.entry_digests`)."""
    progress = progress or Quiet()
    documents = feed_documents(plan, config, entry_digests)
    # Progress counts feed documents; this process reports its own as it goes, and each
    # worker's when it is done.
    progress.start(f"Writing {len(documents)} feed documents", len(documents))
    linked: list[list[Document]] = []
    fresh: list[FeedDocument] = []
    kept = before_last if staging.existing else {}
    written: dict[str, bytes] = {}

    def keep(document: FeedDocument) -> None:
        for name in document.names:
            staging.keep(name)
            written[name] = document.key
        progress.advance()

    for document in documents:
        names, key = document.names, document.key
        # One copy on disk for both outputs where they hold the same file: kept when it is
        # the very file the output in place holds, else linked from there.
        if kept and still_there(kept, staging.folder, names, key, shared_with=previous):
            keep(document)
        elif (files := reused(document, previous, config.output)) is not None:
            linked.append(files)
        elif kept and still_there(kept, staging.folder, names, key):
            keep(document)
        else:
            fresh.append(document)
    entries = sum(len(document.entries) for document in fresh)
    jobs = jobs or cores()
    if entries < min_entries or "fork" not in multiprocessing.get_all_start_methods():
        jobs = 1
    runs = shares(fresh, jobs)
    _inherited.update(staging=staging, runs=runs, plan=plan, config=config, earlier=earlier)
    try:
        if jobs == 1:
            _link(staging, linked, written, progress)
            written.update(_write_run(0, progress))
        else:
            context = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(jobs - 1, mp_context=context) as pool:
                others = [pool.submit(_write_run, index) for index in range(1, jobs)]
                _link(staging, linked, written, progress)
                written.update(_write_run(0, progress))
                for index, future in enumerate(others, start=1):
                    written.update(future.result())
                    progress.advance(len(runs[index]))
    finally:
        _inherited.clear()
        progress.finish()
    for site_file in publish_site(plan, config):
        staging.write(site_file.path, site_file.content)
        written[site_file.path] = site_file.key or b""
    staging.finish(written)
    return written


def _link(
    staging: Staging, linked: list[list[Document]], written: dict[str, bytes], progress: Progress
) -> None:
    """Link the previous build's files of the documents ``linked`` into ``staging``."""
    for files in linked:
        for file in files:
            staging.write(file.path, file.content)
            written[file.path] = file.key or b""
        progress.advance()


def _write_run(index: int, progress: Progress | None = None) -> list[tuple[str, bytes]]:
    staging: Staging = _inherited["staging"]
    written = []
    last = None
    run, plan, config, earlier = (_inherited[k] for k in ("runs", "plan", "config", "earlier"))
    for file in render_feeds(run[index], plan, config, earlier):
        staging.write(file.path, file.content)
        written.append((file.path, file.key or b""))
        if progress is not None and file.key != last:
            progress.advance()  # a feed document's files come together, under one key
            last = file.key
    return written
