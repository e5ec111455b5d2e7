"""The library API behind the command line: validate records, build feeds.

Data flows one way: files → records → validated articles → feed plan → rendered files.
Each file is checked once per content: its result is cached (:mod:`feeds.cache`) and holds
only what later stages need (:class:`feeds.scan.FileResult`).
"""

from __future__ import annotations

import contextlib
import functools
import gc
import hashlib
import os
from collections.abc import Callable, Iterator, Mapping, Sequence, Set
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from feeds.checks import moment
from feeds.config import Config
from feeds.diagnostics import Diagnostic, Severity, sort_key
from feeds.progress import Progress
from feeds.records import (
    KnownPlaces,
    Loaded,
    Locator,
    NamedFiles,
    discover,
    discover_names,
    display_names,
    display_path,
    labels_of,
)
from feeds.schema import Schema, load_schema, schema_key

if TYPE_CHECKING:
    from feeds.articles import Article
    from feeds.cache import Cache
    from feeds.graphcache import GraphState
    from feeds.output import Keep, Staging
    from feeds.plan import FeedPlan, NewestFirst
    from feeds.rendercache import LastBuild, Manifest, StatedAhead
    from feeds.scan import FileResult
    from feeds.texts import SpilledTexts
    from feeds.uptodate import Looked, Snapshot
    from feeds.workers import ForkedCheck

# What the builds of this process made, kept to its end when it ends without freeing it
# (see :func:`leave_to_exit`); ``None`` when builds free what they made as they return.
_LEFT_TO_EXIT: list[object] | None = None

# Validating fewer files than this (pre-commit passes a handful) skips the cache: opening it
# costs more than it saves.
VALIDATE_CACHE_MIN_FILES = 50

# Files of the last build's output from which a build that may have nothing to do checks
# them in a forked copy of itself (:func:`_output_check`), and files of the output before
# last from which a build that writes states them in one (:func:`_stated_ahead`): a fork
# takes a few milliseconds, about what a thousand stat calls take.
FORKED_CHECK_MIN_FILES = 2_000


class SourceError(Exception):
    """The folder of records is missing or cannot be read; nothing was published.

    A build from it would publish feeds without a single article and so replace everything
    published before: a mistyped folder name must never do that."""


@dataclass(frozen=True)
class CheckedFile:
    """A file with every problem found in it; ``readable`` when it could be read as a record."""

    file: str
    diagnostics: tuple[Diagnostic, ...]
    readable: bool

    @property
    def valid(self) -> bool:
        return self.readable and not (
            self.diagnostics and any(d.severity is Severity.ERROR for d in self.diagnostics)
        )

    @property
    def loaded(self) -> Loaded:
        """The file and its problems; the record itself is not kept."""
        return Loaded(self.file, None, self.diagnostics)


@dataclass(frozen=True)
class ValidationReport:
    files: tuple[CheckedFile, ...]
    diagnostics: tuple[Diagnostic, ...]  # every problem, in file order, folders included

    @property
    def errors(self) -> int:
        return sum(d.severity is Severity.ERROR for d in self.diagnostics)

    @property
    def warnings(self) -> int:
        return sum(d.severity is Severity.WARNING for d in self.diagnostics)

    @property
    def invalid_files(self) -> int:
        return sum(not f.valid for f in self.files)

    @property
    def ok(self) -> bool:
        return self.errors == 0

    def strict(self) -> ValidationReport:
        """The same report with every warning counted as an error (``--strict``)."""
        return ValidationReport(
            tuple(replace(f, diagnostics=tuple(map(_as_error, f.diagnostics))) for f in self.files),
            tuple(map(_as_error, self.diagnostics)),
        )


@contextlib.contextmanager
def long_lived() -> Iterator[None]:
    """Make data that lives until the run ends without the cyclic garbage collector.

    Reading what the last build left, checking, merging and planning make millions of
    objects that stay to the end and form no reference cycles; the collector would go
    over them again and again (about a tenth of a build or a validation; at 100,000
    records, reading the record of the last build's output took 0.62-0.79 s with it,
    0.43-0.56 s without).  It is off while they are made; then they are frozen out of
    its reach (:func:`gc.freeze`), and it is on again for rendering, which leaves cycles
    behind (feedgen's generators).  Forked workers inherit either state."""
    with collector_paused():
        try:
            yield
        finally:
            gc.freeze()


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Keep the cyclic garbage collector off while the build does its bookkeeping.

    What a build records for the next (the record of its output, the snapshot of its
    sources) is hundreds of thousands of tuples made after rendering, with the collector
    on again.  They form no cycles, yet each full collection goes over all that the build
    made since it froze what it read: at 100,000 records, a build that changed one record
    took 0.97-1.09 s to record its output with the collector on (four full collections
    took 0.31 s of it), 0.54-0.57 s without.  Unlike :func:`long_lived`, nothing is
    frozen: what is made here goes when the build ends, or with the next collection once
    it is garbage."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def leave_to_exit() -> None:
    """Make the builds of this process keep what they made (the article graph, the feed
    plan) instead of freeing it as they return: for a process that ends right after, and
    ends without freeing anything (:func:`os._exit`), as the command line does.  Freeing
    millions of objects one by one took a twentieth of a build that changed one record of
    100,000."""
    global _LEFT_TO_EXIT  # noqa: PLW0603 - once per process, by the command line
    if _LEFT_TO_EXIT is None:
        _LEFT_TO_EXIT = []


