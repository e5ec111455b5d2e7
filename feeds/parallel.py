"""Rendering and writing a build's documents on every core.

Documents are cut into runs of neighbouring dates (:func:`feeds.publish.shares`), one per
core; forked processes render theirs straight into the staging folder, so nothing but the
document keys travels back.  What the workers need (plan, settings, the last build's record)
is inherited through ``fork``, not pickled.  Small builds, or machines with one core, stay
in one process: starting a worker costs more than it saves.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from feeds.config import Config
from feeds.output import Staging
from feeds.plan import FeedPlan
from feeds.progress import Progress, Quiet
from feeds.publish import feed_documents, publish_feeds, publish_site, shares
from feeds.render import document_entries
from feeds.rendercache import Manifest
from feeds.workers import cores

# Entries (counted once per document listing them) below which one process is faster.
PARALLEL_MIN_ENTRIES = 5_000

_inherited: dict[str, Any] = {}


def write_documents(
    staging: Staging,
    plan: FeedPlan,
    config: Config,
    previous: Manifest,
    *,
    entry_digests: Mapping[str, bytes] | None = None,
    jobs: int | None = None,
    min_entries: int = PARALLEL_MIN_ENTRIES,
    progress: Progress | None = None,
) -> dict[str, bytes]:
    """Write every file of ``plan`` into ``staging`` with ``jobs`` processes [default: one
    per core, when there are ``min_entries``]; the paths written, each with its document
    key (empty for the few files made from the whole plan).  ``entry_digests``: those
    known (:func:`feeds.rendercache.entry_digests`)."""
    progress = progress or Quiet()
    documents = feed_documents(plan)
    entries = sum(len(document_entries(*d)) for d in documents)
    jobs = jobs or cores()
    if entries < min_entries or "fork" not in multiprocessing.get_all_start_methods():
        jobs = 1
    runs = shares(documents, jobs)
    _inherited.update(
        staging=staging,
        runs=runs,
        plan=plan,
        config=config,
        previous=previous,
        entry_digests=entry_digests,
    )
    # Progress counts feed documents; this process reports its own run as it goes, and
    # each worker's when it is done.
    progress.start(f"Writing {len(documents)} feed documents", len(documents))
    try:
        if jobs == 1:
            keys = _write_run(0, progress)
        else:
            context = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(jobs - 1, mp_context=context) as pool:
                others = [pool.submit(_write_run, index) for index in range(1, jobs)]
                keys = _write_run(0, progress)
                for index, future in enumerate(others, start=1):
                    keys.extend(future.result())
                    progress.advance(len(runs[index]))
    finally:
        _inherited.clear()
        progress.finish()
    written = dict(keys)
    for document in publish_site(plan, config):
        staging.write(document.path, document.content)
        written[document.path] = document.key or b""
    return written


def _write_run(index: int, progress: Progress | None = None) -> list[tuple[str, bytes]]:
    staging: Staging = _inherited["staging"]
    keys = []
    last = None
    for document in publish_feeds(
        _inherited["runs"][index],
        _inherited["plan"],
        _inherited["config"],
        _inherited["previous"],
        _inherited["entry_digests"],
    ):
        staging.write(document.path, document.content)
        keys.append((document.path, document.key or b""))
        if progress is not None and document.key != last:
            progress.advance()  # a feed document's files come together, under one key
            last = document.key
    return keys
