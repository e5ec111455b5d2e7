"""Writing the output folder so that readers never see a half-written build.

Everything is written into a sibling folder, then swapped in place of the output folder
with one ``renameat2(RENAME_EXCHANGE)`` call on Linux.  A build that fails or is killed at
any moment leaves the previous output as it was; the next build clears away the leftover
staging folder, or starts from it when it was the output before last (see :func:`_stop`).
Where the exchange call is missing, two renames are used, and a build that finds the output
folder missing but a previous one set aside puts it back first.

The output swapped out is kept beside the new one (``.previous-NAME``), and the next build
starts from it instead of from an empty folder: of the previous build but one, most files
are still right, and only the others are written again or removed (:class:`Staging`), where
an empty folder needed every file of the build linked into it and the swapped-out tree
deleted.  The caller says which of its files it knows (the record of that build): a
previous folder it does not know is removed.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import queue
import shutil
import stat
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

from feeds.cache import PackedStat, content_digest, has_content, has_state
from feeds.records import display_path

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
STAGING_PREFIX = ".staging-"
RETIRED_PREFIX = ".retired-"
PREVIOUS_PREFIX = ".previous-"
DISCARDED_PREFIX = ".discarded-"
Keep = Literal["swapped", "new"]


class OutputError(Exception):
    """The output folder cannot be written; nothing was changed."""


class BuildLocked(OutputError):
    """Another build is writing the same output folder."""


class OutputRefused(OutputError):
    """The output folder is not one a build may replace (:func:`check_replaceable`); it
    was refused before anything was written."""


@contextlib.contextmanager
def build_lock(output: Path) -> Iterator[None]:
    """Hold an exclusive lock beside ``output`` so two builds never interleave their swaps."""
    lock_path = output.parent / f".{output.name}.lock"
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        handle = lock_path.open("a")
    except OSError as error:
        raise OutputError(f"cannot create {lock_path}: {error.strerror or error}") from error
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            raise BuildLocked(
                f"another build is writing {output} (lock {lock_path}); try again when it ends"
            ) from error
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# Every output of feeds holds the list of its feeds at its root (feeds.publish.OPML): a
# folder that holds files and not this one was not written by feeds.
OUTPUT_MARK = "feeds.opml"


def check_replaceable(
    output: Path, inputs: Iterable[tuple[str, Path | None]], *, known: bool = False
) -> None:
    """Refuse an output folder that replacing as a whole would lose what is not ours: one
    that is, or holds, what the build reads (``inputs``: what each is, and its path), or an
    existing folder with files in it that feeds did not write: it lacks :data:`OUTPUT_MARK`,
    and is not ``known`` (a record of a build into it says it is ours, whatever was removed
    from it since).

    A mistyped ``--out`` (the folder of records, the project's folder, a home folder) would
    otherwise be swapped out and deleted by the build."""
    shown = display_path(output)
    target = _resolved(output, "the output folder")
    for what, path in inputs:
        if path is None:
            continue
        place = _resolved(path, what)
        if place == target or target in place.parents:
            inside = "is" if place == target else "holds"
            raise OutputRefused(
                f"the output folder {shown} {inside} {what} {display_path(path)}, and a build "
                f"replaces its output folder as a whole: choose another output folder"
            )
    if os.path.ismount(target):  # a volume of its own: a Docker volume, say
        raise OutputRefused(
            f"the output folder {shown} is a mount point, which a build cannot swap a new "
            f"folder in place of: build into a folder inside it, such as {shown}/site"
        )
    try:
        foreign = (
            not known
            and target.is_dir()
            and not (target / OUTPUT_MARK).is_file()
            and next(target.iterdir(), None) is not None
        )
    except OSError as error:
        raise OutputError(f"cannot read {shown}: {error.strerror or error}") from error
    if foreign:
        raise OutputRefused(
            f"the output folder {shown} holds files that feeds did not write (it has no "
            f"{OUTPUT_MARK}), and a build replaces its output folder as a whole: choose a new "
            f"or empty folder, or empty this one"
        )


def _resolved(path: Path, what: str) -> Path:
    """``path`` with every symbolic link followed; a loop of links is an
    :class:`OutputRefused` naming ``what`` it was given as."""
    try:
        return path.resolve()
    except (OSError, RuntimeError) as error:  # RuntimeError until Python 3.13, then OSError
        raise OutputRefused(f"{what} {display_path(path)} is a loop of symbolic links") from error


def previous_path(output: Path) -> Path:
    """Where the output a build swapped out is kept, for the next build to start from."""
    output = output.absolute()
    return output.parent / f"{PREVIOUS_PREFIX}{output.name}"


class Staging:
    """The folder a new build is written into before it replaces the output.

    It starts empty, or as the output of the build before the last (``existing``: the
    paths of its files).  A file of that build is kept as it is (:meth:`keep`) or written
    again; at the end, those neither kept nor written are removed (:meth:`finish`).

    Writes go through the paths and folders it knows, so a forked worker process can write
    into it too (each to paths of its own).  Each process keeps the content digest of the
    bytes it wrote (:attr:`digests`, by path), for the record of the output.

    Bytes that a file of the output in place holds already, as the record of that output
    says (:attr:`in_place`), are not written again: that file is linked instead, as the
    file of a document that would come out the same is (:func:`feeds.publish.reused`).
    So a document rendered again only because the code changed (its key names the code),
    which comes out as it was, costs no room: the first build after a new version of feeds
    rendered every document of 100,000 records again, needed room for a second output of
    36 GB, and stopped with a full disk, again and again."""

    def __init__(
        self,
        output: Path,
        folder: Path,
        existing: Collection[str] = (),
        set_aside: Callable[[str], bool] | None = None,
    ) -> None:
        self.output = output
        self.folder = folder
        self._set_aside = set_aside  # see _Discards.set_aside
        self._root = os.fspath(folder)
        self._output_root = os.fspath(output)
        self._folders: set[str] = set()
        self._existing = frozenset(existing)
        self.kept: set[str] = set()
        self.restated: set[str] = set()  # kept, with stat data other than that recorded
        self.linked: set[str] = set()  # to files of the output being replaced
        self.removed: list[str] = []
        self.digests: dict[str, bytes] = {}  # of the bytes written, by path
        self.kept_previous = False  # set once the output swapped out is kept (see staged)
        self.mirrored = False  # set once the new output is linked in its place instead
        # The record of the output in place, by path: document key, stat data and digest.
        self.in_place: Mapping[str, tuple[bytes, PackedStat, bytes]] = {}

    def __getstate__(self) -> dict[str, Any]:
        """What a worker process writes with: it writes what it renders, where a file it
        replaces is one the output shares, and sets nothing aside.  It is told what the
        output in place holds of the documents it is sent with them (:attr:`in_place`)."""
        return {**self.__dict__, "_set_aside": None, "in_place": {}}

    @property
    def existing(self) -> frozenset[str]:
        """The files the folder held when the build started."""
        return self._existing

    def keep(self, relative: str, *, restated: bool = False) -> None:
        """Keep the file at ``relative`` as the folder holds it (one of :attr:`existing`):
        ``restated`` when its stat data is not the one recorded of it (see
        :func:`feeds.cache.has_content`)."""
        self.kept.add(relative)
        if restated:
            self.restated.add(relative)

    def write(self, relative: str, content: bytes | Path) -> None:
        """Write ``content`` at ``relative`` (a POSIX path): bytes, or an existing file of the
        output being replaced, hard-linked (copied where links are not possible)."""
        parts = relative.split("/")
        if not relative or not parts[0] or ".." in parts:
            raise OutputError(f"refusing to write {relative!r} outside {self.output}")
        # Joined as text: a build writes every file of its output through here.
        target = f"{self._root}/{relative}"
        parent = target.rpartition("/")[0]
        if parent not in self._folders:
            os.makedirs(parent, exist_ok=True)  # noqa: PTH103 - the parent is text here
            self._folders.add(parent)
        if not isinstance(content, Path):
            digest = self.digests[relative] = content_digest(content)
            if (same := self._held_in_place(relative, digest)) is not None:
                if relative in self._existing and _same_file(target, same):
                    self.linked.add(relative)  # the output before last shares it already
                    return
                content = same
        if relative in self._existing:
            if isinstance(content, Path):
                # Linked from the output in place over the file the folder holds, which
                # no output shares, mostly: removing it frees its blocks.
                self._remove(target)
            elif _overwrite(target, content):
                return
            else:  # a new file in its place: the old one may be a link to a file of the output
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(target)  # noqa: PTH108 - the target is text here
        if isinstance(content, Path):
            _link_or_copy(content, target)
            self.linked.add(relative)
        else:
            with open(target, "xb") as handle:  # noqa: PTH123 - "x": never two documents at one path
                handle.write(content)

    def _held_in_place(self, relative: str, digest: bytes) -> Path | None:
        """The file of the output in place at ``relative``, when it holds the bytes whose
        digest is ``digest``, as recorded (by its stat data, else by its content)."""
        known = self.in_place.get(relative)
        if known is None or known[2] != digest:
            return None
        path = f"{self._output_root}/{relative}"
        if has_state(path, known[1], follow_symlinks=False) or has_content(path, known[1], digest):
            return Path(path)
        return None

    def finish(self, written: Collection[str]) -> None:
        """Remove the files the folder held that are neither kept nor in ``written``
        (:attr:`removed`), and the folders that leaves empty."""
        self.removed = removed = sorted(self._existing - self.kept - set(written))
        emptied: set[str] = set()
        for relative in removed:
            self._remove(f"{self._root}/{relative}")
            folder = relative.rpartition("/")[0]
            while folder:
                emptied.add(folder)
                folder = folder.rpartition("/")[0]
        for folder in sorted(emptied, key=lambda name: -name.count("/")):  # deepest first
            with contextlib.suppress(OSError):  # not empty: it holds files of this build
                os.rmdir(f"{self._root}/{folder}")  # noqa: PTH106 - text, as in write()

    def _remove(self, target: str) -> None:
        """Remove the file at ``target``: set aside, to be deleted in the background, when
        it can be."""
        if self._set_aside is None or not self._set_aside(target):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(target)  # noqa: PTH108 - the target is text here


@contextlib.contextmanager
def staged(
    output: Path, previous: Collection[str] = (), *, keep: Keep | None = None
) -> Iterator[Staging]:
    """A staging folder beside ``output`` that replaces it, in one step, when the ``with``
    block ends without an error; on an error it is removed and ``output`` is left as it was.

    The staging folder is the output the last build swapped out, when ``previous`` names
    its files (as recorded when it was swapped out), else an empty one.  What the next
    build starts from is then ``keep``: the output swapped out now (where the system can
    swap folders in one step; :attr:`Staging.kept_previous`), else the new output itself,
    linked file by file (:attr:`Staging.mirrored`); with ``None``, nothing."""
    output = output.absolute()
    parent = output.parent
    kept = previous_path(output)
    stopped = _recover(output, keep=not kept.exists())
    wanted = _access(output)
    with _Discards(output) as discard:
        try:
            folder = _side_folder(STAGING_PREFIX, output)
        except OSError as error:
            raise OutputError(f"cannot write to {parent}: {error.strerror or error}") from error
        existing: Collection[str] = ()
        try:
            start = kept if kept.is_dir() else stopped
            if previous and start is not None:
                # Renamed onto the empty folder just made: from here on it is a staging
                # folder, which the next build starts from if this one stops half-way.
                start.rename(folder)
                existing = previous
                if start is stopped:
                    _prune(folder, previous)
            for unknown in (kept, stopped):  # of a build this one knows nothing of
                if unknown is not None and unknown.exists():
                    discard(unknown)
        except OSError as error:
            raise OutputError(f"cannot write to {parent}: {error.strerror or error}") from error
        staging = Staging(output, folder.resolve(), existing, discard.set_aside)
        access = _take_group(folder, wanted)
        try:
            yield staging
            folder.chmod(_mode(access))
            staging.kept_previous = _swap_in(
                folder, output, keep=kept if keep == "swapped" else None, discard=discard
            )
            if keep is not None and not staging.kept_previous:
                staging.mirrored = _mirror(output, kept)
        except OSError as error:
            room = error.errno in _OUT_OF_ROOM
            _stop(folder, started_from_previous=bool(existing), out_of_room=room)
            raise OutputError(f"cannot write {output}: {error.strerror or error}") from error
        except BaseException:
            _stop(folder, started_from_previous=bool(existing))
            raise


def _access(output: Path) -> tuple[int, int] | None:
    """The permission bits and group of the output folder in place, if there is one.

    The folder swapped in takes them over (its owner keeps every right, for the builds that
    start from it): a web server or a deploy group was given access to the output folder,
    and a new one made with the build's own defaults would take that access away, or give
    more than was meant."""
    try:
        status = output.stat()
    except OSError:
        return None
    if not stat.S_ISDIR(status.st_mode):
        return None
    return stat.S_IMODE(status.st_mode), status.st_gid


def _mode(access: tuple[int, int] | None) -> int:
    """The mode of a new output folder: that of the one in place, or readable by all."""
    return 0o755 if access is None else access[0] | stat.S_IRWXU


def _take_group(folder: Path, access: tuple[int, int] | None) -> tuple[int, int] | None:
    """Give ``folder`` the group of the output in place, and its set-group-ID bit, before
    anything is written into it: files and folders made under such a folder belong to its
    group, as they would in the output folder.  A folder that already holds files (an
    earlier output, made before the group was given) has them given the group too.

    The access the folder takes over (see :func:`_access`): none where the system refuses
    the group (the builder is not a member of it), since a mode meant for that group would
    then lock its members out; the folder is then made as a new output folder is."""
    if access is None:
        return None
    mode, group = access
    inherited = mode & stat.S_ISGID
    try:
        had = folder.stat().st_gid
        os.chown(folder, -1, group)
        folder.chmod(stat.S_IRWXU | inherited)
    except OSError:
        return None
    if had != group:
        with contextlib.suppress(OSError):
            _give_group(folder, group, inherited)
    return access


def _give_group(folder: Path, group: int, inherited: int) -> None:
    """Give everything under ``folder`` the ``group``, and its folders the ``inherited``
    set-group-ID bit: once, for an earlier output made before the group was given."""
    for parent, folders, files in os.walk(os.fspath(folder)):
        for name in files:
            os.chown(f"{parent}/{name}", -1, group, follow_symlinks=False)
        for name in folders:
            path = f"{parent}/{name}"
            os.chown(path, -1, group)
            # Text paths, as the walk gives them.
            os.chmod(path, stat.S_IMODE(os.stat(path).st_mode) | inherited)  # noqa: PTH101, PTH116


# A file system full, or the user's quota of it used up.
_OUT_OF_ROOM = frozenset({errno.ENOSPC, errno.EDQUOT})


def _stop(folder: Path, *, started_from_previous: bool, out_of_room: bool = False) -> None:
    """Leave the staging folder of a build that stops half-way: for the next build to start
    from, when it started from the output before last, else removed.

    Most files of the output before last are links to files of the output in place.
    Removing them moves the change time of those files, and the record of the output in
    place vouches for a file only with the change time it had: the next build would then
    read every one of them again, to vouch for it by its content (see
    :func:`feeds.cache.has_content`).  The next build removes the files the record of the
    output before last does not list (:func:`_prune`), and trusts the others by their stat
    data, as it would have.

    A build stopped by a full disk (``out_of_room``) gives back the room it took first
    (:func:`_give_room_back`): else the disk stays full until the next build, and whatever
    else writes to it fails meanwhile."""
    if not started_from_previous:
        shutil.rmtree(folder, ignore_errors=True)
    elif out_of_room:
        _give_room_back(folder)


def _give_room_back(folder: Path) -> None:
    """Remove the files under ``folder`` that have no other name, and the folders that
    leaves empty: the documents the stopped build wrote, and those of the output before
    last that the output in place does not share.  The files it shares stay, with their
    change time.  The next build would have taken few of those removed: the ones written
    hold documents of no output, and the others documents as they were before the last
    build changed them (it finds each missing, and writes what it needs in its place)."""
    _remove_files(folder, lambda _, path: os.lstat(path).st_nlink == 1, quietly=True)


def _prune(folder: Path, listed: Collection[str]) -> None:
    """Remove the files under ``folder`` that ``listed`` (relative paths) does not name, and
    the folders that leaves empty: what a build that stopped half-way wrote there."""
    wanted = set(listed)
    _remove_files(folder, lambda relative, _: relative not in wanted)


def _remove_files(
    folder: Path, chosen: Callable[[str, str], bool], *, quietly: bool = False
) -> None:
    """Remove the files under ``folder`` that ``chosen`` picks (by relative path, and by
    path), and the folders that leaves empty.  ``quietly``: a file that cannot be looked at
    or removed is left, for a build that already failed, which must not fail again on its
    way out."""
    root = os.fspath(folder)
    for parent, folders, files in os.walk(root, topdown=False):
        relative = parent[len(root) + 1 :]
        for name in files:
            path = f"{parent}/{name}"
            try:
                if chosen(f"{relative}/{name}" if relative else name, path):
                    os.unlink(path)  # noqa: PTH108 - text, as the walk gives it
            except OSError:
                if not quietly:
                    raise
        for name in folders:
            with contextlib.suppress(OSError):  # not empty: it holds files left
                os.rmdir(f"{parent}/{name}")  # noqa: PTH106 - text, as the walk gives it


class _Discards:
    """Folders and files a build has no use for, deleted while it goes on: a tree of a
    whole build takes seconds to delete, which need not hold up the build.  Each is first
    renamed out of the way (into ``.discarded-NAME-*``, which the next build removes if
    this one stops half-way), then deleted in a thread; leaving the ``with`` block waits
    for them."""

    def __init__(self, output: Path) -> None:
        self._output = output
        self._threads: list[threading.Thread] = []
        self._aside: str | None = None  # the folder files are set aside in, once made
        self._files: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._count = 0

    def __enter__(self) -> _Discards:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._aside is not None:
            self._files.put(None)
        for thread in self._threads:
            thread.join()

    def __call__(self, folder: Path) -> None:
        """Delete ``folder``: in the background when it can be renamed, else at once."""
        output = self._output
        try:
            # An empty folder of a name of its own, which the rename then replaces.
            target = _side_folder(DISCARDED_PREFIX, output)
        except OSError:
            shutil.rmtree(folder)
            return
        try:
            folder.rename(target)
        except OSError:
            target.rmdir()
            shutil.rmtree(folder)
            return
        self._start(shutil.rmtree, target, ignore_errors=True)

    def set_aside(self, path: str) -> bool:
        """Move the file at ``path`` out of the way, to be deleted in the background;
        whether it is gone from there.

        Removing the last name of a file frees its blocks, which is slow (see
        :func:`_overwrite`).  The build after one that wrote every document anew finds
        the output before last all of such files, each to be replaced by a link to the
        file of the output in place: 69,181 of them at 30,000 records, where such builds
        took 9.60-10.38 s so, against 10.91-10.99 s removing each file in turn."""
        if self._aside is None:
            try:
                self._aside = os.fspath(_side_folder(DISCARDED_PREFIX, self._output))
            except OSError:
                return False
            self._start(_delete_files, self._aside, self._files)
        aside = f"{self._aside}/{self._count}"
        try:
            os.rename(path, aside)  # noqa: PTH104 - text, as Staging names files
        except FileNotFoundError:
            return True
        except OSError:
            return False
        self._count += 1
        self._files.put(aside)
        return True

    def _start(self, work: Callable[..., object], *args: Any, **options: Any) -> None:
        thread = threading.Thread(target=work, args=args, kwargs=options, daemon=True)
        thread.start()
        self._threads.append(thread)


def _delete_files(folder: str, files: queue.SimpleQueue[str | None]) -> None:
    """Delete each file put on ``files`` (each in ``folder``) until ``None`` comes, then
    ``folder``."""
    while (path := files.get()) is not None:
        with contextlib.suppress(OSError):
            os.unlink(path)  # noqa: PTH108 - text, as Staging names files
    shutil.rmtree(folder, ignore_errors=True)


def _mirror(output: Path, at: Path) -> bool:
    """Link every file of ``output`` into a new folder ``at``; whether it was made.  Made
    under a staging name first, so that a build stopped half-way leaves nothing at ``at``."""
    try:
        folder = _side_folder(STAGING_PREFIX, output)  # beside ``output``, as ``at`` is
    except OSError:
        return False
    access = _take_group(folder, _access(output))
    try:
        source = os.fspath(output)
        for parent, folders, names in os.walk(source):
            target = os.fspath(folder) + parent[len(source) :]
            for name in folders:
                os.mkdir(f"{target}/{name}")  # noqa: PTH102 - text, as the walk gives it
            for name in names:
                os.link(f"{parent}/{name}", f"{target}/{name}")
        folder.chmod(_mode(access))
        folder.rename(at)
    except OSError:
        shutil.rmtree(folder, ignore_errors=True)
        return False
    return True


def write_tree(output: Path, files: Iterable[tuple[str, bytes | Path]]) -> list[str]:
    """Replace the contents of ``output`` with ``files`` (see :meth:`Staging.write`), each
    written as it comes.  The paths written, in order."""
    written = []
    with staged(output) as staging:
        for relative, content in files:
            staging.write(relative, content)
            written.append(relative)
    return written


def _overwrite(target: str, content: bytes) -> bool:
    """Write ``content`` over the file at ``target`` when that file has no other name (it is
    no link to a file of the output in place); whether it did.

    Removing the last name of a file frees its blocks, which took 99-270 us a file on ext4
    mounted with ``discard`` (this machine's root), against 3 us for a file that keeps
    another name: a build that changed one record of 10,000 spent a fourteenth of its time
    removing the files it then wrote again.  Written over, the file keeps its blocks.
    (Writing a new file, while a build writes thousands, cost about as much as removing
    one: renaming the old one aside saved nothing, see bench/RESULTS.md.)

    A build stopped half-way may leave the file half-written, like a new one: it is in no
    output, and its state then differs from the one recorded, so no build takes it as it is."""
    try:
        fd = os.open(target, os.O_WRONLY | os.O_NOFOLLOW)
    except OSError:
        return False
    try:
        state = os.fstat(fd)
        if state.st_nlink != 1 or not stat.S_ISREG(state.st_mode):
            return False
        view = memoryview(content)
        while view:
            view = view[os.write(fd, view) :]
        os.ftruncate(fd, len(content))
    finally:
        os.close(fd)
    return True


def _same_file(path: str, other: Path) -> bool:
    """Whether ``path`` is ``other`` itself, or a link to it."""
    try:
        return os.path.samestat(os.lstat(path), os.lstat(other))
    except OSError:
        return False


def _link_or_copy(source: Path, target: str) -> None:
    try:
        os.link(source, target)
    except OSError as error:
        if error.errno not in {errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP}:
            raise
        shutil.copyfile(source, target)


def _swap_in(
    staging: Path, output: Path, keep: Path | None, discard: Callable[[Path], None]
) -> bool:
    """Put ``staging`` in place of ``output``; whether the output it replaced is now at
    ``keep`` (else it is ``discard``-ed)."""
    if output.exists() and not output.is_dir():
        raise OutputError(f"{output} exists and is not a folder")
    if output.is_dir() and _exchange(staging, output):
        # ``staging`` now holds the previous build.
        _fsync_dir(output.parent)
        if keep is not None:
            with contextlib.suppress(OSError):
                staging.rename(keep)
                return True
        with contextlib.suppress(OSError):
            discard(staging)
        return False
    retired = None
    if output.exists():
        retired = output.parent / f"{RETIRED_PREFIX}{output.name}"
        shutil.rmtree(retired, ignore_errors=True)
        output.rename(retired)
    staging.rename(output)
    _fsync_dir(output.parent)
    if retired is not None:
        shutil.rmtree(retired, ignore_errors=True)
    return False


def _exchange(first: Path, second: Path) -> bool:
    """Atomically swap two folders; ``False`` where the system cannot."""
    import ctypes.util  # noqa: PLC0415 - only a build that writes needs it

    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    result = renameat2(
        _AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE
    )
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in {errno.ENOSYS, errno.EINVAL, errno.ENOTSUP}:
        return False
    raise OSError(code, os.strerror(code), str(second))


def _side_folder(prefix: str, output: Path) -> Path:
    """A new empty folder of one build, beside ``output``, named ``PREFIX + NAME + "-" +``
    a random token (see :func:`_is_side_folder`)."""
    while True:
        folder = output.parent / f"{prefix}{output.name}-{os.urandom(8).hex()}"
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=0o700)
            return folder


def _is_side_folder(name: str, prefix: str, output: Path) -> bool:
    """Whether ``name`` is that of a :func:`_side_folder` of ``output``.  The token holds no
    ``-``: the folders of an output ``out-2`` beside ``out`` are not taken for ``out``'s,
    which a build of ``out`` would delete while ``out-2``'s build is using them."""
    token = name.removeprefix(f"{prefix}{output.name}-")
    return token != name and bool(token) and "-" not in token


def _recover(output: Path, *, keep: bool) -> Path | None:
    """Undo what a stopped build left behind: staging folders, or a set-aside output.  With
    ``keep`` (there is no output before last: a stopped build may have been writing into
    it), the newest staging folder is kept, and returned, for the caller to start from."""
    parent = output.parent
    if not parent.is_dir():
        return None
    retired = parent / f"{RETIRED_PREFIX}{output.name}"
    if retired.is_dir() and not output.exists():
        retired.rename(output)
    staging: list[tuple[int, Path]] = []
    for leftover in parent.iterdir():  # not a glob: an output's name may hold "[" or "*"
        if _is_side_folder(leftover.name, STAGING_PREFIX, output):
            with contextlib.suppress(OSError):
                staging.append((leftover.stat().st_mtime_ns, leftover))
        elif _is_side_folder(leftover.name, DISCARDED_PREFIX, output):
            shutil.rmtree(leftover, ignore_errors=True)
    staging.sort()
    found = staging.pop()[1] if keep and staging else None
    for _, leftover in staging:
        shutil.rmtree(leftover, ignore_errors=True)
    shutil.rmtree(retired, ignore_errors=True)
    return found


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