def _leave_to_exit(*made: object) -> None:
    """Keep ``made`` until the process ends, when it is to end without freeing anything
    (:func:`leave_to_exit`).  At 100,000 records, freeing the record of the last build's
    232,459 files and the snapshot of the records took 50 ms of a build with nothing to
    do (0.72-0.76 s against 0.79-0.81 s, four builds each, alternated)."""
    if _LEFT_TO_EXIT is not None:
        _LEFT_TO_EXIT.append(made)


def _as_error(diagnostic: Diagnostic) -> Diagnostic:
    return replace(diagnostic, severity=Severity.ERROR)


def check_files(paths: Sequence[Path], schema: Schema) -> list[CheckedFile]:
    """Check files one by one (no cache), without the checks across records."""
    from feeds.scan import scan

    results = scan(paths, schema, None, articles=False)
    return [CheckedFile(r.file, r.diagnostics, r.readable) for r in results]


def _locator(file: str, path: Path, *, quick: bool) -> Locator:
    """A locator for a file read again, to place what the checks across records found
    (``quick`` as for :meth:`feeds.records.Locator.of_file`)."""
    return _located(file, path, None, quick=quick)[0]


def _located(file: str, path: Path, content: bytes | None, *, quick: bool) -> tuple[Locator, bool]:
    """:func:`_locator`, and whether the file holds the content hashed ``content``."""
    from feeds.cache import digest

    try:
        raw = path.read_bytes()
    except OSError:
        raw = b""
    same = content is not None and digest(raw) == content
    return Locator.of_file(file, raw, quick=quick), same


def reviewed(
    results: Sequence[FileResult],
    paths: Sequence[Path],
    now: datetime,
    *,
    publishing: bool,
    store: Cache | None = None,
    contents: Mapping[str, bytes] | None = None,
) -> list[CheckedFile]:
    """``results`` (of ``paths``, in order) with what the checks across records found
    (:mod:`feeds.crosscheck`).  Only files with such findings are read again, to place
    them; with the cache (``store``) and the content hash of each file (``contents``, by
    label), only those with a finding at a field the cache has no place for in that
    content, or dated in the future (:class:`_Places`).

    When ``publishing``, the first of several records of one article stays valid (it is
    published) and only the later copies get an error."""
    from feeds.crosscheck import review
    from feeds.scan import FAST_YAML_MIN_FILES

    if len(results) != len(paths):
        raise ValueError("a result for each file, and a file for each result")
    index = {result.file: at for at, result in enumerate(results)}

    def path_of(file: str) -> Path:  # few files are placed: no path is made for the others
        return paths[index[file]]

    facts = [result.facts for result in results if result.facts is not None]
    # The runs whose records the fast reader read (feeds.scan) place with its gate too.
    quick = len(results) >= FAST_YAML_MIN_FILES
    if store is None or contents is None:
        found = review(facts, now, lambda file: _locator(file, path_of(file), quick=quick))
    else:
        places = _Places(store, path_of, contents, quick=quick)
        found = review(facts, now, places.locate)
        places.keep()
    out = []
    for result in results:
        diagnostics = result.diagnostics
        extra = found.diagnostics.get(result.file, ())
        if not publishing:
            extra += found.first_copies.get(result.file, ())
        out.append(CheckedFile(result.file, _with(diagnostics, extra), result.readable))
    return out


class _Places:
    """A :class:`feeds.records.KnownPlaces` for each file asked for, with the places the cache
    keeps for its content (``contents``, by label; ``where`` gives each file's path); the places
    it had to find are kept for the next run (:meth:`keep`)."""

    def __init__(
        self,
        store: Cache,
        where: Callable[[str], Path],
        contents: Mapping[str, bytes],
        *,
        quick: bool,
    ) -> None:
        self._store = store
        self._where = where
        self._contents = contents
        self._quick = quick
        self._kept = store.places()
        self._placers: dict[str, KnownPlaces] = {}

    def locate(self, file: str) -> KnownPlaces:
        placer = self._placers.get(file)
        if placer is None:
            content = self._contents.get(file)
            known = self._kept.get(file)
            places = known[1] if known is not None and known[0] == content else {}
            placer = self._placers[file] = KnownPlaces(
                file,
                places,
                lambda: _located(file, self._where(file), content, quick=self._quick),
            )
        return placer

    def keep(self) -> None:
        """Keep the places found that the cache did not have."""
        self._store.store_places(
            (file, self._contents[file], field, line, column)
            for file, placer in self._placers.items()
            for field, (line, column) in placer.found.items()
        )


def validate(
    paths: Sequence[Path],
    schema: Schema | None = None,
    now: datetime | None = None,
    *,
    cache: Path | None = None,
    progress: Progress | None = None,
) -> ValidationReport:
    """Check every record file under ``paths`` against the schema, and across records.

    ``now`` is the time dates in the future are measured against [default: the clock].
    ``cache`` is a cache folder (:mod:`feeds.cache`), used when there are at least
    ``VALIDATE_CACHE_MIN_FILES`` files."""
    from feeds.scan import scan

    schema = schema or load_schema()
    files, folder_problems = discover(paths)
    enough = len(files) >= VALIDATE_CACHE_MIN_FILES
    store = None
    if cache is not None and enough:
        from feeds.cache import open_cache

        store = open_cache(cache)
    try:
        with long_lived():
            contents: dict[str, bytes] = {}
            scanned = scan(
                files, schema, store, progress=progress, articles=False, contents=contents
            )
            results = list(scanned)
            checked = reviewed(
                results,
                files,
                now or datetime.now(UTC),
                publishing=False,
                store=store,
                contents=contents,
            )
    finally:
        if store is not None:
            store.close()
    diagnostics = [*folder_problems]
    for item in checked:
        diagnostics.extend(item.diagnostics)
    return ValidationReport(tuple(checked), tuple(diagnostics))


