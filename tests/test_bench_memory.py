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

from tests.conftest import bench_module

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
