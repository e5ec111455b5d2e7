"""Worker processes for checking files, the heavy part of a cold run before rendering, and
a forked copy of the build that works on one check while the build goes on: with the
build once it wants the answer (:class:`ForkedCheck`), or ahead of it, part by part
(:class:`ForkedParts`).

Workers are forked the first time they are needed, which in a build is before the article
graph exists: they inherit the compiled schema but not the graph, so the memory of the
process tree does not multiply.  (Rendering, which comes after the graph, starts workers
of its own from a fresh process: :mod:`feeds.parallel`.)  Fewer than two cores, or too
little work to pay for starting them (~50 ms), and everything runs in the calling process
instead.
"""

from __future__ import annotations

import contextlib
import functools
import os
import select
import signal
import threading
import time
from typing import TYPE_CHECKING, Any, Self

if TYPE_CHECKING:
    import mmap
    from collections.abc import Callable, Iterable
    from concurrent.futures import Executor, ProcessPoolExecutor

    # What the parts of a check are marked in: shared with its copy, where there is one.
    _Taken = bytearray | mmap.mmap

# What forked workers inherit (set just before the fork).
INHERITED: dict[str, Any] = {}


def follow(parent: int) -> None:
    """End this worker process as soon as ``parent``, the process running the build, is
    gone.  Its pool tells it to stop when the build ends, but a build killed outright (the
    OOM killer, ``kill -9``, or ``timeout`` signalling that process alone) never does, and
    a worker left waiting for work keeps its memory for good: after a build was stopped
    with SIGTERM, its render worker and the process it was started from were still there
    a minute later."""
    threading.Thread(target=_exit_after, args=(parent,), name="follow", daemon=True).start()


def _exit_after(parent: int) -> None:
    try:
        handle = os.pidfd_open(parent)  # readable once the process has ended
    except ProcessLookupError:
        os._exit(1)
    except (AttributeError, OSError):  # no pidfd here: ask every second instead
        while _alive(parent):
            time.sleep(1)
    else:
        select.select([handle], [], [])
    os._exit(1)  # what it was writing is in a staging folder, which no build trusts as is


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # there, but not ours
        pass
    return True


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class Workers:
    """A process pool started on first use; ``None`` from :meth:`get` when there is one core."""

    def __init__(self, jobs: int | None = None) -> None:
        self.jobs = cores() if jobs is None else jobs
        self._pool: ProcessPoolExecutor | None = None

    @property
    def started(self) -> bool:
        return self._pool is not None

    def get(self, **inherited: Any) -> Executor | None:
        if self.jobs < 2:
            return None
        if self._pool is None:
            # Imported here: a run on a few files (pre-commit) never starts workers.
            from concurrent.futures import ProcessPoolExecutor  # noqa: PLC0415
            from multiprocessing import get_context  # noqa: PLC0415

            INHERITED.update(inherited)
            self._pool = ProcessPoolExecutor(
                self.jobs, get_context("fork"), initializer=follow, initargs=(os.getpid(),)
            )
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
        INHERITED.clear()

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Copy:
    """A forked copy of this process at work on the parts of a check, each marked in a map
    the two share (:attr:`_taken`), where :func:`_fork` can make one; else the map is this
    process's alone."""

    def __init__(self, parts: int, work: Callable[[_Taken, int], None], *, fork: bool) -> None:
        self._pid: int | None = None
        self._taken: _Taken = bytearray(parts)
        copy = _fork(parts, work) if fork else None
        if copy is not None:
            self._pid, self._taken = copy

    @property
    def forked(self) -> bool:
        """Whether a copy is at work."""
        return self._pid is not None

    def cancel(self) -> None:
        """End the copy, if there is one, done or not: no more of its work is wanted."""
        pid, self._pid = self._pid, None
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            _reaped(pid)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cancel()


class ForkedCheck(_Copy):
    """A check of many parts that answers yes when every part passes, run by a forked copy
    of this process while this one goes on, and by both once this one wants the answer;
    run here alone where no copy can be made.

    A build with nothing to do stats every record file against its snapshot, then every
    file of its output against the record of the last build: at 100,000 records, 0.6 s and
    0.9 s of a 1.9 s build.  Each is a loop of system calls that holds the GIL between
    them, so a thread would only take turns with the other; a copy forked from the build
    runs on another core.  It needs nothing sent, since its memory is the build's (copied
    on write).

    The copy checks the parts from the first on.  When this process asks for the answer
    (:meth:`result`), it checks those left from the last back, until the two meet.  At
    10,000 records, a build waited 35-77 ms for a copy still stating the 23,500 files of
    its output (three builds); taking the parts left itself, 0-13 ms (five builds).  The
    two mark the parts they take in a map they share, so neither takes one the other has
    taken (both may take one at the very moment they meet: it is checked twice).  A part
    the copy took and never finished (it met an error, or was killed) is checked here.

    A copy is made only with ``fork`` true, more than one core, and no other thread
    running (a thread may hold a lock the copy would wait for forever).  Leaving the
    ``with`` block, or :meth:`cancel`, ends a copy whose answer is not wanted; a copy
    also ends with the process it was copied from (:func:`follow`), as it holds what that
    one held open, the lock of the build among them."""

    def __init__(self, check: Callable[[int], bool], parts: int = 1, *, fork: bool = True) -> None:
        self._check = check
        self._parts = parts
        super().__init__(parts, functools.partial(_answer, check, parts), fork=fork)

    def result(self) -> bool:
        """Whether every part passes: checked by this process from the last part back, those
        the copy has not taken, then the copy's answer, and here any part it left."""
        if not _take(self._check, reversed(range(self._parts)), self._taken):
            self.cancel()
            return False
        pid, self._pid = self._pid, None
        if pid is not None:
            status = _reaped(pid)
            if status is not None and os.WIFEXITED(status) and os.WEXITSTATUS(status) == 1:
                return False  # a part the copy checked failed
        return all(
            state == _PASSED or (state != _FAILED and self._check(part))
            for part, state in enumerate(self._taken[: self._parts])
        )