@dataclass(frozen=True)
class BuildReport:
    records: int  # record files read
    published: int  # valid records that are published
    unpublished: int
    skipped: tuple[CheckedFile, ...]  # invalid records, left out of the feeds
    folder_problems: tuple[Diagnostic, ...]
    articles: int  # entries: published records plus the articles they cite
    feeds: int
    files: tuple[str, ...]  # written, relative to the output folder
    output: Path
    warnings: tuple[Diagnostic, ...] = ()  # about records that were published anyway
    unchanged: bool = False  # the output was already what this build would write


def build(
    config: Config,
    schema: Schema | None = None,
    now: datetime | None = None,
    *,
    progress: Progress | None = None,
) -> BuildReport:
    """Validate the records under ``config.source`` and publish their feeds into
    ``config.output``, replacing its previous contents in one step.

    Of several records of one article, the first in file order is published.  When the
    records, schema, settings and code are exactly those of the last build into the same
    output, and that output is as the last build left it, nothing is written again.
    An output folder that replacing would lose something in is refused, before anything is
    written (:func:`check_output`).

    A large build renders in worker processes that :mod:`multiprocessing` starts afresh
    (``spawn``), each importing the calling script again: call this from a script under
    ``if __name__ == "__main__":``."""
    # Imported here: ``feeds validate`` never renders, and starts faster without these.
    from feeds.cache import open_cache
    from feeds.output import build_lock, previous_path
    from feeds.rendercache import LastBuild, load_last_build, manifest_path

    given, config = config, followed_output(config)
    schema = schema or load_schema(config.schema)
    source = display_path(config.source)
    if not config.source.is_dir():
        what = "is not a folder" if config.source.exists() else "does not exist"
        raise SourceError(f"the folder of records {source} {what}")
    check_output(given)
    with build_lock(config.output):
        last = LastBuild()
        # The record of the files the last build left serves to take files from them, in
        # its output or in the one it swapped out and kept.  With neither there (CI that
        # keeps the cache and not the output), it was read all the same: at 100,000
        # records, 232,459 rows held to the end of a build that peaked at 1,021 MB, and
        # at 862 MB without them.
        output_left = config.output.exists() or previous_path(config.output).exists()
        if config.cache is not None and output_left:
            with long_lived():  # the record of every file of the output
                last = load_last_build(manifest_path(config.cache, config.output))
        store = None
        try:
            # The copy that checks the output works while this process lists the records
            # too, and while it compares them by content when the snapshot cannot tell.
            with _output_check(config, last) as output_intact:
                names, folder_problems = discover_names([config.source])
                for problem in folder_problems:
                    if problem.file == source:
                        raise SourceError(f"{source}: {problem.message}")
                run = _Run(
                    tuple(names),
                    tuple(display_names(names)),
                    schema,
                    config,
                    now or datetime.now(UTC),
                    progress,
                )
                with long_lived():  # the snapshot, and the record files against it
                    snapshot = _snapshot(run)
                    if snapshot is not None:
                        run = replace(run, looked=snapshot.look(run.names))
                report = _up_to_date(run, last, snapshot, output_intact)
                digests = None
                if report is None:  # something to do, or to find out by content
                    from feeds.scan import known_digests

                    store = open_cache(config.cache)
                    if store is not None:
                        digests = known_digests(run.paths, store, run.vouched_digests)
                    if store is not None and digests is not None:
                        report = _unchanged(run, store, digests, last, output_intact)
            if report is None:
                report = _publish(run, store, digests, last)
        finally:
            if store is not None:
                store.close()
    # What was read of the last build and of the records, whatever the build found to do.
    _leave_to_exit(last, run, snapshot, digests)
    return replace(report, folder_problems=tuple(folder_problems))


def followed_output(config: Config) -> Config:
    """``config`` with its output folder in place of a symbolic link to it, as ``out ->
    /var/www/feeds`` deploys one: a build swaps a new folder in place of its output, and
    would swap the link itself out, leaving the folder it points to, the one served, as it
    was for good."""
    if not config.output.is_symlink():
        return config
    target = Path(os.path.realpath(config.output))  # a folder to make, when it is missing
    if target.is_symlink():  # links in a loop, which check_output names as given
        return config
    return replace(config, output=target)


def check_output(config: Config) -> None:
    """Refuse an output folder that a build, replacing it as a whole, would lose something
    in: one that is or holds the records, the cache or the schema, or a folder of files
    feeds did not write (:func:`feeds.output.check_replaceable`); ``OutputError`` says why.
    A folder the cache has a record of a build into is ours.  The command line asks before
    it writes anything, the cache included."""
    from feeds.output import check_replaceable
    from feeds.rendercache import manifest_path

    cache = config.cache
    check_replaceable(
        config.output,  # named as given; compared where its links lead
        [
            ("the folder of records", config.source),
            ("the cache folder", cache),
            ("the schema", config.schema),
        ],
        known=cache is not None and manifest_path(cache, followed_output(config).output).is_file(),
    )


