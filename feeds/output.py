"""Writing the output folder so that readers never see a half-written build.

Everything is written into a fresh sibling folder, then swapped in place of the
output folder with one ``renameat2(RENAME_EXCHANGE)`` call on Linux.  A build that fails or
is killed at any moment leaves the previous output as it was; the next build clears away the
leftover staging folder.  Where the exchange call is missing, two renames are used, and a
build that finds the output folder missing but a previous one set aside puts it back first.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
STAGING_PREFIX = ".staging-"
RETIRED_PREFIX = ".retired-"


class OutputError(Exception):
    """The output folder cannot be written; nothing was changed."""


class BuildLocked(OutputError):
    """Another build is writing the same output folder."""


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


class Staging:
    """The folder a new build is written into before it replaces the output.

    It is only a path and the folders made so far, so a forked worker process can write
    into it too."""

    def __init__(self, output: Path, folder: Path) -> None:
        self.output = output
        self.folder = folder
        self._root = os.fspath(folder)
        self._folders: set[str] = set()

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
        if isinstance(content, Path):
            _link_or_copy(content, target)
        else:
            with open(target, "xb") as handle:  # noqa: PTH123 - "x": never two documents at one path
                handle.write(content)


@contextlib.contextmanager
def staged(output: Path) -> Iterator[Staging]:
    """A fresh staging folder beside ``output`` that replaces it, in one step, when the
    ``with`` block ends without an error; on an error it is removed and ``output`` is left
    as it was."""
    output = output.absolute()
    parent = output.parent
    _recover(output)
    try:
        folder = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{output.name}-", dir=parent))
    except OSError as error:
        raise OutputError(f"cannot write to {parent}: {error.strerror or error}") from error
    try:
        yield Staging(output, folder.resolve())
        folder.chmod(0o755)
        _swap_in(folder, output)
    except OSError as error:
        shutil.rmtree(folder, ignore_errors=True)
        raise OutputError(f"cannot write {output}: {error.strerror or error}") from error
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def write_tree(output: Path, files: Iterable[tuple[str, bytes | Path]]) -> list[str]:
    """Replace the contents of ``output`` with ``files`` (see :meth:`Staging.write`), each
    written as it comes.  The paths written, in order."""
    written = []
    with staged(output) as staging:
        for relative, content in files:
            staging.write(relative, content)
            written.append(relative)
    return written


def _link_or_copy(source: Path, target: str) -> None:
    try:
        os.link(source, target)
    except OSError as error:
        if error.errno not in {errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP}:
            raise
        shutil.copyfile(source, target)


def _swap_in(staging: Path, output: Path) -> None:
    if output.exists() and not output.is_dir():
        raise OutputError(f"{output} exists and is not a folder")
    if output.is_dir() and _exchange(staging, output):
        # ``staging`` now holds the previous build.
        shutil.rmtree(staging, ignore_errors=True)
        _fsync_dir(output.parent)
        return
    retired = None
    if output.exists():
        retired = output.parent / f"{RETIRED_PREFIX}{output.name}"
        shutil.rmtree(retired, ignore_errors=True)
        output.rename(retired)
    staging.rename(output)
    _fsync_dir(output.parent)
    if retired is not None:
        shutil.rmtree(retired, ignore_errors=True)


def _exchange(first: Path, second: Path) -> bool:
    """Atomically swap two folders; ``False`` where the system cannot."""
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


def _recover(output: Path) -> None:
    """Undo what a killed build left behind: staging folders, or a set-aside output."""
    parent = output.parent
    if not parent.is_dir():
        return
    retired = parent / f"{RETIRED_PREFIX}{output.name}"
    if retired.is_dir() and not output.exists():
        retired.rename(output)
    for leftover in parent.glob(f"{STAGING_PREFIX}{output.name}-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    shutil.rmtree(retired, ignore_errors=True)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
