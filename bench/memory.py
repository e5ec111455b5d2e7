"""The resident memory of a process tree, read from Linux's /proc as cheaply as it can be.

The benchmark polls the tree of the command it times every 10 ms.  psutil's
``Process.children(recursive=True)`` finds the children by reading the stat file of every
process on the machine: on two cores, polling that way took a sixth of a core from the
command measured (0.96 s of CPU in 6 s), and a command that keeps both cores busy (``feeds
validate``, ``feeds build``, Hugo) ran slower for it (a cold validate of 10,000 records:
3.44-3.55 s against 3.32-3.42 s), while a command on one core (the bare python-frontmatter
read) did not.  Here each process lists its own children
(``/proc/PID/task/TID/children``): 0.2 s of CPU in the same 6 s, for the same figure.
"""

from __future__ import annotations

import os
from pathlib import Path

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
PROC = Path("/proc")


def available() -> bool:
    """Whether this kernel lists each thread's children (``CONFIG_PROC_CHILDREN``)."""
    return (PROC / "self" / "task" / str(os.getpid()) / "children").is_file()


def tree_rss(pid: int) -> int:
    """The resident set size of ``pid`` and of every process below it, in bytes, as the
    ``statm`` file of each gives it (psutil's ``memory_info().rss`` reads the same).  A
    process that ends while it is read counts for nothing; so do its children."""
    return sum(tree_processes(pid).values())


def tree_processes(pid: int) -> dict[int, int]:
    """The resident set size of ``pid`` and of each process below it, in bytes, by pid
    (see :func:`tree_rss`)."""
    sizes: dict[int, int] = {}
    todo = [pid]
    while todo:
        current = todo.pop()
        folder = PROC / str(current)
        try:
            sizes[current] = int((folder / "statm").read_bytes().split()[1]) * PAGE_SIZE
            # Each thread lists the children it started: a pool's workers may be started
            # by a thread other than the main one.
            for task in (folder / "task").iterdir():
                todo.extend(map(int, (task / "children").read_bytes().split()))
        except (OSError, ValueError, IndexError):
            continue
    return sizes