@dataclass(frozen=True)
class _Run:
    """What every step of one build works from: the record files (by name, and their
    labels) in file order, the schema, the settings and the build's time."""

    names: tuple[str, ...]
    labels: tuple[str, ...]
    schema: Schema
    config: Config
    now: datetime
    progress: Progress | None
    looked: Looked | None = None  # the files against the last snapshot, when there is one

    @property
    def vouched_digests(self) -> list[bytes | None] | None:
        """The content hash of each file that the last snapshot vouches for (see
        :class:`feeds.uptodate.Looked`), ``None`` for the others."""
        if self.looked is None:
            return None
        return [None if source is None else source[6] for source in self.looked.vouched]

    @functools.cached_property
    def paths(self) -> NamedFiles:
        """The record files; each is made a path only when a step asks for it."""
        return NamedFiles(self.names, self.labels)

    @functools.cached_property
    def settings(self) -> bytes:
        """What the output depends on besides the records: the code, the schema and the
        settings it shows."""
        from feeds.cache import code_fingerprint

        return repr((code_fingerprint(), schema_key(self.schema), self.config.shown)).encode()

    def inputs(self, contents: Mapping[str, bytes]) -> bytes:
        """What the build is made from, as one digest: the name and content hash of every
        record file in order (``contents``, by label), and :attr:`settings`.  Empty when the
        content of a file is not known (it could not be read)."""
        if any(label not in contents for label in self.labels):
            return b""
        hasher = hashlib.blake2b(self.settings, digest_size=20)
        for label in self.labels:
            hasher.update(label.encode() + b"\0" + contents[label])
        return hasher.digest()


def _report(
    checked: Sequence[CheckedFile],
    published: int,
    config: Config,
    *,
    clean: int = 0,
    **written: Any,
) -> BuildReport:
    """The report of a build that checked ``checked``, and ``clean`` more files, valid and
    without a problem, that it did not list (an up-to-date build at 100,000 records spent a
    sixth of its time making and going over one CheckedFile per file)."""
    skipped: list[CheckedFile] = []
    warnings: list[Diagnostic] = []
    for item in checked:
        if not item.valid:
            skipped.append(item)
        elif item.diagnostics:
            warnings.extend(d for d in item.diagnostics if d.severity is Severity.WARNING)
    records = len(checked) + clean
    return BuildReport(
        records=records,
        published=published,
        unpublished=records - len(skipped) - published,
        skipped=tuple(skipped),
        folder_problems=(),
        output=config.output,
        warnings=tuple(warnings),
        **written,
    )


def _publish(
    run: _Run, store: Cache | None, digests: Sequence[bytes | None] | None, last: LastBuild
) -> BuildReport:
    from feeds.graphcache import graph_path
    from feeds.plan import plan_feeds

    config = run.config
    contents: dict[str, bytes] = {}
    record = None if config.cache is None else graph_path(config.cache, config.output)
    if store is not None and digests is not None:
        digests = _checked_ahead(run, store, digests, contents)
    with _stated_ahead(config, last) as stated:
        with long_lived():
            source = _check_source(
                run.paths,
                run.schema,
                run.now,
                store,
                progress=run.progress,
                contents=contents,
                digests=digests,
                graph_record=record,
                in_place=last.build,
                # The build that left a snapshot of these very files dropped what the cache
                # held of others (see Cache.keep_only); doing it again reads every row.
                tidy=run.looked is None or not run.looked.same_files,
            )
            if store is not None:  # read again for the snapshot, not held while rendering
                store.forget_known_digests()
            plan = plan_feeds(source.graph, config.entries_per_feed, source.ordered)
        inputs = run.inputs(contents)
        written = _write(plan, config, inputs, run.progress, last, source=source, stated=stated)
    if store is not None and inputs:
        _keep_snapshot(run, store, [contents[label] for label in run.labels], source, inputs)
    _leave_to_exit(source, plan)
    return _report(
        source.checked,
        source.published,
        config,
        articles=len(source.graph),
        feeds=len(plan.feeds),
        files=tuple(sorted(written)),
    )


def _checked_ahead(
    run: _Run, store: Cache, digests: Sequence[bytes | None], contents: dict[str, bytes]
) -> Sequence[bytes | None]:
    """``digests`` once the files touched since the last snapshot are checked, and their
    results cached, before the graph of the last build is read back: when there are enough
    of them to check in worker processes (:data:`feeds.scan.PARALLEL_MIN_FILES`), and no
    more than half the files (a checkout that touched every file mostly leaves their
    results in the cache, and each would be looked up twice).  The build's own check of
    every file then finds theirs in the cache; ``contents`` receives their hashes.

    Workers are forked from this process: forked once the graph is read back, each holds
    it too, as far as resident memory tells.  At 100,000 records, a build that checked 400
    changed records so summed 5,709-5,772 MB in its three processes (2,065 MB of their
    proportional sizes), and 2,479-2,614 MB checking them first."""
    from feeds.scan import PARALLEL_MIN_FILES, scan

    if run.looked is None:
        return digests
    touched = [index for index, source in enumerate(run.looked.vouched) if source is None]
    if not PARALLEL_MIN_FILES <= len(touched) <= len(run.names) // 2:
        return digests
    paths, labels = run.paths, run.labels
    checked = scan(
        [paths[index] for index in touched],
        run.schema,
        store,
        progress=run.progress,
        contents=contents,
        digests=[digests[index] for index in touched],
    )
    for _ in checked:  # each result is in the cache once checked
        pass
    now = list(digests)
    for index in touched:
        now[index] = contents.get(labels[index], now[index])
    return now


