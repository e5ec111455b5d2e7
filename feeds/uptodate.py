"""Knowing from stat data that a build has nothing to do, and what it would report.

Most builds run on a push or a commit that changed no record.  A build therefore leaves a
:class:`Snapshot` beside the cache: the stat data of every record file as it was when its
content was hashed, what the build was made from (:func:`feeds.api.build`), and what
checking found in each file.  The next build that finds the same files with the same stat
data, the same schema, settings and code, and the output as the last build left it, has
nothing to do: it says so from the snapshot, without opening the cache.  Only a file whose
stat data was not yet settled when it was taken (see :func:`feeds.cache.settled`: it had
changed just before), or that was touched since, is read and hashed again; when it holds
what it held, the snapshot takes it as it now is.

A build that has something to do still gains from the snapshot: the files it finds with
their stat data unchanged and settled hold the content it names, so the build neither
stats them again nor asks the cache for them (:class:`Looked`).  At 100,000 records, where
one record changed, that spared a second stat call per file and reading every row of the
cache's table of file hashes.

One finding depends on the clock: a date in the future (:func:`feeds.checks.future_date_findings`).
The snapshot keeps the others, and which files held a date after the build's clock, with
where each such date sits; only those files are read again, and only while their dates are
still ahead.  A date ahead of a later clock was ahead of this one: its place is known, and
the file's YAML is not composed again to find it.

A missing, damaged or foreign snapshot, or one from another build than the last build
record's, is ignored: the build then checks by content hashes, as it would without one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from feeds.cache import (
    DIAGNOSTIC_CLASSES,
    Cache,
    FileStat,
    file_state,
    read_record,
    record_path,
    settled,
    write_record,
)
from feeds.checks import FUTURE_DATE
from feeds.diagnostics import Diagnostic
from feeds.records import absolute_names, picked

_FORMAT = b"feeds-snapshot-4\n"  # 4: where the dates ahead sit

# A record file as it was when its content was hashed: its path, size, modification and
# change times, inode, when that stat data was taken (all times in nanoseconds), and the
# hash of its content.
Source = tuple[str, int, int, int, int, int, bytes]
_SOURCE_FIELDS = 7
# A file's problems, but dates in the future, and whether it could be read as a record.
Checks = tuple[str, tuple[Diagnostic, ...], bool]
# A file with a date after the build's clock: its index in the checks, its latest date
# (microseconds since the epoch), and the field, line and column of each date ahead.
Ahead = tuple[int, int, tuple[tuple[str, int, int], ...]]


@dataclass(frozen=True)
class Looked:
    """A build's record files as their stat data shows them against a :class:`Snapshot`,
    in order.  ``vouched`` holds, for each, its :data:`Source` in the snapshot when the
    file still has the stat data taken then, settled: it still holds the content hashed
    then.  Else ``None``: the file is new, was touched since, or was not settled.  ``now``
    holds the stat data of each (``None`` when it cannot be taken).  ``same_files``: the
    snapshot is of these very files, in this order."""

    vouched: tuple[Source | None, ...]
    now: tuple[FileStat | None, ...]
    same_files: bool


@dataclass(frozen=True)
class Snapshot:
    """What a build was made from and found, for the next build to compare with.

    ``made_from`` is the last build record's ``inputs`` (:mod:`feeds.rendercache`), so a
    snapshot is used only with the record of the same build.  ``clock`` is the build's time
    (microseconds since the epoch); ``ahead`` every file with a date after it."""

    made_from: bytes
    settings: bytes
    clock: int
    sources: tuple[Source, ...]
    checks: tuple[Checks, ...]
    ahead: tuple[Ahead, ...]
    published: int

    def look(self, names: Sequence[str]) -> Looked:
        """The files ``names`` against this snapshot (see :class:`Looked`), with one stat
        call each: what tells a build whether it has anything to do also tells it, when it
        has, which contents it knows without reading them or asking the cache."""
        sources: Iterable[Source | None] = self.sources
        same_files = len(names) == len(self.sources) and all(
            name == source[0] for name, source in zip(names, self.sources, strict=True)
        )
        if not same_files:
            by_name = {source[0]: source for source in self.sources}
            sources = [by_name.get(name) for name in names]
        vouched: list[Source | None] = []
        now: list[FileStat | None] = []
        for name, source in zip(names, sources, strict=True):
            state = file_state(name)
            now.append(state)
            unchanged = (
                source is not None and state is not None and settled(state, source[1:5], source[5])
            )
            vouched.append(source if unchanged else None)
        return Looked(tuple(vouched), tuple(now), same_files)

    def in_doubt(self, labels: Sequence[str], settings: bytes, looked: Looked) -> list[int] | None:
        """Whether the files :meth:`look` ``looked`` at (labelled ``labels``) may be those
        this snapshot was taken of, under the same ``settings``: ``None`` when they are not,
        else the indexes of those whose content must be hashed again to tell.  Those are
        the files whose stat data was not settled when taken, and those touched since
        (other stat data, the same size: a checkout or a script that rewrote them as they
        were)."""
        if settings != self.settings or not looked.same_files:
            return None
        if any(label != checks[0] for label, checks in zip(labels, self.checks, strict=True)):
            return None
        doubtful = []
        for index, (source, vouched, now) in enumerate(
            zip(self.sources, looked.vouched, looked.now, strict=True)
        ):
            if vouched is None:
                if now is None or now.size != source[1]:
                    return None
                doubtful.append(index)
        return doubtful

    def confirmed(self, indexes: Iterable[int]) -> Snapshot | None:
        """This snapshot with the files at ``indexes`` hashed again and taken as they now
        are, when each still holds the content it was taken with; else ``None``."""
        from feeds.scan import hashed_now  # noqa: PLC0415 - only a touched file needs it

        sources = list(self.sources)
        for index in indexes:
            name, *_, used = sources[index]
            now = hashed_now(Path(name))
            if now is None or now[2] != used:
                return None
            stat, observed, _ = now
            sources[index] = (name, *stat, observed, used)
        return replace(self, sources=tuple(sources))


def without_clock(diagnostics: Iterable[Diagnostic]) -> tuple[Diagnostic, ...]:
    """The findings that do not depend on when the build ran."""
    return tuple(d for d in diagnostics if d.rule != FUTURE_DATE)


def dates_ahead(diagnostics: Iterable[Diagnostic]) -> tuple[tuple[str, int, int], ...]:
    """Where the dates in the future sit, as :data:`Ahead` keeps them."""
    return tuple(
        (d.field, d.line, d.column)
        for d in diagnostics
        if d.rule == FUTURE_DATE and d.line is not None and d.column is not None
    )


def sources_of(
    paths: Sequence[Path],
    digests: Sequence[bytes],
    vouched: Sequence[Source | None],
    cache: Cache,
) -> tuple[Source, ...] | None:
    """Each of ``paths`` as :data:`Source`, when that is the content the build used
    (``digests``): as the last snapshot took it where it vouches for that content
    (``vouched``, see :class:`Looked`), else from what the cache knows of it; ``None``
    when one is not known so."""
    sources = [
        source if source is not None and source[6] == used else None
        for source, used in zip(vouched, digests, strict=True)
    ]
    rest = [index for index, source in enumerate(sources) if source is None]
    names = absolute_names(picked(paths, rest))
    hashed = cache.known_digests(names)
    for index, name in zip(rest, names, strict=True):
        known = hashed.get(name)
        if known is None or known[2] != digests[index]:
            return None
        stat, observed, used = known
        sources[index] = (str(paths[index]), *stat, observed, used)
    return tuple(source for source in sources if source is not None)


def snapshot_path(cache_folder: Path, output: Path) -> Path:
    return record_path(cache_folder, output, "snapshot")


def store_snapshot(path: Path, snapshot: Snapshot) -> None:
    write_record(
        path,
        _FORMAT,
        (
            snapshot.made_from,
            snapshot.settings,
            snapshot.clock,
            snapshot.sources,
            snapshot.checks,
            snapshot.ahead,
            snapshot.published,
        ),
    )


def load_snapshot(path: Path) -> Snapshot | None:
    """The snapshot at ``path``; ``None`` when there is none or it is not intact."""
    value: Any = read_record(path, _FORMAT, DIAGNOSTIC_CLASSES)
    try:
        made_from, settings, clock, sources, checks, ahead, published = value
        snapshot = Snapshot(
            bytes(made_from),
            bytes(settings),
            int(clock),
            tuple(sources),
            tuple(checks),
            tuple(
                (
                    int(index),
                    int(latest),
                    tuple((str(f), int(ln), int(col)) for f, ln, col in dated),
                )
                for index, latest, dated in ahead
            ),
            int(published),
        )
        if not all(len(source) == _SOURCE_FIELDS for source in snapshot.sources):
            return None
        if len(snapshot.sources) != len(snapshot.checks):
            return None
        if not all(0 <= index < len(snapshot.checks) for index, _, _ in snapshot.ahead):
            return None
    except (TypeError, ValueError):  # no record, or a body that is not our rows
        return None
    return snapshot
