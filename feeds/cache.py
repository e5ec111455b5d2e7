"""A cache of files already checked, so an unchanged file is never parsed twice.

One SQLite database in the cache folder (``.feeds-cache/`` beside the project by default).
A file's result is keyed by its name, the hash of its bytes and the schema it was checked
against.  The database also records the *fingerprint* of the code and libraries that made its
entries (every source file of feeds, the versions of the parsers and validator, the Python
version); when that changes the whole cache is dropped, so a stale entry is never used.  Each
entry carries its own checksum, and a database that cannot be read is deleted and started
again: a damaged cache costs time, never correctness.  A cache that cannot be written at all
(a read-only folder, say) is given up with one :class:`CacheWarning`; the run goes on without.

Entries are pickles, read back by an unpickler that builds only feeds' own data classes and
plain values; the cache folder is trusted no less than the project folder beside it.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import pickle
import re
import sqlite3
import stat
import struct
import sys
import warnings
from collections.abc import Callable, Collection, Container, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache as memoize
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, NamedTuple

import xxhash

from feeds.records import absolute_names

if TYPE_CHECKING:
    import zstandard

CACHE_FORMAT = "5"
DB_NAME = "feeds.sqlite3"
DIGEST_BYTES = 20
CHECKSUM_BYTES = 16  # XXH3, 128 bits
# A file changed this close to the moment its hash was stored may have changed again within
# the same tick of the file system's clock (git's "racily clean" files): its stat data is not
# trusted, its bytes are hashed again.
RACY_NS = 2_000_000_000
_LIBRARIES = (
    "yaml-rs",
    "PyYAML",
    "jsonschema-rs",
    "python-frontmatter",
    "feedgen",
    "lxml",
    "orjson",
    "python-slugify",
)
# The classes behind a date, which cached values and build records hold.
DATE_CLASSES = frozenset(("datetime", name) for name in ("datetime", "timezone", "timedelta"))
# Those behind a file's problems, which results and build records hold.
DIAGNOSTIC_CLASSES = frozenset(
    {("feeds.diagnostics", "Diagnostic"), ("feeds.diagnostics", "Severity")}
)
# What a :class:`Streamed` list is read back with.
STREAMED_CLASSES = frozenset({("builtins", "list")})
_ALLOWED_CLASSES = (
    DATE_CLASSES
    | DIAGNOSTIC_CLASSES
    | {
        ("feeds.articles", "Article"),
        ("feeds.articles", "Provider"),
        ("feeds.articles", "Image"),
        ("feeds.scan", "_restore_result"),
    }
)


class CacheWarning(UserWarning):
    """The cache could not be used; the run does all the work itself instead."""


class CorruptEntry(Exception):
    pass


def digest(data: bytes) -> bytes:
    """The key of a record file's content: the cache takes the result of a file with the
    same name and key for its own, so a record made to collide with a cached one would be
    taken for it.  SHA-256, which this project's machines compute with instructions of
    their own: 7 us for a record of 9 KB, against 12-17 us with BLAKE2b."""
    return hashlib.sha256(data).digest()[:DIGEST_BYTES]


def _checksum(body: bytes) -> bytes:
    """What finds an entry damaged (XXH3, as the frames of a record, for the same reason:
    see :data:`_frame_hash`)."""
    return xxhash.xxh3_128_digest(body)


@memoize
def code_fingerprint() -> str:
    """What cached results depend on besides their input and the schema."""
    hasher = hashlib.blake2b(digest_size=20)
    hasher.update(f"{CACHE_FORMAT}\0{sys.version}\0".encode())
    package = Path(__file__).resolve().parent
    for source in sorted(package.rglob("*.py")):
        hasher.update(source.relative_to(package).as_posix().encode() + b"\0")
        hasher.update(source.read_bytes() + b"\0")
    versions = _installed_versions()
    for name in _LIBRARIES:
        version = versions.get(_distribution_key(name)) or _version_from_metadata(name)
        hasher.update(f"{name}={version}\0".encode())
    return hasher.hexdigest()


def _installed_versions() -> dict[str, str]:
    """The version of each distribution installed on ``sys.path``, by :func:`_distribution_key`,
    read from the names of their ``name-version.dist-info`` folders; the first on the path
    wins, as on import.

    Importing ``importlib.metadata`` and asking it took 30 ms or more, a tenth of a build
    with nothing to do."""
    versions: dict[str, str] = {}
    for folder in sys.path:
        try:
            names = os.listdir(folder or ".")  # noqa: PTH208 - names are all it needs
        except OSError:
            continue
        for name in names:
            if name.endswith(".dist-info"):
                distribution, _, version = name.removesuffix(".dist-info").partition("-")
                versions.setdefault(_distribution_key(distribution), version)
    return versions


def _distribution_key(name: str) -> str:
    """A distribution's name as PEP 503 normalizes it: ``PyYAML`` and ``pyyaml`` are one."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _version_from_metadata(name: str) -> str:
    """The version ``importlib.metadata`` finds, for an install without a dist-info folder
    (an egg, say); ``-`` when it finds none."""
    from importlib import metadata  # noqa: PLC0415 - slow to import; seldom needed

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "-"