def _snapshot(run: _Run) -> Snapshot | None:
    """The snapshot the last build into the output left (:mod:`feeds.uptodate`), when it
    was taken under this build's settings: of another code, it might not hash files alike."""
    from feeds.uptodate import load_snapshot, snapshot_path

    if run.config.cache is None:
        return None
    snapshot = load_snapshot(snapshot_path(run.config.cache, run.config.output))
    if snapshot is None or snapshot.settings != run.settings:
        return None
    return snapshot


def _output_check(config: Config, last: LastBuild) -> ForkedCheck:
    """Whether the output is as the ``last`` build left it, worked out by a copy of this
    process while this one lists the records, reads the snapshot and looks at the record
    files, then by both (:class:`feeds.workers.ForkedCheck`), when the build may have
    nothing to do and the output is large enough to pay for the copy; else by this process,
    when :func:`_up_to_date` or :func:`_unchanged` asks.  The copy is made before the
    records are listed and the snapshot is read, which it has no use for."""
    from feeds.workers import ForkedCheck

    may_be_up_to_date = (
        config.cache is not None and bool(last.inputs) and len(last.rows) >= FORKED_CHECK_MIN_FILES
    )
    return ForkedCheck(
        functools.partial(last.intact_part, config.output),
        last.intact_parts(),
        fork=may_be_up_to_date,
    )


def _stated_ahead(config: Config, last: LastBuild) -> StatedAhead:
    """The files of the output before last, which a build starts its new output from,
    stated by a copy of this process while this one reads its graph back, merges and plans
    (:class:`feeds.rendercache.StatedAhead`): when the cache has a record of them, and
    there are enough of them to pay for the copy."""
    from feeds.output import previous_path
    from feeds.rendercache import StatedAhead

    with long_lived():  # the record of every file of two outputs
        previous = last.previous if config.cache is not None else {}
    return StatedAhead(
        previous,
        previous_path(config.output),
        fork=len(previous) >= FORKED_CHECK_MIN_FILES,
    )


def _up_to_date(
    run: _Run, last: LastBuild, snapshot: Snapshot | None, output_intact: ForkedCheck
) -> BuildReport | None:
    """The report of a build that has nothing to do, when stat data shows it against the
    last ``snapshot``, and the content of the few files it leaves in doubt
    (:mod:`feeds.uptodate`), and ``output_intact`` finds the output as the last build
    left it; else ``None``."""
    from feeds.uptodate import snapshot_path, store_snapshot

    config = run.config
    if config.cache is None or not last.inputs or snapshot is None or run.looked is None:
        return None
    if snapshot.made_from != last.inputs or moment(run.now) < snapshot.clock:
        return None
    doubtful = snapshot.in_doubt(run.labels, run.settings, run.looked)
    if doubtful is None:
        return None
    if doubtful:  # hashed before the output is looked at: an edit that kept the size shows
        snapshot = snapshot.confirmed(doubtful)
        if snapshot is None:
            return None
    if not output_intact.result():
        return None
    if doubtful:
        # The next build would only hash them again.
        with contextlib.suppress(OSError), collector_paused():
            store_snapshot(snapshot_path(config.cache, config.output), snapshot)
    dated = _dates_ahead(run, snapshot)
    checked = []  # the files with a problem: the others are only counted
    for file, diagnostics, readable in snapshot.checks:
        extra = dated.get(file, ())
        if diagnostics or extra or not readable:
            checked.append(CheckedFile(file, _with(diagnostics, extra), readable))
    clean = len(snapshot.checks) - len(checked)
    return _as_before(checked, snapshot.published, config, last, clean=clean)


def _dates_ahead(run: _Run, snapshot: Snapshot) -> dict[str, tuple[Diagnostic, ...]]:
    """The dates still in the future, by file, of the files that held one when ``snapshot``
    was taken: only those are read again, and their dates are placed where the snapshot
    says they sit."""
    if not snapshot.ahead:  # as with most records: nothing to read, nor to import for it
        return {}
    from feeds.crosscheck import future_findings

    where = dict(zip(run.labels, run.names, strict=True))
    ahead = {snapshot.checks[index][0]: dated for index, _, dated in snapshot.ahead}

    @functools.cache  # each read once
    def locate(file: str) -> KnownPlaces:
        known = {field: (line, column) for field, line, column in ahead[file]}
        return KnownPlaces(
            file, known, lambda: _located(file, Path(where[file]), None, quick=False)
        )

    latest = [(snapshot.checks[index][0], last) for index, last, _ in snapshot.ahead]
    return {
        file: locate(file).place(found) for file, found in future_findings(latest, run.now, locate)
    }


@collector_paused()  # it makes tuples by the hundred thousand, after rendering
def _keep_snapshot(
    run: _Run, store: Cache, digests: Sequence[bytes], source: CheckedSource, inputs: bytes
) -> None:
    """Leave what this build was made from and found, for the next (:mod:`feeds.uptodate`)."""
    from feeds.uptodate import (
        Snapshot,
        dates_ahead,
        snapshot_path,
        sources_of,
        store_snapshot,
        without_clock,
    )

    cache = run.config.cache
    vouched = run.looked.vouched if run.looked is not None else (None,) * len(digests)
    sources = sources_of(run.paths, digests, vouched, store)
    if cache is None or sources is None:
        return
    clock = moment(run.now)
    snapshot = Snapshot(
        made_from=inputs,
        settings=run.settings,
        clock=clock,
        sources=sources,
        checks=tuple(
            (item.file, without_clock(item.diagnostics), item.readable) for item in source.checked
        ),
        ahead=tuple(
            (index, latest, dates_ahead(source.checked[index].diagnostics))
            for index, latest in enumerate(source.latest)
            if latest is not None and latest > clock
        ),
        published=source.published,
    )
    with contextlib.suppress(OSError):  # a build without it only checks by content next time
        store_snapshot(snapshot_path(cache, run.config.output), snapshot)


