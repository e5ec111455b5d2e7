"""Reusing the documents of the previous build that would come out the same.

After a build, the key of every document (:mod:`feeds.keys`: a digest of everything it is
made from) is kept in the cache folder with the size, modification and change times and
inode of the file written for it, and a digest of its content.  The next build links a file
into its new output, instead of rendering it, only when the key is the same *and* the file
in the output folder still holds what was written for it.  Its stat data says so: any write
to it, or another file put in its place, changes its change time or inode.  When that
changed but not its size (making or removing a link to a file moves its change time; an
output restored from a CI cache is of files of their own), its content is read and must
have the digest recorded.

The record of the previous build is one file, checked by a digest of its contents: a
missing, truncated, edited or foreign one is ignored (everything is rendered), never
trusted.

A document that is rendered again mostly lists entries that have not changed: those are
taken from its previous files (:mod:`feeds.earlier`).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from feeds.cache import (
    FileStat,
    PackedStat,
    Unshared,
    content_digest,
    file_state,
    has_content,
    has_state,
    packed_state,
    pickled,
    read_record,
    record_path,
    unpickled,
    write_record,
)
from feeds.workers import ForkedParts

# 12: stat data packed (feeds.cache.PackedStat)
_FORMAT = b"feeds-documents-12\n"

# Relative path → (document key, state of the file, digest of its content: empty when not
# known).  The states are packed (feeds.cache.PackedStat), as recorded: a build reads the
# record of every file of two outputs (its last and the one before), and making a FileStat
# of each took 0.17 s of 0.45 s for 232,000 files.
Manifest = Mapping[str, tuple[bytes, PackedStat, bytes]]


def manifest_path(cache_folder: Path, output: Path) -> Path:
    return record_path(cache_folder, output, "documents")


@dataclass(frozen=True)
class SwappedOut:
    """The record of an output once the next build swapped it out and kept it
    (:func:`feeds.output.previous_path`), as it differs from the output that build wrote
    (whose rows the same record holds): the paths of that output's files it lacks
    (``gone``), and its own rows of the files it holds otherwise or that output lacks
    (``differing``, pickled as :func:`feeds.cache.pickled` makes them).

    The two outputs mostly hold the very same files: a build that changed one record at
    100,000 records kept 232,196 of 232,459 files alike.  Read back whole, the rows of
    the output kept took 0.26-0.47 s of such a build; made from the new output's, 6 ms
    (and the record weighs 26.2 MB, not 52.2 MB)."""

    gone: Sequence[str] = ()
    differing: bytes = field(default=b"", repr=False)

    def manifest(self, new: Manifest) -> Manifest:
        """The files it holds, by path (see :data:`Manifest`), given those of the output
        that replaced it (``new``)."""
        files = dict(new)
        for path in self.gone:
            files.pop(path, None)
        if self.differing:
            files.update(_manifest(unpickled(self.differing)))
        return files


@dataclass(frozen=True)
class LastBuild:
    """What a build wrote into its output folder, as the next build finds it.

    ``rows``: every file written, with its document key (empty for the stylesheet and
    icon), its state once in place and the digest of its content, as stored; :attr:`files`
    by path.
    ``inputs`` identifies everything the build was made from (:func:`feeds.api.build`);
    ``articles`` and ``feeds`` are its counts."""

    # Made into :attr:`files` only when asked for: a build with nothing to do checks the
    # rows as they are, which took half the time.
    rows: Sequence[Any] = field(default=(), repr=False)
    inputs: bytes = b""
    articles: int = 0
    feeds: int = 0
    folders: Mapping[str, PackedStat] = field(default_factory=dict)  # "" is the output itself
    build: bytes = b""  # the build, as the article graph it published names it (graphcache)
    # The output it swapped out and kept, as it differs from its own (read only when asked
    # for: a build with nothing to do never needs it).
    kept: SwappedOut = field(default=SwappedOut(), repr=False)
    # What its documents were keyed with besides their entries (:mod:`feeds.knownkeys`):
    # a digest of the settings, and each feed's kind, key and name by path.
    settings: bytes = b""
    shapes: Mapping[str, tuple[str, str, str]] = field(default_factory=dict, repr=False)

    @functools.cached_property
    def files(self) -> Manifest:
        """Every file written, by path: its document key and its state once in place."""
        try:
            return _manifest(self.rows)
        except Exception:  # rows not as this code writes them: nothing is known of it
            return {}

    @functools.cached_property
    def previous(self) -> Manifest:
        """The files of the output it swapped out and kept (:func:`feeds.output.previous_path`),
        as they were once it was in place."""
        try:
            return self.kept.manifest(self.files)
        except Exception:  # rows not as this code writes them: nothing is known of it
            return {}

    def file_names(self) -> list[str]:
        """The paths of the files written, in order.  (Unpacking each row for its first
        field took 51 ms for the 232,459 files of an output of 100k records, against 15 ms.)"""
        return sorted([str(row[0]) for row in self.rows])

    def swapped_out(self, folder: Path, linked: Collection[str]) -> Manifest:
        """These files once the next build swapped them out and kept them in ``folder``
        (:func:`feeds.output.previous_path`).

        A file that build ``linked`` (found intact, as recorded) has a new change time, so
        its state is taken again.  The others are recorded as they were: one changed since,
        or whose link in the staging folder was replaced, no longer matches and is never
        taken for a document (taking its state now would vouch for whatever it holds)."""
        name = _namer(folder)
        files = dict(self.files)
        for path in linked:
            if (known := files.get(path)) is not None:
                state = file_state(name(path))
                if state is None:
                    del files[path]
                else:
                    key, _, digest = known
                    files[path] = (key, packed_state(state), digest)
        return files

    def intact(self, output: Path) -> bool:
        """Whether ``output`` holds every file as this build left it, and nothing else."""
        return all(self.intact_part(output, part) for part in range(self.intact_parts()))

    def intact_parts(self) -> int:
        """How many parts :meth:`intact_part` checks the output in: its folders, then its
        files :data:`INTACT_PART_FILES` at a time."""
        return 1 + -(-len(self.rows) // INTACT_PART_FILES)

    def intact_part(self, output: Path, part: int) -> bool:
        """Whether part ``part`` of ``output`` is as this build left it: first the folders
        (a file added to or removed from a folder changes the folder's times), then the
        files, in the order of :attr:`rows`."""
        name = _namer(output)
        try:
            if part == 0:
                return bool(self.rows) and all(
                    has_state(name(path), state) for path, state in self.folders.items()
                )
            start = (part - 1) * INTACT_PART_FILES
            return all(
                has_state(name(str(path)), state)
                for path, _, state, _ in self.rows[start : start + INTACT_PART_FILES]
            )
        except (TypeError, ValueError):  # rows not as this code writes them
            return False


# The files of an output checked at a time by :meth:`LastBuild.intact_part`.  A build that
# may have nothing to do checks its output in a forked copy of itself, and then itself too,
# part by part from the other end (:class:`feeds.workers.ForkedCheck`): parts of a few
# milliseconds each let the two meet close to the middle.
INTACT_PART_FILES = 512


def load_last_build(path: Path) -> LastBuild:
    """The record of the previous build; an empty one when there is none or it is not intact."""
    try:
        record = read_record(path, _FORMAT)
        inputs, articles, feeds, stored, folder_rows, build, kept, settings, shapes = record
        folders = {str(relative): state for relative, state in folder_rows}
        if not all(type(state) is bytes for state in folders.values()):
            return LastBuild()  # a folder not checked would pass for unchanged
        rows = unpickled(stored)
        if not isinstance(rows, list):
            return LastBuild()
        gone, differing = kept
        if not isinstance(gone, list) or not isinstance(differing, bytes):
            return LastBuild()
        return LastBuild(
            rows,
            bytes(inputs),
            int(articles),
            int(feeds),
            folders,
            bytes(build),
            SwappedOut(gone, differing),
            bytes(settings),
            {str(path): (str(kind), str(key), str(name)) for path, kind, key, name in shapes},
        )
    except Exception:  # no record, or a body that is not our rows: ignored as a whole
        return LastBuild()


def _manifest(rows: Iterable[Any]) -> dict[str, tuple[bytes, PackedStat, bytes]]:
    return {
        relative: (key, state, digest)
        for relative, key, state, digest in rows
        if type(relative) is str
        and type(key) is bytes
        and type(state) is bytes
        and type(digest) is bytes
    }


def store_last_build(
    path: Path,
    output: Path,
    written: Mapping[str, bytes],
    *,
    inputs: bytes,
    articles: int,
    feeds: int,
    build: bytes = b"",
    kept: Collection[str] = (),
    recorded: Manifest | None = None,
    digests: Mapping[str, bytes] | None = None,
    previous: Manifest | None = None,
    mirrored: bool = False,
    settings: bytes = b"",
    shapes: Mapping[str, tuple[str, str, str]] | None = None,
) -> None:
    """Record every file just written to ``output`` (by path, with its document key), the
    state of its file and the digest of its content: for the files ``kept`` as the output
    it started from held them, as ``recorded`` there (key included: a file is kept only
    for the document it was recorded for); for the others, as they now are and as
    ``digests`` (by path) says.  With them go, as they differ from those, the files of
    the ``previous`` output it kept (see :meth:`LastBuild.swapped_out`), when it kept no
    copy of its own output instead (``mirrored``: the very same files, none differing),
    and the ``settings`` and feed ``shapes`` the keys were worked out with
    (:mod:`feeds.knownkeys`).

    Called after the new output is in place: linking a file changes its change time, so the
    state is taken from the files as they now are.  The files kept, nearly all of the
    239,776 after one record changed at 100,000 records, are copied from ``recorded`` in
    its order; one test per file finds those not kept, and only those are stated.  Making
    each file's row anew, looking each file written up in ``kept`` and ``recorded``, made
    recording such a build take 0.53-0.66 s against 0.31-0.43 s (in the build's process,
    eight each, alternated)."""
    name = _namer(output)
    files: dict[str, tuple[bytes, PackedStat, bytes]] = {}
    again: Iterable[str] = written
    if kept and recorded and not mirrored:  # linking every file moved its change time
        files = dict(recorded)
        for relative in [relative for relative in recorded if relative not in kept]:
            del files[relative]
        again = [relative for relative in written if relative not in files]
        if len(files) + len(again) != len(written):  # kept and not written: not recorded
            for relative in files.keys() - written.keys():
                del files[relative]
    digests = digests or {}
    for relative in again:
        if (now := file_state(name(relative))) is not None:
            files[relative] = (written[relative], packed_state(now), digests.get(relative, b""))
    folders = {""}  # "" is the output folder itself
    for parent in {relative.rpartition("/")[0] for relative in files}:
        folder = parent
        while folder not in folders:  # and once it is, so are the folders above it
            folders.add(folder)
            folder = folder.rpartition("/")[0]
    folder_rows = [
        (folder, packed_state(folder_state))
        for folder in sorted(folders)
        if (folder_state := file_state(name(folder))) is not None
    ]
    kept_rows = ([], b"") if mirrored else _differences(previous or {}, files)
    shape_rows = [(feed, *shape) for feed, shape in (shapes or {}).items()]
    rows = [(relative, *row) for relative, row in files.items()]  # plain values: no class
    # Without the memo: no two rows share what matters, and pickling the rows of 232,459
    # files took 233-369 ms with it, against 61-62 ms.
    stored = pickled(Unshared(rows))
    write_record(
        path,
        _FORMAT,
        (inputs, articles, feeds, stored, folder_rows, build, kept_rows, settings, shape_rows),
    )


def _differences(kept: Manifest, new: Manifest) -> tuple[list[str], bytes]:
    """The files ``kept`` as :class:`SwappedOut` records them, against the ``new`` output:
    the paths they lack, and their own rows of those they hold otherwise."""
    gone = [relative for relative in new if relative not in kept]
    differing = [
        (path, *known)
        for path, known in kept.items()
        if (now := new.get(path)) is not known and now != known  # mostly the very row
    ]
    return gone, pickled(Unshared(differing)) if differing else b""


def still_there(
    previous: Manifest,
    folder: Path,
    names: Iterable[str],
    key: bytes,
    *,
    shared_with: Manifest | None = None,
    restated: list[str] | None = None,
    stated: StatedAhead | None = None,
) -> bool:
    """Whether the files ``names`` of an earlier build's output, now at ``folder``, hold
    exactly the document of ``key`` as recorded in ``previous``; with ``shared_with`` (the
    record of the output in place), only when each is the very file recorded there too, so
    that keeping it keeps one copy on disk for both outputs.  A file is taken for the
    one recorded by its stat data (which ``stated`` may have found already, for these very
    files and this record), or else by its content (:func:`feeds.cache.has_content`):
    those taken by their content are added to ``restated``."""
    name = _namer(folder)
    for relative in names:
        known = previous.get(relative)
        if known is None or known[0] != key:
            return False
        if shared_with is not None and shared_with.get(relative) != known:
            return False
        if stated is not None and stated.found(relative):
            continue
        path = name(relative)
        # The file itself: a link to the file recorded is not it, since the build that
        # takes it links it into its new output.
        if has_state(path, known[1], follow_symlinks=False):
            continue
        if not has_content(path, known[1], known[2]):
            return False
        if restated is not None:
            restated.append(relative)
    return True


class StatedAhead:
    """The files of an output before last (``folder``, recorded in ``previous``) found with
    the stat data recorded of them, by a forked copy of the build that states them while
    the build reads its graph back, merges and plans (:class:`feeds.workers.ForkedParts`).
    :func:`still_there` then takes each file the copy found so without stating it again.
    At 10,000 records, where a build that changed one record keeps some 23,000 such files,
    writing the documents took 0.29-0.47 s against 0.36-0.55 s (ten builds each,
    alternated, in parts of 512), the build 1.27-2.00 s against 1.34-1.98 s; at 100,000
    records (232,000 files), writing took 1.29-1.86 s against 1.94-3.12 s (fourteen each),
    the build 13.2-15.7 s against 12.9-17.9 s, the machine's speed moving more than that.

    The files are stated in parts of about :data:`STATED_PART_FILES`, each file in the
    part its path hashes to: the copy gathers them, and the build finds a file's part
    without looking it up.  (The two processes hash alike: the copy is forked.)  One file
    found otherwise fails its part, whose files the build states itself, as it does those
    of the parts the copy has not got to yet.  What the copy found is taken until the new
    output replaces the old, as what the build itself finds already was: the output before
    last is this build's own, and the lock of the build keeps other builds out of it.

    The folder is named as it was when the copy was made: the build then renames it to
    start its new output from (:func:`feeds.output.staged`), which :meth:`still_at` checks
    before anything the copy found is taken."""

    def __init__(self, previous: Manifest, folder: Path, *, fork: bool = True) -> None:
        self._previous = previous
        self._name = _namer(folder)
        self._parts = max(1, -(-len(previous) // STATED_PART_FILES))
        try:
            self._folder: FileStat | None = FileStat.of(folder)
        except OSError:
            self._folder = None
        fork = fork and self._folder is not None
        self._work = ForkedParts(self._check, self._parts, fork=fork)
        self._live = self._work.forked

    def _check(self, part: int) -> bool:
        """Whether every file of ``part`` has the stat data recorded (in the copy)."""
        name = self._name
        return all(
            has_state(name(relative), state, follow_symlinks=False)
            for relative, state in self._grouped[part]
        )

    @functools.cached_property
    def _grouped(self) -> list[list[tuple[str, PackedStat]]]:
        """The files of each part with their stat data (gathered by the copy)."""
        parts = self._parts
        grouped: list[list[tuple[str, PackedStat]]] = [[] for _ in range(parts)]
        for relative, known in self._previous.items():
            grouped[hash(relative) % parts].append((relative, known[1]))
        return grouped

    def still_at(self, folder: Path) -> None:
        """Take what the copy found only if ``folder`` is the folder it stated, renamed."""
        state = file_state(folder)
        if state is None or self._folder is None or state.inode != self._folder.inode:
            self._live = False

    def found(self, relative: str) -> bool:
        """Whether the copy found ``relative`` with the stat data recorded of it."""
        return self._live and self._work.passed(hash(relative) % self._parts)

    def __enter__(self) -> StatedAhead:
        return self

    def __exit__(self, *exc: object) -> None:
        self._live = False
        self._work.cancel()


# The files of an output before last that a forked copy of a build states at a time
# (:class:`StatedAhead`): a part is taken whole or not at all, and one file found changed
# makes the build state the others of its part again.  The builds after one that rewrote
# many documents find many files so (see :func:`feeds.cache.has_content`), spread over
# the parts: at 10,000 records, 100 records held back, built, added again and built, then
# one record changed twice, the second of those took 17,164 of the 23,252 files it kept
# as the copy found them with parts of 512, and 22,470 with parts of 64.
STATED_PART_FILES = 64


def read_as_recorded(previous: Manifest, folder: Path, relative: str) -> bytes | None:
    """The bytes of the file ``relative`` of an earlier build's output, now at ``folder``,
    when it still holds what ``previous`` records (else ``None``): its state is taken again
    after reading, so a write meanwhile is not taken for what the build wrote; when either
    differs from the one recorded, the bytes read are vouched for by their digest instead
    (see :func:`feeds.cache.has_content`)."""
    known = previous.get(relative)
    if known is None:
        return None
    _, state, digest = known
    name = _namer(folder)(relative)
    before = has_state(name, state)
    if not before and not digest:
        return None
    try:
        with open(name, "rb") as stream:  # noqa: PTH123 - the name is text here
            content = stream.read()
    except OSError:
        return None
    if before and has_state(name, state):
        return content
    return content if digest and content_digest(content) == digest else None


def _namer(output: Path) -> Callable[[str], str]:
    """Names of files in ``output`` by their relative path ("" for the folder itself):
    joined as text, since a build names every file of its output this way."""
    root = os.fspath(output)
    return lambda relative: f"{root}/{relative}" if relative else root