# Smaller pickles are stored as they are: compressing a summary of a kilobyte or so takes
# longer than pickling it and saves little.
COMPRESS_FROM = 4096
_PLAIN, _COMPRESSED = b"p", b"s"


# Zstandard at level 1, not zlib: a cold build packs the result of every file, articles and
# all, in the process that merges them, and for the 7 KB of a seed-shaped record's result
# zlib at level 1 took 127 us and Zstandard 34 us, for slightly smaller entries (2.64
# times smaller against 2.56), which read back in 15 us against 44 us.  One of each per
# process, used by one thread at a time: making one costs more than a small entry.
# Imported when first used: only results with articles are that large, and pre-commit's run
# on a few files never reads or writes one.
@memoize
def _compressor() -> zstandard.ZstdCompressor:
    import zstandard  # noqa: PLC0415 - see above

    return zstandard.ZstdCompressor(level=1)


@memoize
def _decompressor() -> zstandard.ZstdDecompressor:
    import zstandard  # noqa: PLC0415 - see above

    return zstandard.ZstdDecompressor()


def pack(value: object) -> bytes:
    """Pickled, compressed when large, and prefixed with its checksum."""
    pickled = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    if len(pickled) < COMPRESS_FROM:
        body = _PLAIN + pickled
    else:
        body = _COMPRESSED + _compressor().compress(pickled)
    return _checksum(body) + body


def unpack(blob: bytes) -> Any:
    """The value :func:`pack` stored; :class:`CorruptEntry` when the bytes are not intact."""
    if not isinstance(blob, bytes):
        raise CorruptEntry(f"a {type(blob).__name__} where bytes were stored")
    check, body = blob[:CHECKSUM_BYTES], blob[CHECKSUM_BYTES:]
    if _checksum(body) != check:
        raise CorruptEntry("checksum mismatch")
    try:
        kind, content = body[:1], body[1:]
        if kind not in {_PLAIN, _COMPRESSED}:
            raise CorruptEntry(f"unknown entry kind {kind!r}")
        pickled = _decompressor().decompress(content) if kind == _COMPRESSED else content
        return _Restricted(io.BytesIO(pickled), _ALLOWED_CLASSES).load()
    except Exception as error:  # any failure to rebuild the value makes it unusable
        raise CorruptEntry(str(error)) from error


def pickled(value: object) -> bytes:
    """``value`` pickled for a record to hold as bytes (see :func:`unpickled`): a later record
    may hold the very same bytes again without reading them, where pickling them anew
    took the time of what they hold.  An :class:`Unshared` value is pickled without the
    memo."""
    buffer = io.BytesIO()
    _dump(buffer, value)
    return buffer.getvalue()


def unpickled(blob: object) -> Any:
    """The plain value :func:`pickled` gave ``blob`` for.  The record holding it vouches for
    its bytes (:func:`read_records`); what it builds is only plain values, as a record's.
    Any failure raises :class:`CorruptEntry`."""
    if not isinstance(blob, bytes):
        raise CorruptEntry(f"a {type(blob).__name__} where bytes were stored")
    try:
        return _Restricted(io.BytesIO(blob), frozenset()).load()
    except Exception as error:  # any failure to rebuild the value makes it unusable
        raise CorruptEntry(str(error)) from error


def record_path(cache_folder: Path, output: Path, kind: str) -> Path:
    """Where the ``kind`` record of the builds into ``output`` is kept: one per output
    folder, so two projects may share a cache folder."""
    name = hashlib.blake2b(os.fsencode(output.absolute()), digest_size=8).hexdigest()
    return cache_folder / f"{kind}-{name}.pickle"


# A record file is a ``kind`` line, then frames: the length of a pickled value, its digest and
# the value.  A build writes the first frame and may append more (:func:`append_record`).
_LENGTH_BYTES = 8
# XXH3 (128 bits).  The digest is there to find a frame damaged or cut short, which XXH3
# does as well as a cryptographic digest would, and there is nothing to forge: whoever can
# write the cache can write a frame and its header alike.  A build digests its graph record
# whole as it reads it back and as it writes it: 512 MB took 0.02 s with XXH3, against
# 0.30 s with SHA-256 (which this project's 2-core Intel Xeon computes with instructions of
# its own) and 0.61 s with BLAKE2b.  A record written with another digest reads as damaged:
# ignored.
_frame_hash = xxhash.xxh3_128
_DIGEST_BYTES = _frame_hash().digest_size  # 16: a frame's header holds the digest whole