def _unchanged(
    run: _Run,
    store: Cache,
    digests: Sequence[bytes | None],
    last: LastBuild,
    output_intact: ForkedCheck,
) -> BuildReport | None:
    """The report of a build that has nothing to do, or ``None`` when it has something.

    The files' content hashes are compared (:func:`feeds.scan.known_digests`), so files
    touched but not changed do not count, and ``output_intact`` finds the output as the
    last build left it (the check the build began with: checking the 23,500 files of the
    output again, in this process, took 47-123 ms at 10,000 records).  The report comes
    from cached results."""
    from feeds.scan import scan

    if not last.inputs:
        return None
    contents = {
        label: value for label, value in zip(run.labels, digests, strict=True) if value is not None
    }
    if run.inputs(contents) != last.inputs:
        return None
    if not output_intact.result():
        return None
    with long_lived():
        results = list(
            scan(
                run.paths, run.schema, store, progress=run.progress, articles=False, digests=digests
            )
        )
        source = _checked_source(
            results, run.paths, run.now, {}, {}, store=store, contents=contents
        )
    _keep_snapshot(run, store, [contents[label] for label in run.labels], source, last.inputs)
    return _as_before(source.checked, source.published, run.config, last)


def _as_before(
    checked: Sequence[CheckedFile],
    published: int,
    config: Config,
    last: LastBuild,
    *,
    clean: int = 0,
) -> BuildReport:
    """The report of a build that finds the output as the ``last`` build left it (see
    :func:`_report` for ``clean``)."""
    return _report(
        checked,
        published,
        config,
        clean=clean,
        articles=last.articles,
        feeds=last.feeds,
        files=tuple(last.file_names()),
        unchanged=True,
    )


def _with(
    diagnostics: tuple[Diagnostic, ...], extra: tuple[Diagnostic, ...]
) -> tuple[Diagnostic, ...]:
    """A file's own problems with those found across records, in file order."""
    if not extra:
        return diagnostics
    return tuple(sorted(diagnostics + extra, key=sort_key))


@dataclass(frozen=True)
class Lineage:
    """The names of this build and of the build whose graph it started from, as the kept
    article graph records them (:mod:`feeds.graphcache`), and the entry digests of that
    one: the output that build wrote holds entries this one can take again
    (:class:`feeds.earlier.EarlierEntries`), and documents whose keys need not be worked
    out again (:class:`feeds.knownkeys.KnownKeys`)."""

    build: bytes = b""
    earlier_build: bytes = b""
    earlier_digests: Mapping[str, bytes] = field(default_factory=dict)
    # By key, the earlier article (None: there was none) of each article merged again since
    # that graph; ``None`` when any may have changed (the graph was merged from every file).
    changed: Mapping[str, Article | None] | None = None


@dataclass(frozen=True)
class CheckedSource:
    """What checking a build's records gives: every file with its problems, how many were
    published, and the articles to publish (:func:`feeds.articles.merge_articles`), already
    cleaned for publishing (:func:`feeds.sanitize.clean_article`)."""

    checked: tuple[CheckedFile, ...]
    published: int
    graph: dict[str, Article]
    latest: tuple[int | None, ...] = ()  # each file's latest date (see crosscheck.Facts)
    entry_digests: Mapping[str, bytes] = field(default_factory=dict)  # see feeds.keys
    lineage: Lineage = field(default_factory=Lineage)  # the graph's, when it is kept
    # The articles of the graph newest first, with their page marks, when known.
    ordered: NewestFirst | None = None


def check_source(
    paths: Sequence[Path],
    schema: Schema,
    now: datetime,
    *,
    cache: Path | None = None,
    progress: Progress | None = None,
    contents: dict[str, bytes] | None = None,
    graph_record: Path | None = None,
) -> CheckedSource:
    """Check the record files ``paths`` (all of a build's, in file order) as a build does,
    with the cache folder ``cache`` if any, and merge what the valid published ones say.

    With a cache, the merged graph is kept in ``graph_record`` (:mod:`feeds.graphcache`),
    and the next call merges again only what changed since."""
    from feeds.cache import open_cache

    store = open_cache(cache)
    try:
        return _check_source(
            paths,
            schema,
            now,
            store,
            progress=progress,
            contents=contents,
            graph_record=graph_record,
        )
    finally:
        if store is not None:
            store.close()


def _check_source(
    paths: Sequence[Path],
    schema: Schema,
    now: datetime,
    store: Cache | None,
    *,
    progress: Progress | None,
    contents: dict[str, bytes] | None,
    graph_record: Path | None,
    digests: Sequence[bytes | None] | None = None,
    in_place: bytes = b"",
    tidy: bool = True,
) -> CheckedSource:
    """:func:`check_source` with the cache open (``store``), and the files' ``digests``
    when the caller knows them (:func:`feeds.scan.known_digests`); ``in_place`` names the
    build whose output is in place (see :func:`feeds.graphcache.load_state`)."""
    results: list[FileResult] = []
    contents = {} if contents is None else contents
    graph, entry_digests, lineage, ordered = _merged_graph(
        paths,
        schema,
        store,
        progress=progress,
        contents=contents,
        kept=results,
        record=graph_record,
        digests=digests,
        in_place=in_place,
    )
    if store is not None and tidy:
        store.keep_only([result.file for result in results], paths, schema_key(schema))
    return _checked_source(
        results,
        paths,
        now,
        graph,
        entry_digests,
        lineage=lineage,
        store=store,
        contents=contents,
        ordered=ordered,
    )


