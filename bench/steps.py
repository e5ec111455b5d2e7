"""Where the time and memory of one real ``feeds build`` go, step by step.

    python bench/steps.py build --source FOLDER --out OUT [other options of feeds build]

Runs the command in this process, as ``feeds`` would, with the library's steps timed
(``STEPS``): whatever the build finds (no cache, nothing changed, one record changed), the
table shows the steps it took, each with its wall time, how often it ran, and the peak
resident set size of this process while it ran (render workers, when a build starts them,
are not counted: ``bench/run.py`` measures the whole process tree).  Steps nest: a step's
time includes that of the steps listed under it.  A step is timed wherever it is called
from; one called thousands of times (add it to ``STEPS`` to see it) is slowed by a few
microseconds a call.

Each benchmark run of a one-record change used to start with a throw-away script that
wrapped these functions by hand; this is that script, kept with the code it measures.
"""

from __future__ import annotations

import functools
import importlib
import os
import pkgutil
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import feeds
from feeds.api import leave_to_exit
from feeds.cli import main as command

# Module and qualified name of each step, in the order a build takes them.
STEPS = (
    ("feeds.rendercache", "load_last_build"),
    ("feeds.api", "_snapshot"),
    ("feeds.api", "_up_to_date"),
    ("feeds.scan", "known_digests"),
    ("feeds.api", "_unchanged"),
    ("feeds.api", "_publish"),
    ("feeds.api", "_merged_graph"),
    ("feeds.graphcache", "load_state"),
    ("feeds.graphcache", "merge_changes"),
    ("feeds.graphcache", "merge_all"),
    ("feeds.keys", "entry_digests"),
    ("feeds.graphcache", "store_state"),
    ("feeds.cache", "Cache.keep_only"),
    ("feeds.api", "_checked_source"),
    ("feeds.plan", "plan_feeds"),
    ("feeds.api", "_write"),
    ("feeds.parallel", "write_documents"),
    ("feeds.rendercache", "store_last_build"),
    ("feeds.api", "_keep_snapshot"),
)
# How often the resident set size is read while a step runs.
SAMPLE_SECONDS = 0.01
_PAGE = os.sysconf("SC_PAGE_SIZE")


_STATM = os.open("/proc/self/statm", os.O_RDONLY)


def resident() -> int:
    """The resident set size of this process, in bytes (Linux): one system call, as a
    step called thousands of times reads it twice per call."""
    return int(os.pread(_STATM, 128, 0).split()[1]) * _PAGE


@dataclass
class Step:
    name: str
    depth: int  # how many steps it ran inside, the first time
    calls: int = 0
    seconds: float = 0.0
    peak: int = 0  # bytes


class Steps:
    """The steps taken, in the order they were first taken, and the one running now."""

    def __init__(self) -> None:
        self.taken: dict[str, Step] = {}
        self._running: list[Step] = []
        self._stop = threading.Event()

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        step = self.taken.get(name)
        if step is None:
            step = self.taken[name] = Step(name, len(self._running))
        self._running.append(step)
        self._charge(resident())
        started = time.perf_counter()
        try:
            yield
        finally:
            step.seconds += time.perf_counter() - started
            step.calls += 1
            self._charge(resident())
            self._running.pop()

    def _charge(self, resident: int) -> None:
        """Count ``resident`` bytes against every step running (an outer step's peak is at
        least that of the steps inside it)."""
        for step in tuple(self._running):
            step.peak = max(step.peak, resident)

    def watch(self) -> None:
        """Read the resident set size until :meth:`stop`: a step's peak may come and go
        between its start and its end."""
        while not self._stop.wait(SAMPLE_SECONDS):
            self._charge(resident())

    def stop(self) -> None:
        self._stop.set()


def timed(steps: Steps, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def run(*args: Any, **kwargs: Any) -> Any:
        with steps.step(name):
            return function(*args, **kwargs)

    return run


def instrument(steps: Steps) -> None:
    """Put a timed wrapper in place of each of ``STEPS``: in its module, and in every
    module of feeds that imported it by name.  Each step is named after its module and
    qualified name, without the package (``parallel._write`` and ``api._write`` differ)."""
    modules = [
        importlib.import_module(found.name)
        for found in pkgutil.walk_packages(feeds.__path__, "feeds.")
        if found.name != "feeds.__main__"  # the command itself: it would run
    ]
    for module_name, qualified in STEPS:
        owner: Any = importlib.import_module(module_name)
        *outer, attribute = qualified.split(".")
        for part in outer:
            owner = getattr(owner, part, None)
        function = getattr(owner, attribute, None)
        if function is None:
            raise SystemExit(f"{module_name}.{qualified} is gone: update STEPS in {__file__}")
        wrapper = timed(steps, f"{module_name.removeprefix('feeds.')}.{qualified}", function)
        setattr(owner, attribute, wrapper)
        for module in modules:
            for name, value in list(vars(module).items()):
                if value is function:
                    setattr(module, name, wrapper)


def table(steps: Steps, total: float, peak: int) -> str:
    lines = [f"{'step':<44} {'calls':>6} {'wall':>9} {'peak RSS':>10}"]
    for step in steps.taken.values():
        name = "  " * step.depth + step.name
        lines.append(f"{name:<44} {step.calls:>6} {step.seconds:>8.3f}s {step.peak >> 20:>7} MB")
    lines.append(f"{'whole command':<44} {'':>6} {total:>8.3f}s {peak >> 20:>7} MB")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    started = time.perf_counter()
    steps = Steps()
    instrument(steps)
    leave_to_exit()  # as the command does: nothing is freed before it ends
    watcher = threading.Thread(target=steps.watch, daemon=True)
    watcher.start()
    code: int | str | None = 0
    try:
        command(argv)
    except SystemExit as done:
        code = done.code
    finally:
        steps.stop()
        watcher.join()
    import resource  # noqa: PLC0415

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(table(steps, time.perf_counter() - started, peak), file=sys.stderr)
    if code is None or isinstance(code, int):
        return code or 0
    print(code, file=sys.stderr)
    return 1


if __name__ == "__main__":  # each render worker imports this script again
    code = main(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # as the command does: the system takes back what the build made
