"""Two versions of feeds timed on one command, run by run in turn.

    python bench/ab.py BASE [--other OTHER] [--runs 10] [--cwd DIR] [--fresh PATH]
                       [--before COMMAND] [--instructions] -- ARGS

Runs ``feeds ARGS`` in ``--cwd`` with the code of BASE and of OTHER, each a commit of this
repository (checked out in a temporary worktree) or a folder that holds a ``feeds``
package; OTHER is the working tree by default.  The two take turns, in pairs whose order
swaps from one pair to the next (BASE OTHER, OTHER BASE, ...), and each ``--fresh`` path is
removed before every run (``--fresh .feeds-cache`` times cold runs); ``--ok`` lists the
exit codes a run may end with (``--ok 0 1`` for ``validate`` on records with errors).
``--before`` is a shell command run before every run, after the ``--fresh`` paths are
removed; neither is timed.  It runs the version's feeds as ``$FEEDS``, so that each run can
start from a state that version made, as its cache requires.  For a build after one record
changed: ``--fresh out --fresh .previous-out --fresh .feeds-cache --before`` followed by

    'cp ../r1.md records/ && $FEEDS build --source records --out out &&
     sed -i "s/^title: /title: x /" records/r1.md'

Reported: the median and range of each version's wall time and processor time (of every
process the run started, those it left running included: a build's render workers, whose
time ``time`` does not count), and in how many pairs OTHER was quicker.

One table of ``bench/run.py`` cannot show a change of a tenth on a machine whose speed moves
within minutes: six cold ``feeds validate`` runs in a row of the bench's corpus took 5.8 to
7.0 s of processor time, and two tables of one commit forty minutes apart gave validate
0.278x and 0.207x the bare read.  Runs taken in turn meet the same moments of the machine.

``--instructions`` counts instead the machine instructions each run executes, in every
process it starts (valgrind's cachegrind, which must be installed).  A run takes twenty to
fifty times longer (a cold validate of 1,668 records: 0.9 s, 17-20 s counted), but its count
does not move with the machine: two such runs counted 7,199.1 and 7,199.0 million, so one
run of each shows a change of a thousandth.  Instructions are not time: work that waits on
the disk or on memory counts for less than it costs; and a process killed by a signal
leaves no count (a build kills the copy of itself that checks its output when the answer
is no longer wanted), which the run says.  Runs are made with ``PYTHONHASHSEED=0``, so that
sets and dicts of strings are laid out alike in every run.  A build after one record
changed, of 2,000 records, counted 2,155.1 and 2,156.0 million in two runs.

Only the code differs between the two: both run with this Python and its packages, in the
same folder.  A command that keeps a cache needs it removed before each run (``--fresh``):
a cache is kept for the code that wrote it, and each version would find the other's.
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import ctypes
import os
import re
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Version:
    """A version of feeds: its name as given, and the folder its ``feeds`` package is in."""

    name: str
    root: Path
    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    instructions: list[int] = field(default_factory=list)


@contextlib.contextmanager
def checked_out(names: Sequence[str], repo: Path = REPO) -> Iterator[list[Version]]:
    """A :class:`Version` for each name: a folder holding a ``feeds`` package is taken as
    it is, anything else is a commit of ``repo``, checked out in a worktree removed after."""
    with tempfile.TemporaryDirectory(prefix="feeds-ab-") as scratch:
        versions: list[Version] = []
        worktrees: list[Path] = []
        try:
            for index, name in enumerate(names):
                folder = Path(name)
                if (folder / "feeds" / "__init__.py").is_file():
                    versions.append(Version(name, folder.resolve()))
                    continue
                worktree = Path(scratch) / f"v{index}"
                _git(repo, "worktree", "add", "--detach", str(worktree), name)
                worktrees.append(worktree)
                versions.append(Version(name, worktree))
            for version in versions:  # as an install writes it: not compiled in a timed run
                compileall.compile_dir(version.root / "feeds", quiet=1)
            yield versions
        finally:
            for worktree in worktrees:
                _git(repo, "worktree", "remove", "--force", str(worktree))


def _git(repo: Path, *args: str) -> None:
    command = ["git", "-C", str(repo), *args]
    done = subprocess.run(command, check=False, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"git {' '.join(args)}: {done.stderr.strip()}")


def turns(pairs: int) -> Iterator[tuple[int, int]]:
    """The order of runs: which version (0 or 1) runs, for each pair, first then second."""
    for pair in range(pairs):
        yield (0, 1) if pair % 2 == 0 else (1, 0)


@dataclass(frozen=True)
class Run:
    """What each run is: ``feeds args`` in ``cwd``, ending with an exit code in ``ok``,
    and how it is made ready, untimed (:func:`_prepare`): the ``fresh`` paths removed,
    then the shell command ``before`` run."""

    args: Sequence[str]
    cwd: Path
    ok: Collection[int] = (0,)
    fresh: Sequence[Path] = ()
    before: str = ""


def timed(version: Version, run: Run) -> tuple[float, float]:
    """Wall and processor time of ``run`` with ``version``'s code, made ready first: the
    processor time of every process the run started and this one waited for, which
    includes those that outlived the run once :func:`adopt_orphans` was called."""
    _prepare(version, run)
    start_usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    _run(version, run)
    wall = time.perf_counter() - start
    end_usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = end_usage.ru_utime - start_usage.ru_utime + end_usage.ru_stime - start_usage.ru_stime
    return wall, cpu


_PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h
_adopting = False


def adopt_orphans() -> None:
    """Make this process the parent of the runs' processes whose own parent ends first,
    and wait for them after each run (for a process of its own, as the command line is:
    any other child it has would be waited for too).

    The processor time of a process counts for its parent once the parent waits for it,
    and only then.  A build's render workers were once children of a forkserver that the
    build started and did not wait for: a cold build of the bench's corpus counted 22.8 s
    without them, where its render worker alone took 14.2 s.  They are its own children
    now (see feeds/parallel.py), but its resource tracker is still not waited for."""
    global _adopting  # noqa: PLW0603 - once per process, as the system's setting is
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")
    _adopting = True


def _reap_orphans() -> None:
    """Wait for the processes a run left to this one (see :func:`adopt_orphans`)."""
    while _adopting:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return


# cachegrind without its cache simulation counts instructions only; every process started
# (workers, the resource tracker) is followed and writes its own log, with its own count.
CACHEGRIND = (
    "valgrind",
    "--tool=cachegrind",
    "--cache-sim=no",
    "--trace-children=yes",
    "--cachegrind-out-file=/dev/null",
)
_COUNT = re.compile(r"I\s+refs:\s+([\d,]+)")


def counted(version: Version, run: Run) -> int:
    """The instructions ``run`` executes with ``version``'s code, summed over the
    processes it starts, once made ready (not counted)."""
    _prepare(version, run)
    with tempfile.TemporaryDirectory(prefix="feeds-ab-logs-") as logs:
        logged = f"--log-file={logs}/%p"
        _run(version, run, prefix=(*CACHEGRIND, logged), hash_seed="0")
        texts = [path.read_text() for path in Path(logs).iterdir()]
    counts = [instructions(text) for text in texts]
    if not any(counts):
        last = texts[-1][-2000:] if texts else "(no log)"
        raise SystemExit(f"valgrind counted no instructions:\n{last}")
    if None in counts:
        # A process killed by a signal writes no count: a build kills the copy of itself
        # it forked to check its output when the answer is no longer wanted.
        print(f"    ({counts.count(None)} process(es) killed before a count)", flush=True)
    return sum(count for count in counts if count)


def instructions(log: str) -> int | None:
    """The instructions a cachegrind log reports (a process that replaced its program has
    a count for each); ``None`` when it reports none."""
    counts = _COUNT.findall(log)
    if not counts:
        return None
    return sum(int(count.replace(",", "")) for count in counts)


def _prepare(version: Version, run: Run) -> None:
    """Make ready for ``run``: remove each of its ``fresh`` paths (the 23,263 files of
    a cold build of the bench's corpus took 1.07 s, which was once timed with the build),
    then run its shell command ``before``, with ``$FEEDS`` set to run ``version``'s feeds
    (a build to start from, then a record edited, for a build after one change)."""
    for path in run.fresh:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    if not run.before:
        return
    feeds = f"{shlex.quote(sys.executable)} -m feeds"
    # A command line as the user gave it, for a shell to run; the processes it leaves are
    # waited for here, not counted with the run.
    _checked(version, run.before, run.cwd, {"FEEDS": feeds}, ok=(0,), what="--before")


def _run(
    version: Version, run: Run, *, prefix: Sequence[str] = (), hash_seed: str | None = None
) -> None:
    """Run ``feeds args`` with ``version``'s code (under ``prefix``); stop when it exits
    with a code not in ``ok``."""
    command = [*prefix, sys.executable, "-m", "feeds", *run.args]
    extra = {} if hash_seed is None else {"PYTHONHASHSEED": hash_seed}
    _checked(version, command, run.cwd, extra, ok=run.ok, what="feeds")


def _checked(
    version: Version,
    command: str | list[str],
    cwd: Path,
    extra: Mapping[str, str],
    *,
    ok: Collection[int],
    what: str,
) -> None:
    """Run ``command`` (a shell's command line, or a program and its arguments) in ``cwd``
    with ``version``'s code on the path and ``extra`` in its environment, and wait for the
    processes it leaves (:func:`adopt_orphans`); stop when it exits with a code not in
    ``ok``, naming it ``what``."""
    environment = {**os.environ, "PYTHONPATH": str(version.root), "CI": "true", **extra}
    done = subprocess.run(
        command,
        shell=isinstance(command, str),
        cwd=cwd,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
    )
    _reap_orphans()
    if done.returncode not in ok:
        message = done.stderr.decode(errors="replace")[-2000:]
        raise SystemExit(f"{version.name}: {what} exited with {done.returncode}\n{message}")


def summary(base: Version, other: Version) -> str:
    """Medians and ranges of both versions, and how ``other`` compares with ``base``."""
    if base.instructions:
        return _counts(base, other)
    lines = []
    width = max(len(base.name), len(other.name))
    for version in (base, other):
        walls, cpus = version.walls, version.cpus
        lines.append(
            f"{version.name:{width}}  wall {statistics.median(walls):.2f} s"
            f" ({min(walls):.2f}-{max(walls):.2f}),"
            f" processor {statistics.median(cpus):.2f} s ({min(cpus):.2f}-{max(cpus):.2f})"
        )
    quicker = sum(o < b for b, o in zip(base.walls, other.walls, strict=True))
    wall = statistics.median(other.walls) / statistics.median(base.walls)
    cpu = statistics.median(other.cpus) / statistics.median(base.cpus)
    lines.append(
        f"{other.name} / {base.name}: wall {wall:.3f}x, processor {cpu:.3f}x;"
        f" {other.name} quicker in {quicker} of {len(base.walls)} pairs"
    )
    return "\n".join(lines)


def _counts(base: Version, other: Version) -> str:
    lines = []
    width = max(len(base.name), len(other.name))
    for version in (base, other):
        counts = version.instructions
        lines.append(
            f"{version.name:{width}}  instructions {statistics.median(counts):,.0f}"
            f" ({min(counts):,}-{max(counts):,})"
        )
    fewer = sum(o < b for b, o in zip(base.instructions, other.instructions, strict=True))
    ratio = statistics.median(other.instructions) / statistics.median(base.instructions)
    lines.append(
        f"{other.name} / {base.name}: instructions {ratio:.4f}x;"
        f" {other.name} fewer in {fewer} of {len(base.instructions)} pairs"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", help="a commit, or a folder holding a feeds package")
    parser.add_argument("--other", default=str(REPO), help="[default: the working tree]")
    parser.add_argument(
        "--runs", type=int, help="runs of each [default: 10; 1 with --instructions]"
    )
    parser.add_argument(
        "--instructions", action="store_true", help="count instructions (cachegrind)"
    )
    parser.add_argument("--cwd", type=Path, default=Path.cwd())
    parser.add_argument("--fresh", type=Path, action="append", default=[])
    parser.add_argument("--ok", type=int, nargs="+", default=[0], help="exit codes [0]")
    parser.add_argument(
        "--before",
        default="",
        metavar="COMMAND",
        help="shell command run before each run, not timed ($FEEDS runs the version's feeds)",
    )
    parser.add_argument("args", nargs="+", help="what follows `feeds` (after --)")
    options = parser.parse_args(argv)
    runs = options.runs if options.runs is not None else 1 if options.instructions else 10
    if runs < 1:
        parser.error("--runs must be at least 1")
    if options.instructions and shutil.which("valgrind") is None:
        parser.error("--instructions needs valgrind (apt-get install valgrind)")
    fresh = [options.cwd / path for path in options.fresh]
    run = Run(options.args, options.cwd, options.ok, fresh, options.before)
    adopt_orphans()
    with checked_out([options.base, options.other]) as versions:
        for pair, order in enumerate(turns(runs)):
            for index in order:
                version = versions[index]
                if options.instructions:
                    count = counted(version, run)
                    version.instructions.append(count)
                    print(f"  {pair + 1:3} {version.name}: {count:,}", flush=True)
                    continue
                wall, cpu = timed(version, run)
                version.walls.append(wall)
                version.cpus.append(cpu)
                print(f"  {pair + 1:3} {version.name}: {wall:.2f} s, {cpu:.2f} s", flush=True)
        print(summary(*versions))
    return 0


if __name__ == "__main__":
    sys.exit(main())