def _checked_source(
    results: Sequence[FileResult],
    paths: Sequence[Path],
    now: datetime,
    graph: dict[str, Article],
    entry_digests: Mapping[str, bytes],
    *,
    lineage: Lineage | None = None,
    store: Cache | None = None,
    contents: Mapping[str, bytes] | None = None,
    ordered: NewestFirst | None = None,
) -> CheckedSource:
    """What checking ``results`` (of ``paths``, in order) gives a build, with ``graph``, the
    ``entry_digests`` known of it and its articles ``ordered`` newest first when known;
    ``store`` and ``contents`` as for :func:`reviewed`."""
    checked = reviewed(results, paths, now, publishing=True, store=store, contents=contents)
    published = sum(
        item.valid and result.published for item, result in zip(checked, results, strict=True)
    )
    latest = tuple(None if r.facts is None else r.facts.latest for r in results)
    return CheckedSource(
        tuple(checked), published, graph, latest, entry_digests, lineage or Lineage(), ordered
    )


def _merged_graph(
    paths: Sequence[Path],
    schema: Schema,
    store: Cache | None,
    *,
    progress: Progress | None,
    contents: dict[str, bytes],
    kept: list[FileResult],
    record: Path | None,
    digests: Sequence[bytes | None] | None,
    in_place: bytes,
) -> tuple[dict[str, Article], Mapping[str, bytes], Lineage, NewestFirst | None]:
    """The graph of the valid published records among ``paths``: from that of the build
    whose output is in place (``in_place``), for what changed, when that graph is at hand
    and most of it still stands; else merged from every file.  ``kept`` receives every
    file's result, ``contents`` their hashes.  With the graph come the digests of its
    entries, its lineage and its articles newest first, when it is kept for the next build
    (which then finds its order and makes it its own: see :func:`feeds.plan.reordered`)."""
    from feeds.cache import code_fingerprint
    from feeds.graphcache import load_state, merge_all, merge_changes, store_state
    from feeds.keys import entry_digests, packed
    from feeds.plan import NewestFirst
    from feeds.scan import cached_results, known_digests, scan

    if store is None or record is None:
        scanned = scan(paths, schema, store, progress=progress, contents=contents, digests=digests)
        return merge_all(scanned, kept, contents, _spill(record)).graph, {}, Lineage(), None
    context = schema_key(schema)
    whose = f"{code_fingerprint()}:{context}"  # cached articles depend on code and schema
    previous = load_state(record, whose, in_place)
    state = None
    if previous is not None:
        digests = known_digests(paths, store) if digests is None else digests
        labels = labels_of(paths)
        lean = {
            label
            for label, value in zip(labels, digests, strict=True)
            if value is not None and previous.contributors.get(label, (b"",))[0] == value
        }
        if 2 * len(lean) >= len(previous.contributors):  # most of the last graph stands
            scanned = scan(
                paths,
                schema,
                store,
                progress=progress,
                contents=contents,
                digests=digests,
                lean=lean,
                known=_results_kept(previous, labels, digests, lean),
            )

            def reload(labels: Sequence[str]) -> dict[str, FileResult]:
                return cached_results(
                    store, [(label, contents[label]) for label in labels], context
                )

            state = merge_changes(scanned, kept, contents, previous, reload)
            if state is None:
                kept.clear()
    if state is None:
        scanned = scan(paths, schema, store, progress=progress, contents=contents, digests=digests)
        state = merge_all(scanned, kept, contents, _spill(record))
    # Each build is named apart, so that the next one knows whether the output it finds was
    # made from this very graph.
    build = os.urandom(16)
    ordered = NewestFirst.of(state.graph.values()) if state.ordered is None else state.ordered
    state = replace(
        state,
        entry_digests=entry_digests(
            state.graph, state.entry_digests, state.remerged, ordered.articles, progress=progress
        ),
        results=_results_to_keep(kept, contents, previous),
        build=build,
        ordered=ordered,
    )
    with contextlib.suppress(OSError):  # a build without it is only slower next time
        store_state(record, state, whose, previous)
    entries = packed(state.entry_digests, state.graph)  # those merged from every file
    if previous is None:
        return state.graph, entries, Lineage(build), state.ordered
    changed = None
    if state.remerged is not None:
        changed = {key: previous.graph.get(key) for key in state.remerged}
    lineage = Lineage(build, previous.build, previous.entry_digests, changed)
    return state.graph, entries, lineage, state.ordered


def _spill(record: Path | None) -> SpilledTexts:
    """Where a graph merged from every file holds the texts of its articles: beside its
    record when it has one."""
    from feeds.texts import SpilledTexts

    return SpilledTexts(None if record is None else record.parent)


def _results_kept(
    previous: GraphState, labels: Sequence[str], digests: Sequence[bytes | None], lean: Set[str]
) -> dict[str, FileResult]:
    """The results the ``previous`` build kept that stand for the files ``labels`` as they
    are now (``digests``): of a file with the same content, when merging needs none of its
    articles (it contributes the same as before, ``lean``, or it has none).  A later copy
    of an article may have to contribute its articles now: its result is looked up."""
    kept = {}
    for label, value in zip(labels, digests, strict=True):
        found = previous.results.get(label)
        if found is None or value is None or found[0] != value:
            continue
        result = found[1]
        if label in lean or not (result.published and result.valid):
            kept[label] = result
    return kept


