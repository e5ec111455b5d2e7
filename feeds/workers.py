"""Worker processes for checking files, the heavy part of a cold run before rendering.

Workers are forked the first time they are needed, which in a build is before the article
graph exists: they inherit the compiled schema but not the graph, so the memory of the
process tree does not multiply.  (Rendering, which comes after the graph, starts workers
of its own from a fresh process: :mod:`feeds.parallel`.)  Fewer than two cores, or too
little work to pay for starting them (~50 ms), and everything runs in the calling process
instead.
"""

from __future__ import annotations

import os
import select
import threading
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from concurrent.futures import Executor, ProcessPoolExecutor

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