def _frame(value: object) -> bytes:
    body = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    check = _frame_hash(body).digest()
    return _frame_header(len(body), check) + body


def _frame_header(length: int, digest: bytes) -> bytes:
    """What comes before a frame's pickle: its length, then its digest."""
    return length.to_bytes(_LENGTH_BYTES, "little") + digest


@dataclass(frozen=True)
class Unshared:
    """A value for :func:`write_record` to pickle without the pickler's memo (its ``fast``
    mode): one that holds no object twice (or none whose sharing matters) and no cycle.
    The memo keeps every object pickled in a table until the end: for the graph record,
    with millions of strings and dates that no two articles share, that table was most of
    what writing it held at once (61 MB of 79 MB at 10k records)."""

    value: object


@dataclass(frozen=True)
class SharedFirst:
    """A value for :func:`write_record` to pickle in two parts, one after the other in one
    frame: ``shared`` with the memo, then ``rest`` without it (:class:`Unshared`), where
    each object of ``shared`` is written as a reference to it.  Read back as the pair
    (``shared_first`` of :func:`read_records`), ``rest`` holds those very objects again.

    For a value in which few kinds of objects are shared: the memo keeps every object
    pickled in a table until the end.  The first frame of the graph record, whose keys and
    labels articles and results share, held 169 MB more than its pickle as it was written
    with the memo at 100k records, and 27 MB more this way, for a pickle of the same size."""

    shared: object
    rest: object


@dataclass(frozen=True)
class Streamed:
    """A list for :func:`write_record` to pickle as ``items`` gives its items, each made
    only when the pickler takes it, in a frame without the memo (:class:`Unshared`), where
    nothing keeps it afterwards.  It is read back as a list, once :data:`STREAMED_CLASSES`
    may be built.  A column worked out for a record, such as every date of the article
    graph as text, otherwise lies whole in memory beside the values it is made from."""

    items: Iterable[object]

    def __reduce__(self) -> tuple[type[list[object]], tuple[()], None, Iterator[object]]:
        return list, (), None, iter(self.items)


@dataclass(frozen=True)
class Raw:
    """Bytes for :func:`write_record` to write as a frame as they are, not pickled, each
    chunk as ``chunks`` gives it.  :func:`read_records` checks such a frame's digest and
    gives where it lies in the file (:class:`RawFrame`) instead of its value, so that a
    reader takes only the parts it needs, when it needs them: the text of the articles of
    the graph record, of which a build that changed one record shows a few hundred."""

    chunks: Iterable[bytes]


@dataclass(frozen=True)
class Deferred:
    """A value for :func:`write_record` to pickle as ``make`` gives it once the frames
    before it are written: what writing them works out, such as where each part of a
    :class:`Raw` frame ends."""

    make: Callable[[], object]


class RawFrame(NamedTuple):
    """Where the body of a :class:`Raw` frame lies in its record file: its offset and size."""

    offset: int
    size: int


# How pytest, mypy and ruff mark the cache folders they make: git ignores what is in it, and
# backup tools that honour https://bford.info/cachedir/ skip it.
_MARKS = {
    ".gitignore": "# Made by feeds: a cache, rebuilt when it is missing.\n*\n",
    "CACHEDIR.TAG": (
        "Signature: 8a477f597d28d172789f06886806bc55\n"
        "# This file is a cache directory tag created by feeds.\n"
        "# For information about cache directory tags, see https://bford.info/cachedir/\n"
    ),
}


def make_cache_folder(folder: Path) -> None:
    """Make ``folder``, when it is missing, as a folder of the cache, marked as one.

    pre-commit runs ``feeds validate`` in the publisher's repository, and the schema is kept
    in the cache folder from the first run: unmarked, it showed among the untracked files,
    and a ``git add -A`` after a refused commit committed it.  A folder that exists is left
    as it is: it may be the publisher's own (``--cache-dir .``)."""
    if folder.is_dir():
        return
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in _MARKS.items():
        with contextlib.suppress(OSError):  # the cache works without them
            (folder / name).write_text(text, encoding="utf-8")


