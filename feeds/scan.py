"""Reading and checking every record file: once per content, on every core.

For each file the outcome is a :class:`FileResult`: its problems, the few facts the checks
across records need (:class:`feeds.crosscheck.Facts`) and, for a valid published record, the
articles it contributes to the feeds.  Nothing else of the record is kept, so memory follows
what feeds need, not the size of the files.  Results are cached by file name, content hash
and schema (:mod:`feeds.cache`); files are hashed only when their stat data changed.  Files
not in the cache are checked in worker processes when there are enough of them to pay for
starting the workers.
"""

from __future__ import annotations

import os
from collections.abc import Container, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from sys import intern
from typing import TYPE_CHECKING, Any, NamedTuple

from feeds.checks import (
    credential_findings,
    html_entity_findings,
    may_hold_credentials,
    may_hold_entities,
)
from feeds.crosscheck import Facts, facts_of
from feeds.diagnostics import Diagnostic, Severity, sort_key
from feeds.progress import Progress, Quiet
from feeds.records import (
    MAX_RECORD_BYTES,
    Finding,
    Loaded,
    Locator,
    absolute_names,
    labels_of,
    names_of,
    parse_record,
    picked,
    read_record,
    read_stated,
)
from feeds.schema import Schema, schema_key
from feeds.workers import INHERITED, Workers

if TYPE_CHECKING:
    from feeds.articles import Article
    from feeds.cache import Cache, FileStat

# Fewer files than this are checked in this process: starting workers costs ~50 ms.
PARALLEL_MIN_FILES = 300
# Fewer files than this are read by PyYAML alone, as pre-commit passes a handful: the fast
# reader (feeds.yamlfast) took 31 ms to import and compile its gate, PyYAML 14 ms, and then
# 0.3 ms against 1.8 ms for a record of 10 KB.
FAST_YAML_MIN_FILES = 10
CHUNK = 64
STORE_BATCH = 2000


class FileResult(NamedTuple):
    """What one file amounts to.

    ``diagnostics`` are what the checks of this file alone found (reading, schema, HTML
    entities in URLs), in file order.  ``facts`` is set when the file was read as a record;
    ``articles`` for valid published records only.

    A named tuple, as :class:`feeds.crosscheck.Facts` is: a build that changed one record
    takes back the result of every other file from the record of its graph
    (:func:`from_summary`), and making those of 30,000 records took 0.07 s as frozen data
    classes, 0.015 s as named tuples.  ``_replace`` makes a changed copy.
    """

    file: str
    diagnostics: tuple[Diagnostic, ...]
    facts: Facts | None
    published: bool
    articles: tuple[Article, ...] | None

    @property
    def readable(self) -> bool:
        return self.facts is not None

    @property
    def valid(self) -> bool:
        return self.readable and not any(d.severity is Severity.ERROR for d in self.diagnostics)

    def __reduce__(self) -> tuple[Any, ...]:
        # Facts and articles travel (to the cache, from workers) as tuples of plain values:
        # pickling data classes field by field takes twice as long, and a cached build reads
        # thousands of them.
        facts = None if self.facts is None else _facts_state(self.facts)
        articles = None
        if self.articles is not None:
            from feeds.articles import plain_values  # noqa: PLC0415 - validating has none

            articles = tuple(map(plain_values, self.articles))
        return (_restore_result, (self.file, self.diagnostics, facts, self.published, articles))


def _facts_state(facts: Facts) -> tuple[Any, ...]:
    return tuple(facts)


def _restore_result(
    file: str,
    diagnostics: tuple[Diagnostic, ...],
    facts: tuple[Any, ...] | None,
    published: bool,
    articles: tuple[tuple[Any, ...], ...] | None,
) -> FileResult:
    restored_facts = None if facts is None else _restore_facts(facts)
    restored = None
    if articles is not None:
        from feeds.articles import from_plain_values  # noqa: PLC0415 - validating has none

        restored = from_plain_values(articles)
    return FileResult(file, diagnostics, restored_facts, published, restored)


def _restore_facts(state: tuple[Any, ...]) -> Facts:
    return Facts._make(_interned(state))