def _results_to_keep(
    results: Sequence[FileResult], contents: Mapping[str, bytes], previous: GraphState | None
) -> dict[str, tuple[bytes, FileResult]]:
    """``results`` (without articles) by label with the hash of their content, for the next
    build (:class:`feeds.graphcache.GraphState`); the very objects ``previous`` kept where
    they are the same, so that only the others are recorded again."""
    before = {} if previous is None else previous.results
    kept = {}
    for result in results:
        value = contents.get(result.file)
        if value is None:
            continue
        old = before.get(result.file)
        if old is not None and old[0] == value and old[1] is result:
            kept[result.file] = old
        else:
            kept[result.file] = (value, result)
    return kept


# Articles merged again above which a build that writes documents asks for their entry
# digests from dicts (:func:`feeds.keys.as_dicts`), not where the graph record packs them
# (:class:`feeds.keys.RecordedDigests`, a lookup of about 1 us each); so does a build that
# works out the key of every document.  Each article merged again had its digests asked
# for some 630 times.  At 100,000 records, a build that changed one record merged 37
# articles again and asked for 29,473 digests as it wrote; one that changed 100 merged
# 3,146 again and asked for 2.0 million, 1.8 s of lookups; making dicts of the digests of
# both graphs, its own and the last, takes 0.24-0.26 s.
DIGESTS_LOOKED_UP_AT_MOST = 500


def _write(
    plan: FeedPlan,
    config: Config,
    inputs: bytes,
    progress: Progress | None,
    last: LastBuild,
    *,
    source: CheckedSource,
    stated: StatedAhead | None = None,
) -> list[str]:
    """Publish ``plan`` (made from ``source``) into ``config.output``, reusing what the
    ``last`` build wrote there the same, and what ``stated`` found of the files of the
    output before last, and record what was written for the next build
    (:mod:`feeds.rendercache`)."""
    from feeds.earlier import EarlierEntries, SameDigests
    from feeds.keys import as_dicts
    from feeds.knownkeys import KnownKeys, settings_digest, shapes_of
    from feeds.output import previous_path, staged
    from feeds.parallel import write_documents
    from feeds.rendercache import manifest_path, store_last_build

    record = None if config.cache is None else manifest_path(config.cache, config.output)
    lineage = source.lineage
    earlier = None
    known = None
    digests, earlier_digests = source.entry_digests, lineage.earlier_digests
    # The output of that very graph, when it is still there: CI may keep the cache and not
    # the output, and then every document rendered would look for its files for nothing.
    in_place = last.build and last.build == lineage.earlier_build and config.output.is_dir()
    # Where it lends entries, both graphs' digests are asked for, from dicts when many are.
    # A build that keys every document (no KnownKeys) and lends none makes a dict of the
    # digests for that alone (feeds.publish.feed_documents), let go before rendering.
    if in_place:
        if lineage.changed is not None:
            known = KnownKeys(plan, config, last, lineage.changed)
        if known is None or len(lineage.changed or ()) > DIGESTS_LOOKED_UP_AT_MOST:
            digests, earlier_digests = as_dicts(digests, earlier_digests)
        earlier = EarlierEntries(config.output, last.files, SameDigests(earlier_digests, digests))
    # The next build starts from an output it has a record of: without a cache, none; the
    # output swapped out, when the last build's record says what it holds; else this one.
    previous = last.previous if record is not None else {}
    keep: Keep | None = None if record is None else "swapped" if last.files else "new"
    with staged(config.output, previous, keep=keep) as staging:
        # What is rendered again as the output in place holds it is linked from there.
        if record is not None and config.output.is_dir():
            staging.in_place = last.files
        if stated is not None:
            stated.still_at(staging.folder)
        written = write_documents(
            staging,
            plan,
            config,
            last.files,
            entry_digests=digests,
            earlier=earlier,
            known=known,
            before_last=previous,
            stated=stated,
            progress=progress,
        )
    if record is not None:
        # A build without a record is only slower next time.
        with contextlib.suppress(OSError), collector_paused():
            store_last_build(
                record,
                config.output,
                written,
                inputs=inputs,
                articles=len(plan.articles),
                feeds=len(plan.feeds),
                build=lineage.build,
                kept=staging.kept - staging.restated,
                recorded=previous,
                digests=_content_digests(staging, last.files, previous),
                previous=(
                    last.swapped_out(previous_path(config.output), staging.linked)
                    if staging.kept_previous
                    else None
                ),
                mirrored=staging.mirrored,
                settings=settings_digest(config),
                shapes=shapes_of(plan),
            )
    return list(written)


def _content_digests(staging: Staging, linked: Manifest, kept: Manifest) -> dict[str, bytes]:
    """The content digest of the files of the build written into ``staging`` that
    :func:`~feeds.rendercache.store_last_build` does not take from the record of the
    folder (its ``kept``): of the bytes written, else as recorded for the file of the
    output in place it is a link to (``linked``) or, for a file of the output before last
    kept with other stat data (``kept``), as recorded for it there."""
    digests = dict(staging.digests)
    for paths, record in ((staging.linked, linked), (staging.restated, kept)):
        for path in paths:
            if (known := record.get(path)) is not None:
                digests[path] = known[2]
    return digests