def write_record(path: Path, kind: bytes, *values: object) -> None:
    """Pickle ``values`` into ``path``, a frame each, in one step, under a ``kind`` line, for
    :func:`read_records`: the records a build keeps beside the cache database."""
    # Imported here: tempfile imports shutil, bz2 and lzma (7 ms), and `feeds validate` on
    # one file only reads records (the schema as first read).
    import tempfile  # noqa: PLC0415

    make_cache_folder(path.parent)
    handle, name = tempfile.mkstemp(prefix=f".{path.stem}-", dir=path.parent)
    temporary = Path(name)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(kind)
            for value in values:
                _write_frame(stream, value)
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _write_frame(stream: BinaryIO, value: object) -> None:
    """Pickle ``value`` straight into ``stream``, hashed on the way, and write the frame's
    length and digest in front once known: the pickle of the article graph is half a
    gigabyte at 100k records, and holding it in memory (three copies of it) was the peak
    of a cold build."""
    start = stream.tell()
    stream.write(bytes(_LENGTH_BYTES + _DIGEST_BYTES))
    body = _HashingWriter(stream)
    if isinstance(value, Raw):
        for chunk in value.chunks:
            body.write(chunk)
    else:
        _dump(body, value.make() if isinstance(value, Deferred) else value)
    end = stream.tell()
    stream.seek(start)
    stream.write(_frame_header(body.size, body.digest()))
    stream.seek(end)


def _dump(stream: io.BytesIO | _HashingWriter, value: object) -> None:
    """Pickle ``value`` into ``stream``; an :class:`Unshared` one without the memo."""
    pickler = pickle.Pickler(stream, protocol=pickle.HIGHEST_PROTOCOL)
    if isinstance(value, SharedFirst):
        pickler.dump(value.shared)
        value = Unshared(value.rest)
    if isinstance(value, Unshared):
        # Documented as deprecated since Python 3.0, yet in every release since; were it
        # gone, the value would be pickled with a memo: read back the same, only written
        # with more memory and time.  The objects already in the memo are still written
        # as references to it: only new ones are not put in it.
        with contextlib.suppress(AttributeError):
            pickler.fast = True
        value = value.value
    pickler.dump(value)