def _interned(state: tuple[Any, ...]) -> tuple[Any, ...]:
    """The :func:`_facts_state` ``state`` with its URLs interned: records cite the same
    articles again and again, and each URL is then held once.  Keys of related articles
    that are interned already, as those of every result taken back from workers or the
    cache are, are kept as they are: about a million citations at 100,000 records were
    made again each time the graph record was written whole, and its summaries of the
    results took 107 MB then."""
    file, latest, key, title, title_print, date, moment, cited, claims, said, published = state
    if not all(intern(url) is url for url in cited):
        cited = tuple(map(intern, cited))
    key = None if key is None else intern(key)
    return file, latest, key, title, title_print, date, moment, cited, claims, said, published


# A result without its articles as plain values: its file, diagnostics, facts (shared
# strings interned) and whether it is published.  How a build keeps the results of every
# file with its article graph (:mod:`feeds.graphcache`), to take them back at once.
Summary = tuple[str, tuple[Diagnostic, ...], tuple[Any, ...] | None, bool]


def summary_of(result: FileResult) -> Summary:
    """``result`` without its articles, as plain values.  Its URLs are interned, so that a
    pickle of many summaries holds each once, and so does what it is read back into."""
    facts = result.facts
    state = None if facts is None else _interned(_facts_state(facts))
    return result.file, result.diagnostics, state, result.published


def from_summary(summary: Summary) -> FileResult:
    """The result :func:`summary_of` gave ``summary`` for (without its articles)."""
    file, diagnostics, state, published = summary
    facts = None if state is None else Facts._make(state)
    return FileResult(file, diagnostics, facts, published, None)


def check_loaded(
    loaded: Loaded, schema: Schema, *, articles: bool = True, quick: bool = False
) -> FileResult:
    """Check what was read of one file and keep what later stages need of it (its
    articles only when ``articles``: validating needs none).  ``quick``: top-level fields
    are placed from the lines where they can be (see :class:`feeds.records.Locator`)."""
    record = loaded.record
    if record is None:
        return FileResult(
            loaded.file, tuple(sorted(loaded.diagnostics, key=sort_key)), None, False, None
        )
    diagnostics = loaded.diagnostics + schema.check(record, quick=quick)
    valid = not any(d.severity is Severity.ERROR for d in diagnostics)
    warned: list[Finding] = []
    if may_hold_entities(record.front_matter):
        warned += html_entity_findings(record.data)
    if may_hold_credentials(record.front_matter):
        warned += credential_findings(record.data)
    if warned:
        diagnostics += Locator(record, quick=quick).place(warned)
    from feeds.articles import PublishedRecord, is_published, record_articles  # noqa: PLC0415

    published = valid and is_published(record.data)
    contributed = None
    if published and articles:
        from feeds.sanitize import clean_article  # noqa: PLC0415

        # Cleaned here, once per file content and on every core, rather than after merging:
        # cleaning each description and then merging gives the same articles.
        record_contribution = record_articles(PublishedRecord(loaded.file, record.data))
        contributed = tuple(map(clean_article, record_contribution))
    return FileResult(
        loaded.file,
        tuple(sorted(diagnostics, key=sort_key)),
        facts_of(record, valid, published=published),
        published,
        contributed,
    )


def _read(path: Path) -> tuple[bytes, os.stat_result, int] | None:
    """The file's bytes, with its stat data and when they were taken, before the bytes were
    read (:func:`feeds.records.read_stated`); ``None`` when it cannot be read or is too
    large to be a record (:func:`feeds.records.read_record` then says why)."""
    try:
        read = read_stated(path, MAX_RECORD_BYTES)
    except OSError:
        return None
    return read if len(read[0]) <= MAX_RECORD_BYTES else None


@dataclass(frozen=True, slots=True)
class _Task:
    """How to check files: against which schema, keeping their articles, hashing them,
    with the fast YAML reader (placing top-level findings from the lines then)."""

    schema: Schema
    articles: bool
    hashing: bool
    fast_yaml: bool = True


# What the cache needs to know a file again without reading it: its stat data, when that was
# taken (nanoseconds since the epoch), and the hash of the bytes read after it.
Hashed = tuple["FileStat", int, bytes]
# What the cache keeps of a result (:func:`feeds.cache.pack`): without its articles, and in
# full when they are wanted.
Packed = tuple[bytes, bytes | None]


