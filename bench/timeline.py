"""Which process of a command's tree holds what, as the command runs, and at its peak.

    python bench/timeline.py [--every SECONDS] -- COMMAND [ARGUMENTS...]

``bench/run.py`` reports the peak of the whole tree; this says whose it was.  Every
``--every`` seconds (default 1) it prints the time, the tree's resident set size, and each
process's with the share of a core it took since the line before; at the end, the peak
(the tree is read every 0.1 s, or at every line if that is more often), with each
process's part of it.  A cold build at 100,000 records peaks twice, at the end of checking
(the main process and two checking workers) and while rendering (the main process, a
render worker and the resource tracker): a change that lowers one hump
lowers the peak only as far as the other.

The command's own output goes where this script's goes.  Exits with the command's code.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from memory import PROC, tree_processes  # bench/ is the folder of the script

MB = 2**20
TICKS = os.sysconf("SC_CLK_TCK")
PEAK_EVERY = 0.1  # seconds between reads of the tree at most


def processor_seconds(pid: int) -> float:
    """The user and system time ``pid`` has taken; 0 once it is gone."""
    try:
        fields = (PROC / str(pid) / "stat").read_bytes().rsplit(b")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def command_name(pid: int) -> str:
    """A short name for ``pid``: its command line on one line, cut."""
    try:
        words = (PROC / str(pid) / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    named = " ".join(Path(w.decode(errors="replace")).name for w in words[:4] if w)
    return " ".join(named.split())[:48]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--every", type=float, default=1.0, help="seconds between lines")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give a command to run")
    start = time.monotonic()
    child = subprocess.Popen(command)
    names: dict[int, str] = {}
    used: dict[int, float] = {}
    peak: dict[int, int] = {}
    peak_at = 0.0
    last_line = start
    while child.poll() is None:
        sizes = tree_processes(child.pid)
        now = time.monotonic()
        for pid in sizes:
            if not names.get(pid):  # read again while a process has none yet (or no more)
                names[pid] = command_name(pid)
        if sum(sizes.values()) > sum(peak.values()):
            peak, peak_at = sizes, now - start
        if now - last_line >= args.every:
            parts = []
            for pid, size in sorted(sizes.items()):
                taken = processor_seconds(pid)
                share = (taken - used.get(pid, 0.0)) / (now - last_line)
                used[pid] = taken
                parts.append(f"{pid} {size / MB:,.0f} MB {share:.0%}")
            total = sum(sizes.values()) / MB
            print(f"{now - start:8.1f} s {total:8,.0f} MB  " + " | ".join(parts), flush=True)
            last_line = now
        time.sleep(min(PEAK_EVERY, args.every))
    print(f"peak {sum(peak.values()) / MB:,.0f} MB at {peak_at:.1f} s:", flush=True)
    for pid, size in sorted(peak.items()):
        print(f"  {pid} {size / MB:8,.0f} MB  {names.get(pid, '?')}", flush=True)
    return child.returncode


if __name__ == "__main__":
    sys.exit(main())