class ForkedParts(_Copy):
    """The parts of a check that a forked copy of this process works through while this one
    goes on, each answer there for this one to take as soon as the copy has it
    (:meth:`passed`); this one checks for itself any part it finds no pass for.

    Unlike :class:`ForkedCheck`, nothing waits for the copy, and a part that fails stops
    nothing: the copy checks every part.  It suits a check whose parts this process needs
    one by one, later, and each for itself (:class:`feeds.rendercache.StatedAhead`).

    A copy is made as for :class:`ForkedCheck`; leaving the ``with`` block, or
    :meth:`cancel`, ends it, done or not."""

    def __init__(self, check: Callable[[int], bool], parts: int = 1, *, fork: bool = True) -> None:
        super().__init__(parts, functools.partial(_survey, check, parts), fork=fork)

    def passed(self, part: int) -> bool:
        """Whether the copy has checked ``part`` and found it passes, at this moment."""
        return self._taken[part] == _PASSED


def _fork(parts: int, work: Callable[[_Taken, int], None]) -> tuple[int, mmap.mmap] | None:
    """A copy of this process that runs ``work`` with a map of one byte a part, shared with
    this one, and the pid of this one, and then ends: its pid and the map.  ``None`` where
    none can be made: one core, another thread running (it may hold a lock the copy would
    wait for forever), or no ``fork``."""
    if cores() < 2 or threading.active_count() > 1 or not hasattr(os, "fork"):
        return None
    import mmap  # noqa: PLC0415 - only where a copy is made

    # Anonymous and shared (MAP_SHARED): what either process marks, the other reads.
    taken = mmap.mmap(-1, max(parts, 1))
    parent = os.getpid()
    try:
        pid = os.fork()
    except OSError:  # no room for another process: checked here instead
        taken.close()
        return None
    if pid == 0:
        work(taken, parent)
    return pid, taken


# What the map of a copy (ForkedCheck, ForkedParts) holds for each part: not taken yet,
# being checked, passed or failed.  One byte each, which a process writes at once.
_FREE, _TAKEN, _PASSED, _FAILED = range(4)


def _take(check: Callable[[int], bool], parts: Iterable[int], taken: _Taken) -> bool:
    """Check ``parts`` in order, marking each in ``taken``, until one that the other process
    took: whether every part checked passed (checking stops at one that fails)."""
    for part in parts:
        if taken[part] != _FREE:
            break
        if not _marked(check, part, taken):
            return False
    return True


def _marked(check: Callable[[int], bool], part: int, taken: _Taken) -> bool:
    """Check ``part``, marked in ``taken`` as taken while it is checked, then as it passed
    or failed: whether it passed."""
    taken[part] = _TAKEN
    passed = check(part)
    taken[part] = _PASSED if passed else _FAILED
    return passed


def _answer(check: Callable[[int], bool], parts: int, taken: _Taken, parent: int) -> None:
    """Check ``parts`` from the first on (:func:`_take`) and end this copy with the answer
    as its exit status (0: the parts it checked passed, 1: one failed, 2: it met an error),
    without running anything the process it was copied from, ``parent``, would run at its
    end."""
    code = 2
    try:
        follow(parent)
        code = 0 if _take(check, range(parts), taken) else 1
    finally:
        os._exit(code)


def _survey(check: Callable[[int], bool], parts: int, taken: _Taken, parent: int) -> None:
    """Check every one of ``parts``, marking each in ``taken`` as it goes, and end this
    copy, as :func:`_answer` does (0: done, 2: it met an error)."""
    code = 2
    try:
        follow(parent)
        for part in range(parts):
            _marked(check, part, taken)
        code = 0
    finally:
        os._exit(code)


def _reaped(pid: int) -> int | None:
    """The wait status of the ended child ``pid``, waiting for it to end; ``None`` when it
    is not ours to wait for (another part of the program took it)."""
    try:
        return os.waitpid(pid, 0)[1]
    except ChildProcessError:
        return None