class _Checked(NamedTuple):
    """One file checked: its result, and, when hashing (for the cache), how it was seen
    (``None`` when its bytes could not be read) and the result packed for the cache.

    Packed where the file is checked, on every core: the process that gathers the results
    packed each again, pickling and compressing what it had just unpickled, about 0.1 ms
    for a seed-shaped record with its articles, while it also merges them (see
    :meth:`sent`).  A named tuple, since thousands travel from the workers: a data class
    with slots is pickled and unpickled by a function call of its own each."""

    result: FileResult | None
    hashed: Hashed | None = None
    packed: Packed | None = None

    def sent(self) -> _Checked:
        """As a worker sends it: the result only packed, when it is, since unpacking it is
        all the receiving process then does with it, where it unpickled the result and
        packed it again."""
        if self.packed is None:
            return self
        return _Checked(None, self.hashed, self.packed)

    def received(self) -> tuple[FileResult, Hashed | None, Packed | None]:
        """The result, unpacked when it was sent packed."""
        if self.result is not None:
            return self.result, self.hashed, self.packed
        assert self.packed is not None  # sent() keeps a result it has not packed
        summary, full = self.packed
        from feeds.cache import unpack  # noqa: PLC0415 - only runs with a cache need it

        result = unpack(summary if full is None else full)
        assert isinstance(result, FileResult)
        return result, self.hashed, self.packed


def _check_path(file: str, path: Path, task: _Task) -> _Checked:
    """The file checked; how it was seen and its result packed only when hashing."""
    read = _read(path)
    if read is None:
        return _Checked(check_loaded(read_record(path), task.schema, articles=task.articles))
    raw, state, observed = read
    loaded = parse_record(file, raw, fast=task.fast_yaml)
    result = check_loaded(loaded, task.schema, articles=task.articles, quick=task.fast_yaml)
    if not task.hashing:
        return _Checked(result)
    from feeds.cache import FileStat, digest, pack  # noqa: PLC0415 - only runs with a cache

    summary = pack(result if result.articles is None else result._replace(articles=None))
    full = None  # stored only when its articles are wanted
    if task.articles:
        full = summary if result.articles is None else pack(result)
    return _Checked(result, (FileStat.of_state(state), observed, digest(raw)), (summary, full))


def _check_chunk(items: list[tuple[str, str]]) -> list[_Checked]:
    task: _Task = INHERITED["task"]  # the worker was forked after it was set
    return [_check_path(file, Path(path), task).sent() for file, path in items]


def _check_paths(
    todo: Sequence[tuple[str, str]], task: _Task, progress: Progress
) -> Generator[tuple[FileResult, Hashed | None, Packed | None], None, None]:
    """Results for ``(label, name)`` pairs, in order; in worker processes when it pays."""
    if len(todo) < PARALLEL_MIN_FILES:
        yield from _checked_here(todo, task, progress)
        return
    if task.fast_yaml:
        # Loaded once, here, for every worker forked after: each imported it and compiled
        # its gate on its own (30-50 ms), and so did this process again, at the end, to
        # place what the checks across records found (feeds.records.Locator.of_file).
        from feeds import yamlfast  # noqa: F401, PLC0415
    task.schema.compile()  # once, for every worker forked after, as yamlfast above
    with Workers() as workers:
        pool = workers.get(task=task)
        if pool is None:  # one core
            yield from _checked_here(todo, task, progress)
            return
        chunks = [list(todo[i : i + CHUNK]) for i in range(0, len(todo), CHUNK)]
        for chunk, done in zip(chunks, pool.map(_check_chunk, chunks), strict=True):
            for (file, where), checked in zip(chunk, done, strict=True):
                yield _received(checked, file, where, task)
            progress.advance(len(done))


def _checked_here(
    todo: Sequence[tuple[str, str]], task: _Task, progress: Progress
) -> Iterator[tuple[FileResult, Hashed | None, Packed | None]]:
    """:func:`_check_paths` in this process."""
    for file, name in todo:
        yield _check_path(file, Path(name), task).received()
        progress.advance()