class _HashingWriter:
    """Writes to ``stream``, keeping the size and digest of what went through it."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._hash = _frame_hash()
        self.size = 0

    def write(self, data: bytes | memoryview) -> int:
        self._hash.update(data)
        self.size += len(data)
        return self._stream.write(data)

    def digest(self) -> bytes:
        return self._hash.digest()


def _digest_of_next(stream: BinaryIO, length: int) -> bytes | None:
    """The digest of the next ``length`` bytes of ``stream``; ``None`` when it has fewer."""
    hasher = _frame_hash()
    left = length
    while left > 0:
        chunk = stream.read(min(left, 1 << 20))
        if not chunk:
            return None
        hasher.update(chunk)
        left -= len(chunk)
    return hasher.digest()


class RecordEnd(NamedTuple):
    """Where the frames written whole to a record file end, in which file (inode)."""

    inode: int
    size: int


def append_record(path: Path, value: object, at: RecordEnd, read_to: RecordEnd) -> RecordEnd | None:
    """Add ``value`` to the record at ``path`` as a frame of its own, right after the frame
    that ends at ``at``, when the file is still the one read and ends where its whole
    frames ended when read (``read_to``); where it ends now, or ``None`` when nothing was
    appended.  The frames between ``at`` and ``read_to`` are cut off first.

    A frame cut short (the build stopped while appending) fails its digest: reading stops
    before it, at the frames written whole, which are a record of an earlier build, and
    the file is longer than they are, so nothing is appended to it."""
    frame = _frame(value)
    try:
        handle = os.open(path, os.O_WRONLY)
    except OSError:
        return None
    with os.fdopen(handle, "wb") as stream:
        now = os.fstat(handle)
        if (now.st_ino, now.st_size) != read_to or at.inode != read_to.inode:
            return None
        if at.size < read_to.size:
            os.ftruncate(handle, at.size)
        stream.seek(at.size)
        stream.write(frame)
    return RecordEnd(at.inode, at.size + len(frame))


def read_records(
    path: Path,
    kind: bytes,
    classes: frozenset[tuple[str, str]] = frozenset(),
    raw: Container[int] = (),
    shared_first: Container[int] = (),
) -> tuple[list[Any], list[RecordEnd]]:
    """Every value written whole to the record at ``path`` as ``kind``, in order, and where
    each of them ends (for :func:`append_record`); no values when the file is missing,
    of another kind, or its first frame is not intact.  Unpickling may build only
    ``classes`` (``(module, name)`` pairs): a record is plain values.  The frames whose
    places are in ``raw`` were written :class:`Raw`: each is given as its
    :class:`RawFrame`, once its digest is checked.  Those in ``shared_first`` were
    written :class:`SharedFirst`: each is given as its pair."""
    values: list[Any] = []
    ends: list[RecordEnd] = []
    start = len(kind)
    # Each frame is read twice, to check its digest and then to unpickle it, rather than
    # read into memory once: the graph record is half a gigabyte at 100k records.
    try:
        with path.open("rb") as stream:
            state = os.fstat(stream.fileno())
            if stream.read(len(kind)) != kind:
                return [], []
            while True:
                header = stream.read(_LENGTH_BYTES + _DIGEST_BYTES)
                if len(header) < _LENGTH_BYTES + _DIGEST_BYTES:
                    break
                length = int.from_bytes(header[:_LENGTH_BYTES], "little")
                body = start + len(header)
                if _digest_of_next(stream, length) != header[_LENGTH_BYTES:]:
                    break
                if len(values) in raw:
                    values.append(RawFrame(body, length))
                else:
                    stream.seek(body)
                    try:
                        loader = _Restricted(stream, classes)
                        value = loader.load()
                        if len(values) in shared_first:  # the rest refers to its memo
                            value = (value, loader.load())
                        values.append(value)
                    except Exception:  # a value not rebuilt makes it and the rest unusable
                        break
                start = body + length
                ends.append(RecordEnd(state.st_ino, start))
                stream.seek(start)
    except OSError:
        return [], []
    return values, ends


def read_record(path: Path, kind: bytes, classes: frozenset[tuple[str, str]] = frozenset()) -> Any:
    """The first value :func:`write_record` wrote at ``path`` as ``kind``; ``None`` when the
    file is missing, of another kind, or not intact."""
    values, _ = read_records(path, kind, classes)
    return values[0] if values else None


class _Restricted(pickle.Unpickler):
    """An unpickler that builds only the given classes: a cache is never trusted to name
    code to run."""

    def __init__(self, stream: BinaryIO, classes: frozenset[tuple[str, str]]) -> None:
        super().__init__(stream)
        self._classes = classes

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self._classes:
            raise pickle.UnpicklingError(f"{module}.{name} is not expected here")
        return super().find_class(module, name)


# Up to this many files' results are looked up by label; more, by reading them all.
FEW_LABELS = 500


# What :class:`FileStat` holds, as a plain tuple: the snapshot of the records keeps the four
# numbers in each file's row (:mod:`feeds.uptodate`).  The record of an output packs them.
Stat = tuple[int, int, int, int]


class FileStat(NamedTuple):
    """What the file system says of a file; equal stats mean equal bytes (see RACY_NS).

    A named tuple, not a data class: builds take tens of thousands of these, and a tuple is
    made, compared and stored as plain values several times faster."""

    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int

    @classmethod
    def of(cls, path: Path | str) -> FileStat:
        """The stat data of ``path`` (``OSError`` when it cannot be taken)."""
        return cls.of_state(os.stat(path))  # noqa: PTH116 - a build stats every record

    @classmethod
    def of_state(cls, result: os.stat_result) -> FileStat:
        """What :meth:`of` keeps of ``result``."""
        return cls(result.st_size, result.st_mtime_ns, result.st_ctime_ns, result.st_ino)


def file_state(path: Path | str) -> FileStat | None:
    """The stat data of ``path``, or ``None`` when it cannot be taken."""
    try:
        return FileStat.of(path)
    except OSError:
        return None


# The stat data of a file as the record of a build's output keeps it, one per file: what
# :class:`FileStat` holds, packed (:func:`packed_state`).  As a tuple of four numbers, each
# took five objects of its own: reading back the record of the 239,776 files written from
# 100,000 records (:func:`feeds.rendercache.load_last_build`) took 0.114-0.129 s and
# 49,195 page faults, against 0.081-0.088 s and 39,978 packed (six each, in turn).
PackedStat = bytes
_PACKED = struct.Struct("<QqqQ")  # size, modification and change times (ns), inode
# Where a number does not fit (a time before September 1677 or after April 2262): each in
# 16 bytes, so that a state packed so is never taken for one packed in 32.
_WIDE_BYTES = 16


def packed_state(state: FileStat) -> PackedStat:
    """``state`` as a record of files keeps it (see :data:`PackedStat`)."""
    try:
        return _PACKED.pack(*state)
    except struct.error:
        return b"".join(n.to_bytes(_WIDE_BYTES, "little", signed=True) for n in state)


def packed_size(state: PackedStat) -> int:
    """The size of the file whose stat data :func:`packed_state` packed as ``state``: its
    first 8 bytes in either width (a size is never negative, nor 8 EiB)."""
    return int.from_bytes(state[:8], "little")


def has_state(path: str, state: PackedStat, *, follow_symlinks: bool = True) -> bool:
    """Whether the file at ``path`` has the stat data ``state`` (:func:`packed_state`);
    without following it when it is a symbolic link, with ``follow_symlinks`` false.
    Quicker than comparing its :func:`file_state`: a build with nothing to do checks every
    file of its output."""
    try:
        now = os.stat(path, follow_symlinks=follow_symlinks)  # noqa: PTH116 - see FileStat.of
    except OSError:
        return False
    try:
        return _PACKED.pack(now.st_size, now.st_mtime_ns, now.st_ctime_ns, now.st_ino) == state
    except struct.error:
        return packed_state(FileStat.of_state(now)) == state


def content_digest(data: bytes) -> bytes:
    """A digest of the bytes of a file, recorded with its stat data (see :func:`has_content`)."""
    return xxhash.xxh3_128_digest(data)


def has_content(path: str, state: PackedStat, digest: bytes) -> bool:
    """Whether the file at ``path``, whose stat data is no longer ``state`` (see
    :func:`has_state`), still holds the bytes it held then, whose :func:`content_digest` is
    ``digest`` (empty when not known).

    Stat data that moved need not mean other bytes.  Making or removing a link to a file
    moves its change time: a build stopped half-way may have done that to every file of the
    output in place, by replacing the links to them in its staging folder (which holds the
    output before last).  And an output restored from a CI cache holds files of their own,
    with the bytes and the modification times of those written.  A file of the size
    recorded is then read, and vouched for by its digest: else the next build would render
    every document again, and need room for a second output.  A symbolic link is never
    taken, whatever it points to: a build links the file it takes into its new output."""
    try:
        now = os.lstat(path)
    except OSError:
        return False
    if not digest or now.st_size != packed_size(state) or not stat.S_ISREG(now.st_mode):
        return False
    try:
        with open(path, "rb") as stream:  # noqa: PTH123 - the path is text here
            return content_digest(stream.read()) == digest
    except OSError:
        return False


def settled(now: FileStat, seen: Stat, observed: int) -> bool:
    """Whether a file whose stat data is ``now`` still holds the bytes read after ``seen``
    was taken at ``observed`` (nanoseconds since the epoch): the stat data must be equal,
    and the change time not :func:`racy`."""
    return now == seen and not racy(now.ctime_ns, observed)


def racy(ctime_ns: int, observed: int) -> bool:
    """Whether a file's change time is too close to ``observed``, when its stat data was
    taken, to tell it from a change made right after.  A change after that moment moves the
    change time, unless it falls within the same tick of the file system's clock (git's rule
    for "racily clean" files, see :data:`RACY_NS`)."""
    return ctime_ns >= observed - RACY_NS


_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS stats (
    path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, ctime_ns INTEGER, inode INTEGER,
    observed_ns INTEGER, digest BLOB);
CREATE TABLE IF NOT EXISTS files (
    label TEXT, digest BLOB, context TEXT, summary BLOB, payload BLOB,
    PRIMARY KEY (label, digest, context));
CREATE TABLE IF NOT EXISTS places (
    label TEXT, digest BLOB, field TEXT, line INTEGER, col INTEGER, PRIMARY KEY (label, field));
"""
_TABLES = ("stats", "files", "places", "meta")


