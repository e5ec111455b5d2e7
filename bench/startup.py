"""Start-up of ``feeds validate`` on one file, as a pre-commit hook pays it on every commit.

Runs the installed ``feeds`` command (or ``python -m feeds`` when the script is missing) on
one seed several times and prints the median wall time, start-up included.  Exits 1 when the
median misses the target, so CI can run it as a check.

    python bench/startup.py [--runs N] [--target SECONDS]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RECORD = "seeds/000_1f48a30587e22eab.txt"
TARGET_SECONDS = 0.3


def command() -> list[str]:
    script = Path(sys.executable).with_name("feeds")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-m", "feeds"]


def time_once(argv: list[str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(argv, cwd=REPO, capture_output=True, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(
            f"{' '.join(argv)} failed:\n{result.stdout.decode()}{result.stderr.decode()}"
        )
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--target", type=float, default=TARGET_SECONDS)
    args = parser.parse_args()
    argv = [*command(), "validate", RECORD]
    time_once(argv)  # warm the file system cache and the byte-code cache
    times = [time_once(argv) for _ in range(args.runs)]
    median = statistics.median(times)
    print(
        f"feeds validate {RECORD}: median {median * 1000:.0f} ms over {args.runs} runs "
        f"(min {min(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms; "
        f"target under {args.target * 1000:.0f} ms)"
    )
    return 0 if median < args.target else 1


if __name__ == "__main__":
    sys.exit(main())