def _received(
    checked: _Checked, file: str, path: str, task: _Task
) -> tuple[FileResult, Hashed | None, Packed | None]:
    """What a worker sent for ``file``; checked again here if what it packed does not
    unpack.  Before workers packed results, only the cache unpacked them, and an entry that
    did not unpack was checked again; such a result still is, rather than ending the run."""
    from feeds.cache import CorruptEntry  # noqa: PLC0415 - only runs with a cache pack

    try:
        return checked.received()
    except CorruptEntry:
        return _check_path(file, Path(path), task).received()


def hashed_now(path: Path) -> Hashed | None:
    """The file's stat data, when it was taken, and the hash of the bytes read after it;
    ``None`` when it cannot be read as a record."""
    from feeds.cache import FileStat, digest  # noqa: PLC0415 - only runs with a cache

    read = _read(path)
    if read is None:
        return None
    raw, state, observed = read
    return FileStat.of_state(state), observed, digest(raw)


def known_digests(
    paths: Sequence[Path], cache: Cache, vouched: Sequence[bytes | None] | None = None
) -> list[bytes | None]:
    """The content hash of each file, when the cache has seen it before: without reading it
    when its stat data is unchanged and settled, else by hashing it again.  ``None`` for a
    file the cache does not know (or that cannot be read): it is checked, and hashed then.
    ``vouched`` are hashes known already, by the same rule (:mod:`feeds.uptodate`), with
    ``None`` for the files to look up."""
    from feeds.cache import file_state, settled  # noqa: PLC0415 - only runs with a cache

    digests: list[bytes | None] = [None] * len(paths) if vouched is None else list(vouched)
    rest = [index for index, value in enumerate(digests) if value is None]
    names = absolute_names(picked(paths, rest))
    known = cache.known_digests(names)
    fresh: list[tuple[str, FileStat, int, bytes]] = []
    for index, key in zip(rest, names, strict=True):
        entry = known.get(key)
        if entry is None:
            continue
        path = paths[index]
        old_stat, old_observed, old_digest = entry
        now = file_state(path)
        if now is not None and settled(now, old_stat, old_observed):
            digests[index] = old_digest
            continue
        hashed = None if now is None else hashed_now(path)
        if hashed is None:
            continue
        digests[index] = hashed[2]
        fresh.append((key, *hashed))
    cache.remember_digests(fresh)
    return digests


def cached_results(
    cache: Cache,
    wanted: Sequence[tuple[str, bytes]],
    context: str,
    *,
    articles: bool = True,
    lean: Container[str] = (),
) -> dict[str, FileResult]:
    """The cached results of the ``(label, hash)`` pairs, with their articles when
    ``articles`` unless labelled in ``lean``."""
    full = [item for item in wanted if item[0] not in lean] if articles else []
    summaries = [item for item in wanted if item[0] in lean] if articles else wanted
    found = cache.results(summaries, context, summary=True)
    found.update(cache.results(full, context))
    return {
        label: result
        for label, result in found.items()
        if isinstance(result, FileResult) and result.file == label
    }


class _CachedInOrder:
    """The cached results of ``wanted`` (``(label, hash)`` pairs in file order): which the
    cache holds (``held``), found at once; then the results, read a few hundred at a time
    (:data:`feeds.cache.FEW_LABELS`) as :func:`scan` takes them in that order.  A build
    whose graph was not at hand, with every file of 100,000 records cached, read them all
    first, and held 1.9 GB through checking and rendering."""

    def __init__(
        self,
        cache: Cache,
        wanted: Sequence[tuple[str, bytes]],
        context: str,
        *,
        articles: bool,
        lean: Container[str],
    ) -> None:
        summaries = lean if articles else {label for label, _ in wanted}
        self.held = cache.held(wanted, context, summary=summaries)
        self._wanted = [item for item in wanted if item[0] in self.held]
        self._cache, self._context = cache, context
        self._articles, self._lean = articles, lean
        self._batch: dict[str, FileResult] = {}
        self._taken = self._read = 0

    def take(self, label: str) -> FileResult | None:
        """The result of ``label``, the next of ``wanted`` that is held; ``None`` when it is
        damaged."""
        from feeds.cache import FEW_LABELS  # noqa: PLC0415 - only runs with a cache

        if self._taken == self._read:
            batch = self._wanted[self._read : self._read + FEW_LABELS]
            self._batch = cached_results(
                self._cache, batch, self._context, articles=self._articles, lean=self._lean
            )
            self._read += len(batch)
        self._taken += 1
        return self._batch.pop(label, None)