class Cache:
    """The open cache database.  Every method degrades to "not cached" on a database error:
    the database is started again once; if that fails too, the cache is given up."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / DB_NAME
        self._db: sqlite3.Connection | None = self._open()
        # The stats table, once read: a build asks for it more than once, and it has a row
        # for every record file.  Kept in step with what this object writes to it.
        self._hashed: dict[str, tuple[FileStat, int, bytes]] | None = None

    def _open(self) -> sqlite3.Connection:
        make_cache_folder(self.folder)
        for attempt in range(2):
            db = None
            try:
                # Concurrent runs sharing the cache wait for each other's writes.
                db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
                db.executescript(_SCHEMA)
                fingerprint = code_fingerprint()
                row = db.execute("SELECT value FROM meta WHERE key = 'code'").fetchone()
                if row is None or row[0] != fingerprint:
                    _clear(db, fingerprint)
                return db
            except sqlite3.DatabaseError:
                if db is not None:
                    db.close()
                if attempt:
                    raise
                self._delete_files()
        raise AssertionError("unreachable")

    def _delete_files(self) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                Path(f"{self.path}{suffix}").unlink()

    def _failed(self, error: Exception) -> None:
        """The database failed mid-use: start a new, empty one, or give the cache up."""
        self.close()
        self._hashed = None
        try:
            self._delete_files()
            self._db = self._open()
        except (OSError, sqlite3.Error) as again:
            warnings.warn(
                CacheWarning(
                    f"cache {self.folder} is not usable ({again or error}); going on without"
                ),
                stacklevel=3,
            )

    def close(self) -> None:
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None

    def __enter__(self) -> Cache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _rows(self, statement: str, parameters: tuple[Any, ...] = ()) -> list[Any]:
        if self._db is None:
            return []
        try:
            return self._db.execute(statement, parameters).fetchall()
        except sqlite3.DatabaseError as error:
            self._failed(error)
            return []

    def _write(self, statement: str, rows: list[tuple[Any, ...]]) -> None:
        if not rows or self._db is None:
            return
        try:
            with _transaction(self._db):
                self._db.executemany(statement, rows)
        except sqlite3.DatabaseError as error:
            self._failed(error)

    # Stat shortcut: which files are known, by their stat data, to have a given hash.
    def known_digests(
        self, paths: Sequence[str] | None = None
    ) -> Mapping[str, tuple[FileStat, int, bytes]]:
        """By absolute path: the stat data seen, when it was seen, and the hash of the bytes
        read after that; of every file, or at least of ``paths`` (absolute).  A few are
        looked up by their paths: a build that changed one record of 100,000 knows the others
        from its snapshot (:mod:`feeds.uptodate`), and reading every row took 0.4 s."""
        if self._hashed is not None:
            return self._hashed
        query = "SELECT path, size, mtime_ns, ctime_ns, inode, observed_ns, digest FROM stats"
        wanted: tuple[str, ...] = ()
        if paths is not None and len(paths) <= FEW_LABELS:
            if not paths:
                return {}
            wanted = tuple(paths)
            query += f" WHERE path IN ({', '.join('?' * len(wanted))})"
        hashed = {
            row[0]: (FileStat._make(row[1:5]), row[5], row[6]) for row in self._rows(query, wanted)
        }
        if not wanted and self._db is not None:  # every row: kept, in step with what is written
            self._hashed = hashed
        return hashed

    def forget_known_digests(self) -> None:
        """Let go of the stats table as read and kept in step (:meth:`known_digests`): the
        next call reads it again.  A cold build of 100,000 records held it (42.5 MB of
        objects) through rendering, for the snapshot it leaves at the end; reading it
        again there takes 0.21-0.22 s."""
        self._hashed = None

    def remember_digests(self, entries: Iterable[tuple[str, FileStat, int, bytes]]) -> None:
        entries = list(entries)
        rows = self._stat_rows(entries)
        self._write("INSERT OR REPLACE INTO stats VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        self._remembered(entries)

    @staticmethod
    def _stat_rows(entries: Iterable[tuple[str, FileStat, int, bytes]]) -> list[tuple[Any, ...]]:
        return [
            (path, s.size, s.mtime_ns, s.ctime_ns, s.inode, observed, value)
            for path, s, observed, value in entries
        ]

    def _remembered(self, entries: Iterable[tuple[str, FileStat, int, bytes]]) -> None:
        if self._hashed is not None:
            for path, stat, observed, value in entries:
                self._hashed[path] = (stat, observed, value)

    # Per-file results.
    def results(
        self, keys: Iterable[tuple[str, bytes]], context: str, *, summary: bool = False
    ) -> dict[str, Any]:
        """Cached results by label, for the ``(label, digest)`` pairs that have one: in full,
        or only their ``summary`` (what validating needs, quicker to read).  Damaged entries
        are left out."""
        wanted = dict(keys)
        column = "summary" if summary else "payload"
        found: dict[str, Any] = {}
        for label, key_digest, payload in self._file_rows(column, wanted, context):
            if payload is not None and wanted.get(label) == key_digest:
                with contextlib.suppress(CorruptEntry):
                    found[label] = unpack(payload)
        return found

    def held(
        self, keys: Iterable[tuple[str, bytes]], context: str, *, summary: Container[str] = ()
    ) -> set[str]:
        """The labels of the ``(label, digest)`` pairs that :meth:`results` finds a result
        for, unless it is damaged: only a ``summary`` for those so labelled, else in full.
        What the rows hold is not read, so that a caller can read it a few files at a time:
        at 100,000 records, reading every result at once before checking any file held
        1.9 GB."""
        wanted = dict(keys)
        rows = self._file_rows("payload IS NOT NULL", wanted, context)
        return {
            label
            for label, key_digest, full in rows
            if wanted.get(label) == key_digest and (full or label in summary)
        }

    def _file_rows(self, column: str, wanted: Collection[str], context: str) -> list[Any]:
        """The label, digest and ``column`` of the rows of ``context``: of the labels
        ``wanted`` when they are few (a build with little to do: not every row is read),
        else of every file."""
        query = f"SELECT label, digest, {column} FROM files WHERE context = ?"
        if len(wanted) > FEW_LABELS:
            return self._rows(query, (context,))
        labels = list(wanted)
        rows = []
        for start in range(0, len(labels), FEW_LABELS):
            chunk = labels[start : start + FEW_LABELS]
            marks = ", ".join("?" * len(chunk))
            rows += self._rows(f"{query} AND label IN ({marks})", (context, *chunk))
        return rows

    def store_results(
        self,
        entries: Sequence[tuple[str, bytes, bytes, bytes | None]],
        context: str,
        seen: Sequence[tuple[str, FileStat, int, bytes]] = (),
    ) -> None:
        """Store ``(label, digest, summary, full result)`` entries, each :func:`pack`-ed,
        replacing what was stored for the same files; a full result of ``None``: only the
        summary is known.  And, in the same transaction, the stat data each file was
        ``seen`` with before its digest was taken (see :meth:`remember_digests`)."""
        rows = [(label, key, context, summary, full) for label, key, summary, full in entries]
        stats = self._stat_rows(seen)
        if (not rows and not stats) or self._db is None:
            return
        try:
            with _transaction(self._db):
                self._db.executemany(
                    "DELETE FROM files WHERE label = ?", [(row[0],) for row in rows]
                )
                self._db.executemany("INSERT INTO files VALUES (?, ?, ?, ?, ?)", rows)
                self._db.executemany(
                    "INSERT OR REPLACE INTO stats VALUES (?, ?, ?, ?, ?, ?, ?)", stats
                )
        except sqlite3.DatabaseError as error:
            self._failed(error)
            return
        self._remembered(seen)

    # Where fields sit in files, by content (see feeds.records.KnownPlaces).
    def places(self) -> dict[str, tuple[bytes, dict[str, tuple[int, int]]]]:
        """By label: the content hash of the file, and the line and column of each field
        (as reported) found in that content."""
        places: dict[str, tuple[bytes, dict[str, tuple[int, int]]]] = {}
        for label, value, field, line, column in self._rows(
            "SELECT label, digest, field, line, col FROM places"
        ):
            known = places.setdefault(label, (value, {}))
            if known[0] == value:
                known[1][field] = (line, column)
        return places

    def store_places(self, rows: Iterable[tuple[str, bytes, str, int, int]]) -> None:
        """Keep ``(label, content hash, field, line, column)`` rows, in place of those kept
        for other contents of the same files."""
        rows = list(rows)
        changed = list({(label, value) for label, value, *_ in rows})
        if not rows or self._db is None:
            return
        try:
            with _transaction(self._db):
                self._db.executemany("DELETE FROM places WHERE label = ? AND digest != ?", changed)
                self._db.executemany("INSERT OR REPLACE INTO places VALUES (?, ?, ?, ?, ?)", rows)
        except sqlite3.DatabaseError as error:
            self._failed(error)

    def keep_only(self, labels: Iterable[str], paths: Sequence[Path], context: str) -> None:
        """Drop what concerns files other than ``labels`` (at ``paths``) or another schema,
        so that the cache does not grow without bound as files come and go."""
        kept = set(labels)
        stale = [
            (label, ctx)
            for label, ctx in self._rows("SELECT DISTINCT label, context FROM files")
            if ctx != context or label not in kept
        ]
        self._write("DELETE FROM files WHERE label = ? AND context = ?", stale)
        placed = self._rows("SELECT DISTINCT label FROM places")
        self._write(
            "DELETE FROM places WHERE label = ?", [row for row in placed if row[0] not in kept]
        )
        known = set(absolute_names(paths))
        gone = [path for path in self.known_digests() if path not in known]
        self._write("DELETE FROM stats WHERE path = ?", [(path,) for path in gone])
        if self._hashed is not None:
            for path in gone:
                del self._hashed[path]


def _clear(db: sqlite3.Connection, fingerprint: str) -> None:
    """Start the cache again, in this code's layout, for this code."""
    with _transaction(db):
        for table in _TABLES:
            db.execute(f"DROP TABLE IF EXISTS {table}")
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                db.execute(statement)
        db.execute("INSERT INTO meta VALUES ('code', ?)", (fingerprint,))


@contextlib.contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def open_cache(folder: Path | None) -> Cache | None:
    """The cache in ``folder``, or ``None`` when there is none or it cannot be used at all
    (a read-only file system, a file in the folder's place): the run then simply does all the
    work, after one :class:`CacheWarning`."""
    if folder is None:
        return None
    try:
        return Cache(folder)
    except (OSError, sqlite3.Error) as error:
        warnings.warn(
            CacheWarning(f"cache {folder} is not usable ({error}); going on without"),
            stacklevel=2,
        )
        return None
