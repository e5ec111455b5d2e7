"""Bytes put aside in a file with no name while a build runs, and read back by key.

A process that renders keeps the entries it rendered last at hand (:mod:`feeds.entries`),
a few thousand of them.  Feeds that list few articles over a long time (a provider cited
now and then, a rare topic) list entries rendered long before, let go since: in a cold
build of 10,000 records with 5,243 feeds, in one process, 121,217 entries were rendered
for 10,500 articles.  An entry let go while documents still to come list it is put aside
here instead, and read back for them.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import IO, Generic, TypeVar

K = TypeVar("K", bound=Hashable)

# What is put aside is written to the file once this much of it is waiting: each write is a
# call to the system.
BUFFER_BYTES = 1 << 20
# Once the file is this long and the values still held take less than a quarter of it,
# they are written into a new one: values are forgotten as fast as others are put, and
# the file would grow with all that was ever put.  In the build above it reached 197 MB,
# for at most 10,816 values held at once (about 60 MB): within four times that, it was
# never moved.
COMPACT_BYTES = 64 << 20
# The share of the room left on its disk that a file may take, at most: the entries of each
# kind in each process that renders have one, four together in a build on two cores.
ROOM_SHARE = 16
# Each part's length takes this many bits of a value's place.
_LENGTH_BITS = 32
_LENGTH_MASK = (1 << _LENGTH_BITS) - 1


def unnamed_file(folder: Path | None) -> IO[bytes]:
    """A file to write and read, without a name, in ``folder`` if one can be made there."""
    if folder is not None:
        try:
            return tempfile.TemporaryFile(dir=folder)
        except OSError:
            pass
    return tempfile.TemporaryFile()


class AppendedFile:
    """Bytes appended to a file with no name (in ``folder``, else where the system keeps
    temporary files), written ``buffer_bytes`` at a time, and read back by where they
    start.  Once the file cannot be made or written to, it is not :attr:`writable`: what
    is appended then stays in memory, and is read from there."""

    def __init__(self, folder: Path | None, buffer_bytes: int) -> None:
        self._folder = folder
        self._buffer_bytes = buffer_bytes
        self._file: IO[bytes] | None = None
        self._pending = bytearray()  # appended, not written yet
        self.written = 0
        self.writable = True
        self.room_left: int | None = None  # on its disk when the file was made

    @property
    def end(self) -> int:
        """Where the next bytes appended start."""
        return self.written + len(self._pending)

    @property
    def waiting(self) -> int:
        """How many bytes appended are not written yet."""
        return len(self._pending)

    def append(self, blob: bytes) -> int:
        """Where ``blob``, now appended, starts."""
        start = self.end
        self._pending += blob
        if len(self._pending) >= self._buffer_bytes and self.writable:
            self._write()
        return start

    def read(self, start: int, size: int) -> bytes | None:
        """The ``size`` bytes appended from ``start``; ``None`` when they cannot be read
        back whole."""
        blob = self.read_from(start, size)
        return blob if len(blob) == size else None

    def read_from(self, start: int, most: int) -> bytes:
        """Up to ``most`` bytes appended from ``start``: no further than the file goes, when
        they start in it, nor than what was appended, else.  Bytes appended at once are
        wholly in one or the other."""
        if start >= self.written:
            at = start - self.written
            return bytes(self._pending[at : at + most])
        if self._file is None:  # nothing written: never so
            return b""
        try:
            return os.pread(self._file.fileno(), most, start)
        except OSError:
            return b""

    def close(self) -> None:
        if self._file is not None:
            self._file.close()

    def _write(self) -> None:
        try:
            if self._file is None:
                self._file = unnamed_file(self._folder)
                room = os.fstatvfs(self._file.fileno())
                self.room_left = room.f_bavail * room.f_frsize
            self._file.write(self._pending)
            self._file.flush()  # read by its place, past the file object
        except OSError:
            self.writable = False  # what was not written stays here
            return
        self.written += len(self._pending)
        self._pending.clear()


class Aside(Generic[K]):
    """Values of ``parts`` byte strings each, put aside by key in a file of their own (in
    ``folder``, else where the system keeps temporary files) and read back by key.

    It holds ``most`` values at most, in a file of ``most_bytes`` at most and of no more
    than a sixteenth of the room left on its disk when it was made: a build writes its
    output there too, and each process that renders has two (:mod:`feeds.entries`).
    Once the file cannot be made or written to, it holds no more.  :meth:`put` says
    whether it took a value: the caller does without.  What it holds in memory is a
    number per value, where the value is in the file."""

    def __init__(self, folder: Path | None, *, parts: int, most: int, most_bytes: int) -> None:
        self._folder = folder
        self._parts = parts
        self._most = most
        self._most_bytes = most_bytes
        self._places: dict[K, int] = {}
        self._file = AppendedFile(folder, BUFFER_BYTES)
        self._held_bytes = 0  # of the values held

    def put(self, key: K, parts: Sequence[bytes]) -> bool:
        """Put ``parts`` aside as the value of ``key``: whether it is held (a key held
        already keeps the value it has)."""
        if key in self._places:
            return True
        if not self._file.writable or len(self._places) >= self._most:
            return False
        if any(len(part) > _LENGTH_MASK for part in parts):
            return False
        end = self._file.end
        if end >= COMPACT_BYTES and 4 * self._held_bytes < end:
            self._compact()
            end = self._file.end
        if not self._file.writable or end + sum(map(len, parts)) > self._room():
            return False
        place = end
        for part in parts:
            place = place << _LENGTH_BITS | len(part)
        self._hold(key, place, b"".join(parts))
        return True

    def get(self, key: K) -> list[bytes] | None:
        """The parts put aside for ``key``; ``None`` when none are, or they cannot be read."""
        place = self._places.get(key)
        if place is None:
            return None
        start, lengths = self._unpacked(place)
        blob = self._file.read(start, sum(lengths))
        if blob is None:
            self.forget(key)
            return None
        parts = []
        at = 0
        for length in lengths:
            parts.append(blob[at : at + length])
            at += length
        return parts

    def forget(self, key: K) -> None:
        place = self._places.pop(key, None)
        if place is not None:
            self._held_bytes -= sum(self._unpacked(place)[1])

    def __contains__(self, key: object) -> bool:
        return key in self._places

    def __len__(self) -> int:
        return len(self._places)

    def _room(self) -> int:
        """How long the file may grow: lowered for good once a file was made, by the room
        left on its disk then."""
        if self._file.room_left is not None:
            self._most_bytes = min(self._most_bytes, self._file.room_left // ROOM_SHARE)
        return self._most_bytes

    def _unpacked(self, place: int) -> tuple[int, list[int]]:
        """Where a value starts, and the lengths of its parts."""
        lengths = []
        for _ in range(self._parts):
            lengths.append(place & _LENGTH_MASK)
            place >>= _LENGTH_BITS
        lengths.reverse()
        return place, lengths

    def _hold(self, key: K, place: int, blob: bytes) -> None:
        self._places[key] = place
        self._held_bytes += len(blob)
        self._file.append(blob)

    def _compact(self) -> None:
        """Write the values still held into a new file, in place of the old one, one at a
        time; a value that cannot be read is let go, and so are those left once the new
        file cannot be written to (they would all wait in memory)."""
        places, old = self._places, self._file
        self._places, self._file = {}, AppendedFile(self._folder, BUFFER_BYTES)
        self._held_bytes = 0
        shift = _LENGTH_BITS * self._parts  # the lengths' bits, under the start's
        try:
            for key, place in places.items():
                start, lengths = self._unpacked(place)
                blob = old.read(start, sum(lengths))
                if blob is not None and self._file.writable:
                    end = self._file.end
                    self._hold(key, end << shift | place & ((1 << shift) - 1), blob)
        finally:
            old.close()