def _cached(
    paths: Sequence[Path],
    labels: Sequence[str],
    cache: Cache | None,
    context: str,
    *,
    digests: Sequence[bytes | None] | None,
    known: Mapping[str, FileResult],
    articles: bool,
    lean: Container[str],
) -> tuple[Sequence[bytes | None], _CachedInOrder | None]:
    """For :func:`scan`: the hash of each file (``digests`` when known) and the results the
    cache holds of those not ``known``."""
    if cache is None:
        return [None] * len(paths), None
    if digests is None:
        digests = known_digests(paths, cache)
    wanted = [
        (label, d)
        for label, d in zip(labels, digests, strict=True)
        if d is not None and label not in known
    ]
    return digests, _CachedInOrder(cache, wanted, context, articles=articles, lean=lean)


def scan(
    paths: Sequence[Path],
    schema: Schema,
    cache: Cache | None,
    *,
    progress: Progress | None = None,
    articles: bool = True,
    contents: dict[str, bytes] | None = None,
    digests: Sequence[bytes | None] | None = None,
    lean: Container[str] = (),
    known: Mapping[str, FileResult] | None = None,
) -> Iterator[FileResult]:
    """Every file's result, in file order, reusing cached results for contents already
    checked; one at a time, so a caller can let go of each once it has used it.  Without
    ``articles``, results may lack them (validating needs none).

    Without a cache, each file is read once: its hash comes from the bytes checked.  With a
    cache, ``contents`` (when given) is filled with the hash of the bytes each result was
    made from, by label: what a build was made from, exactly (see :func:`feeds.api.build`).
    ``digests`` are :func:`known_digests` of ``paths`` when the caller has them already.
    Cached results of the files labelled in ``lean`` come without their articles (the
    caller has them, see :mod:`feeds.graphcache`).  ``known`` are results the caller has
    already for the content of some files (``digests`` then given), by label: those files
    are neither looked up nor checked."""
    progress = progress or Quiet()
    known = known or {}
    labels = labels_of(paths)
    context = "" if cache is None else schema_key(schema)
    digests, cached = _cached(
        paths, labels, cache, context, digests=digests, known=known, articles=articles, lean=lean
    )
    held = frozenset() if cached is None else cached.held
    todo = [i for i, label in enumerate(labels) if label not in held and label not in known]
    progress.start(f"Reading {len(todo)} files", len(todo))
    fresh: list[tuple[str, bytes, bytes, bytes | None]] = []
    seen: list[tuple[str, FileStat, int, bytes]] = []
    files = picked(paths, todo)
    work = list(zip([labels[i] for i in todo], names_of(files), strict=True))
    # Absolute names, for the cache, of the files checked here only.
    names = dict(zip(todo, absolute_names(files), strict=True)) if cache is not None else {}
    task = _Task(
        schema, articles, hashing=cache is not None, fast_yaml=len(todo) >= FAST_YAML_MIN_FILES
    )
    checked = _check_paths(work, task, progress)
    try:
        for index, label in enumerate(labels):
            found = known.get(label)
            if found is None and cached is not None and label in held:
                found = cached.take(label)
            if found is not None:
                if contents is not None and (value := digests[index]) is not None:
                    contents[label] = value
                yield found
                continue
            if label in held:  # its entry was found damaged as it was read: checked here
                names[index] = absolute_names(picked(paths, [index]))[0]
                result, hashed, packed = _check_path(label, paths[index], task).received()
            else:
                result, hashed, packed = next(checked)
            if hashed is not None and packed is not None and cache is not None:
                stat, observed, value = hashed
                if contents is not None:
                    contents[label] = value
                seen.append((names[index], stat, observed, value))
                fresh.append((label, value, *packed))
                if len(fresh) >= STORE_BATCH:  # packed entries are not all held at once
                    cache.store_results(fresh, context, seen)
                    fresh.clear()
                    seen.clear()
            yield result
    finally:
        checked.close()  # lets a pool started here shut down now
        progress.finish()
    if cache is not None:
        cache.store_results(fresh, context, seen)
