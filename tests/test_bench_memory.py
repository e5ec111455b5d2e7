"""``bench/memory.py`` measures the peak memory the benchmark reports: it must count every
process of a tree, however deep and whichever thread started it, and survive processes
that end while it reads them."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO, bench_module

HELD = 64 * 2**20  # bytes a process of the tree holds, resident

memory = bench_module("memory")
pytestmark = pytest.mark.skipif(
    not memory.available(), reason="this kernel does not list children in /proc"
)

# A process that holds HELD bytes at ``depth`` 0, or starts one that does ``depth`` levels
# below it, from a thread of its own when ``thread``; it says "ready" when the whole chain
# holds its memory, and ends when its standard input closes.
CHAIN = textwrap.dedent(
    """
    import subprocess, sys, threading
    depth, thread, held = int(sys.argv[1]), sys.argv[2] == "thread", int(sys.argv[3])
    if depth == 0:
        block = b"x" * held
        print("ready", flush=True)
        sys.stdin.read()
        sys.exit()
    def run():
        child = subprocess.Popen(
            [sys.executable, "-c", sys.argv[4], str(depth - 1), *sys.argv[2:]],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        print(child.stdout.readline().strip(), flush=True)
        sys.stdin.read()
        child.stdin.close()
        child.wait()
    # The thread lives as long as its child: a thread that ends hands its children over
    # to the main one.
    if thread:
        runner = threading.Thread(target=run)
        runner.start()
        runner.join()
    else:
        run()
    """
)


def _own_rss(pid: int) -> int:
    return int(Path(f"/proc/{pid}/statm").read_bytes().split()[1]) * int(memory.PAGE_SIZE)


@contextlib.contextmanager
def _started(*args: str) -> Iterator[subprocess.Popen[str]]:
    """A Python process run with ``args``, once it says it is ready; it ends when this does."""
    process = subprocess.Popen(
        [sys.executable, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None and process.stdin is not None
    try:
        assert process.stdout.readline().strip() == "ready"
        yield process
    finally:
        process.stdin.close()
        process.wait(timeout=30)


@pytest.fixture
def chain(request: pytest.FixtureRequest) -> Iterator[subprocess.Popen[str]]:
    depth, how = request.param
    with _started("-c", CHAIN, str(depth), how, str(HELD), CHAIN) as process:
        yield process


@pytest.mark.parametrize(
    "chain",
    [(1, "main"), (2, "main"), (1, "thread"), (2, "thread")],
    indirect=True,
    ids=["child", "grandchild", "child-of-a-thread", "grandchild-of-threads"],
)
def test_counts_memory_held_below_the_process(chain: subprocess.Popen[str]) -> None:
    total = memory.tree_rss(chain.pid)
    assert total >= _own_rss(chain.pid) + HELD


def test_a_process_alone_is_its_own_memory() -> None:
    with _started("-c", "import sys; print('ready', flush=True); sys.stdin.read()") as process:
        assert memory.tree_rss(process.pid) == _own_rss(process.pid)


def test_a_process_that_ended_counts_for_nothing() -> None:
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    assert memory.tree_rss(ended.pid) == 0


@pytest.mark.parametrize("chain", [(1, "main")], indirect=True, ids=["child"])
def test_each_process_of_the_tree_is_counted_apart(chain: subprocess.Popen[str]) -> None:
    sizes = memory.tree_processes(chain.pid)
    assert len(sizes) == 2
    assert sizes[chain.pid] == _own_rss(chain.pid)
    (child,) = set(sizes) - {chain.pid}
    assert sizes[child] >= HELD
    assert sum(sizes.values()) == memory.tree_rss(chain.pid)


# Holds HELD bytes in a child for half a second, then ends with code 3.
HOLDER = textwrap.dedent(
    """
    import subprocess, sys
    held = "import time; block = b'x' * int(__import__('sys').argv[1]); time.sleep(0.5)"
    subprocess.run([sys.executable, "-c", held, sys.argv[1]], check=True)
    sys.exit(3)
    """
)


def test_the_timeline_names_the_processes_that_held_the_peak() -> None:
    """``bench/timeline.py`` prints a line per interval, then the tree's peak with each
    process's part of it, and exits with the command's code."""
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "timeline.py"),
            "--every",
            "0.1",
            "--",
            sys.executable,
            "-c",
            HOLDER,
            str(HELD),
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 3
    lines = done.stdout.splitlines()
    peak_at = next(i for i, line in enumerate(lines) if line.startswith("peak "))
    assert peak_at >= 2  # lines while it ran
    assert all(" MB  " in line and "%" in line for line in lines[:peak_at])
    parts = lines[peak_at + 1 :]
    assert len(parts) == 2  # the command and its child
    sizes = [int(part.split()[1].replace(",", "")) for part in parts]
    assert max(sizes) >= HELD // 2**20
    assert int(lines[peak_at].split()[1].replace(",", "")) >= sum(sizes) - 1
    assert any("-c" in part for part in parts)
