"""Faults: builds killed mid-way, builds at the same time, output that cannot be written.

Whatever happens, ``out/`` holds one whole build: the previous one or the new one, never a
mixture and never a half-written file.
"""

from __future__ import annotations

import errno
import json
import os
import random
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from feeds.output import OutputError, build_lock, previous_path, staged
from feeds.workers import cores
from tests.cli import assert_no_traceback, feeds
from tests.conftest import tree
from tests.editions import write_editions

RECORDS = 400
BUILD = ["build", "--source", "records", "--out", "out", "--entries", "10000"]


def leftovers(root: Path) -> list[str]:
    prefixes = (".staging-", ".retired-", ".discarded-")
    return sorted(p.name for p in root.iterdir() if p.name.startswith(prefixes))


def start_build(root: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "feeds", *BUILD, *extra],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture(scope="module")
def editions(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, bytes], float]:
    """A project whose ``out/`` holds the first edition's feeds while ``records/`` holds the
    second's; the second edition's feeds, and how long building them takes."""
    root = tmp_path_factory.mktemp("faults")
    write_editions(root / "records", RECORDS, edition=1)
    assert feeds(*BUILD, cwd=root).returncode == 0
    write_editions(root / "records", RECORDS, edition=2)
    started = time.monotonic()
    second = feeds(*BUILD[:-4], "--out", "second", "--entries", "10000", cwd=root)
    duration = time.monotonic() - started
    assert second.returncode == 0, second.stderr
    return root, tree(root / "second"), duration


def kill_when(process: subprocess.Popen[str], ready: Callable[[], bool], delay: float) -> None:
    """SIGKILL ``process`` ``delay`` seconds after ``ready()`` first holds."""
    while process.poll() is None and not ready():
        time.sleep(0.0005)
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    process.communicate()


def test_a_killed_build_leaves_one_whole_output(
    editions: tuple[Path, dict[str, bytes], float],
) -> None:
    root, second, duration = editions
    first = tree(root / "out")
    assert first.keys() == second.keys() and first != second
    chance = random.Random(4)
    # Moments while a build writes its staging folder (the part that matters, and only a few
    # hundredths of a second long), then moments anywhere in a build.
    writing = [0.0, *(chance.uniform(0, 0.05) for _ in range(4))]
    anywhere = [duration * chance.random() for _ in range(5)]
    outcomes: list[tuple[str, str, bool]] = []
    for phase, delays in [("writing", writing), ("anywhere", anywhere)]:
        for delay in delays:
            before = set(leftovers(root))

            def ready(phase: str = phase, before: set[str] = before) -> bool:
                return phase == "anywhere" or bool(set(leftovers(root)) - before)

            kill_when(start_build(root), ready, delay)
            now = tree(root / "out")
            assert now in (first, second), f"out/ is neither build after a kill ({phase})"
            staged = bool(set(leftovers(root)) - before)
            outcomes.append((phase, "first" if now == first else "second", staged))
    # The kill as soon as staging began hit a build half-way through writing.
    assert ("writing", "first", True) in outcomes, outcomes
    # The next build clears what the killed ones left behind and publishes the new edition.
    finished = feeds(*BUILD, cwd=root)
    assert finished.returncode == 0, finished.stderr
    assert tree(root / "out") == second
    assert leftovers(root) == []


def test_a_build_while_another_holds_the_lock_is_refused(tmp_path: Path) -> None:
    write_editions(tmp_path / "records", 3)
    assert feeds(*BUILD, cwd=tmp_path).returncode == 0
    before = tree(tmp_path / "out")
    write_editions(tmp_path / "records", 3, edition=2)
    with build_lock(tmp_path / "out"):
        refused = feeds(*BUILD, cwd=tmp_path)
    assert refused.returncode == 1
    assert_no_traceback(refused)
    last = refused.stderr.splitlines()[-1]
    assert last.startswith("error: another build is writing ")
    assert last.endswith("try again when it ends; the previous output is unchanged")
    assert tree(tmp_path / "out") == before
    assert leftovers(tmp_path) == []


def test_builds_at_the_same_time_never_mix(tmp_path: Path) -> None:
    write_editions(tmp_path / "records", RECORDS)
    processes = [start_build(tmp_path) for _ in range(3)]
    results = [(p.wait(timeout=120), *p.communicate()) for p in processes]
    succeeded = [r for r in results if r[0] == 0]
    assert succeeded, results
    for code, _stdout, stderr in results:
        if code != 0:
            assert code == 1 and "another build is writing" in stderr, stderr
    expected = feeds(*BUILD[:-4], "--out", "expected", "--entries", "10000", cwd=tmp_path)
    assert expected.returncode == 0
    assert tree(tmp_path / "out") == tree(tmp_path / "expected")
    assert leftovers(tmp_path) == []


def test_an_output_folder_that_cannot_be_written(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    write_editions(tmp_path / "records", 3)
    built = feeds(*BUILD[:-4], "--out", "site/out", cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    before = tree(site / "out")
    write_editions(tmp_path / "records", 3, edition=2)
    site.chmod(0o555)
    try:
        refused = feeds(*BUILD[:-4], "--out", "site/out", cwd=tmp_path, obey_permissions=True)
    finally:
        site.chmod(0o755)
    assert refused.returncode == 1
    assert_no_traceback(refused)
    last = refused.stderr.splitlines()[-1]
    assert last.startswith("error: ") and "Permission denied" in last
    assert last.endswith("the previous output is unchanged")
    assert tree(site / "out") == before
    assert leftovers(site) == []


def test_an_output_folder_inside_a_read_only_one_that_is_missing(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    write_editions(tmp_path / "records", 3)
    locked.chmod(0o555)
    try:
        refused = feeds(*BUILD[:-4], "--out", "locked/a/out", cwd=tmp_path, obey_permissions=True)
    finally:
        locked.chmod(0o755)
    assert refused.returncode == 1
    assert_no_traceback(refused)
    assert "Permission denied" in refused.stderr
    assert list(locked.iterdir()) == []


@pytest.mark.parametrize("relative", ["", "/etc/passwd", "../beside", "a/../../beside", ".."])
def test_nothing_is_written_outside_the_staging_folder(tmp_path: Path, relative: str) -> None:
    with pytest.raises(OutputError, match="refusing"), staged(tmp_path / "out") as staging:
        staging.write(relative, b"x")
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # the staging folder is gone too


def test_documents_and_links_land_in_their_folders(tmp_path: Path) -> None:
    source = tmp_path / "kept.xml"
    source.write_bytes(b"kept")
    with staged(tmp_path / "out") as staging:
        staging.write("a/b/c.xml", b"new")
        staging.write("a/d.xml", source)
        staging.write("e.xml", b"top")
    out = tmp_path / "out"
    assert (out / "a/b/c.xml").read_bytes() == b"new"
    assert (out / "a/d.xml").stat().st_ino == source.stat().st_ino  # a link, not a copy
    assert (out / "e.xml").read_bytes() == b"top"


def _another_group(folder: Path) -> int:
    """A group other than ``folder``'s that this process may give a file: any, as root."""
    if os.geteuid() == 0:
        return folder.stat().st_gid + 4242
    others = [group for group in os.getgroups() if group != folder.stat().st_gid]
    if not others:
        pytest.skip("this user belongs to one group only")
    return others[0]


@pytest.mark.parametrize("given", ["before the first build", "after two builds"])
def test_the_output_folder_keeps_its_mode_and_group(tmp_path: Path, given: str) -> None:
    """A deploy group, a web server's group or a private mode given to the output folder
    stays with it through builds, and every file of the output belongs to that group."""
    out = tmp_path / "out"
    out.mkdir()
    editions = [1, 2, 3]
    if given == "after two builds":
        for edition in (1, 2):  # the output in place, and the output before last
            write_editions(tmp_path / "records", 3 + edition, edition=edition)
            assert feeds(*BUILD, cwd=tmp_path).returncode == 0
        editions = [3, 4, 5]
    group = _another_group(out)
    for path in [out, *out.rglob("*")]:  # as a publisher would: chgrp -R, then g+s on folders
        os.chown(path, -1, group)
        if path.is_dir():
            path.chmod(path.stat().st_mode | stat.S_ISGID)
    out.chmod(0o2750)
    for edition in editions:  # three builds: the last starts from the output before last
        write_editions(tmp_path / "records", 3 + edition, edition=edition)
        built = feeds(*BUILD, cwd=tmp_path)
        assert built.returncode == 0, built.stderr
        assert (stat.S_IMODE(out.stat().st_mode), out.stat().st_gid) == (0o2750, group)
        assert [path for path in out.rglob("*") if path.stat().st_gid != group] == []


def test_a_group_the_builder_may_not_give_takes_its_mode_along(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A mode meant for a group the new folder cannot have would lock that group out: the
    folder is then made as a new output folder is, readable by all, as before."""
    out = tmp_path / "out"
    with staged(out) as staging:
        staging.write("a.xml", b"a")
    out.chmod(0o2750)

    def refused(*args: object, **kwargs: object) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "chown", refused)
    with staged(out, ["a.xml"], keep="swapped") as staging:
        staging.write("a.xml", b"b")
    assert stat.S_IMODE(out.stat().st_mode) == 0o755
    assert (out / "a.xml").read_bytes() == b"b"


def test_the_owner_of_the_output_folder_keeps_every_right(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with staged(out) as staging:
        staging.write("a.xml", b"a")
    out.chmod(0o500)
    for content in (b"b", b"c"):
        with staged(out, ["a.xml"], keep="swapped") as staging:
            staging.write("a.xml", content)
        assert stat.S_IMODE(out.stat().st_mode) == 0o700
        assert (out / "a.xml").read_bytes() == content


def test_a_new_output_folder_is_readable_by_all(tmp_path: Path) -> None:
    with staged(tmp_path / "out") as staging:
        staging.write("a.xml", b"a")
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o755


def test_folders_of_no_use_are_deleted_in_the_background(tmp_path: Path) -> None:
    """A previous output the caller knows nothing of, and the output swapped out, are set
    aside at once and gone when the build is done; the new output is mirrored for the
    next build."""
    out, unknown = tmp_path / "out", previous_path(tmp_path / "out")
    for folder in (out, unknown):
        (folder / "deep/er").mkdir(parents=True)
        (folder / "deep/er/old.xml").write_bytes(b"old")
    with staged(out, keep="new") as staging:
        assert not unknown.exists()  # renamed out of the way before anything is written
        staging.write("new.xml", b"new")
    assert tree(out) == {"new.xml": b"new"}
    assert tree(unknown) == {"new.xml": b"new"}
    assert leftovers(tmp_path) == []


def test_a_build_leaves_the_folders_of_a_build_of_another_output_alone(
    tmp_path: Path,
) -> None:
    """Outputs ``out`` and ``out-2`` side by side, built at the same time (each holds its own
    lock): what a build of ``out`` clears away as leftovers is its own, never the staging
    folder of the build of ``out-2``."""
    with staged(tmp_path / "out-2") as other:
        other.write("a.xml", b"a")
        with staged(tmp_path / "out") as staging:
            staging.write("b.xml", b"b")
        other.write("c.xml", b"c")
    assert tree(tmp_path / "out-2") == {"a.xml": b"a", "c.xml": b"c"}
    assert tree(tmp_path / "out") == {"b.xml": b"b"}
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("name", ["out", "out[1]", "o*"])
def test_what_a_stopped_build_set_aside_is_deleted_by_the_next(tmp_path: Path, name: str) -> None:
    left = tmp_path / f".discarded-{name}-k1ll3d"
    (left / "a").mkdir(parents=True)
    (left / "a/b.xml").write_bytes(b"b")
    # Of a build of "out1", which "out[1]" and "o*" match as glob patterns.
    other = tmp_path / ".staging-out1-k1ll3d"
    other.mkdir()
    with staged(tmp_path / name) as staging:
        staging.write("c.xml", b"c")
    assert leftovers(tmp_path) == [other.name]


def test_a_build_that_stops_half_way_leaves_the_output_before_last_to_the_next(
    tmp_path: Path,
) -> None:
    """Its files are mostly links to files of the output in place: removing them would move
    the change time of those, and the next build would trust none of them.  The next build
    starts from the folder instead, without the files that the record of the output before
    last does not list."""
    out = tmp_path / "out"
    before_last = previous_path(out)
    (before_last / "a").mkdir(parents=True)
    (before_last / "a/old.xml").write_bytes(b"old")
    (before_last / "same.xml").write_bytes(b"same")
    listed = {"a/old.xml", "same.xml"}
    inode = (before_last / "same.xml").stat().st_ino
    with pytest.raises(KeyboardInterrupt), staged(out, listed) as staging:
        staging.write("new/stray.xml", b"stray")
        staging.write("a/old.xml", b"half")
        raise KeyboardInterrupt
    assert not before_last.exists()
    assert len(leftovers(tmp_path)) == 1
    with staged(out, listed) as staging:
        assert tree(staging.folder) == {"a/old.xml": b"half", "same.xml": b"same"}
        assert not (staging.folder / "new").exists()
        assert (staging.folder / "same.xml").stat().st_ino == inode
        staging.keep("same.xml")
        staging.write("a/old.xml", b"whole")
    assert tree(out) == {"a/old.xml": b"whole", "same.xml": b"same"}
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("code", "room_given_back"), [(errno.ENOSPC, True), (errno.EDQUOT, True), (errno.EIO, False)]
)
def test_a_build_stopped_by_a_full_disk_gives_back_the_room_it_took(
    tmp_path: Path, code: int, room_given_back: bool
) -> None:
    """Out of room (ENOSPC) or of quota (EDQUOT), a build removes the files of its staging
    folder that are no link to a file of the output in place: what it wrote, and what of
    the output before last nothing else shares.  The links stay (unlinked, they would move
    the change time of the files they share), and the next build starts from them.  Another
    error (EIO) leaves the folder as it is."""
    out = tmp_path / "out"
    before_last = previous_path(out)
    (out / "a").mkdir(parents=True)
    (before_last / "a").mkdir(parents=True)
    (out / "a/shared.xml").write_bytes(b"as published")
    (before_last / "a/shared.xml").hardlink_to(out / "a/shared.xml")
    (before_last / "a/own.xml").write_bytes(b"of the build before last")
    (before_last / "kept.xml").hardlink_to(out / "a/shared.xml")
    listed = {"a/shared.xml", "a/own.xml", "kept.xml"}
    published = tree(out)
    inode = (out / "a/shared.xml").stat().st_ino
    with pytest.raises(OutputError, match="cannot write"), staged(out, listed) as staging:
        staging.write("a/shared.xml", b"new")
        staging.write("new/stray.xml", b"stray")
        raise OSError(code, os.strerror(code))
    assert tree(out) == published
    assert (out / "a/shared.xml").stat().st_ino == inode
    (left,) = leftovers(tmp_path)
    kept = {"kept.xml": b"as published"}
    if not room_given_back:
        kept |= {"a/shared.xml": b"new", "a/own.xml": b"of the build before last"}
        kept |= {"new/stray.xml": b"stray"}
    assert tree(tmp_path / left) == kept
    with staged(out, listed) as staging:
        assert staging.existing == listed
        assert (staging.folder / "kept.xml").stat().st_ino == inode
        staging.keep("kept.xml")
        staging.write("a/shared.xml", b"again")
        staging.finish(["a/shared.xml"])
    assert tree(out) == {"a/shared.xml": b"again", "kept.xml": b"as published"}


def test_a_file_of_the_output_before_last_is_written_over_unless_the_output_shares_it(
    tmp_path: Path,
) -> None:
    """A file with no other name is written over where it is (removing it would make the
    file system free its blocks, slowly on some), to the new length; one that is a link to
    a file of the output in place gets a file of its own, and the output's stays as it was."""
    out = tmp_path / "out"
    before_last = previous_path(out)
    (out / "a").mkdir(parents=True)
    (before_last / "a").mkdir(parents=True)
    (before_last / "a/own.xml").write_bytes(b"a longer document of the build before last")
    (out / "a/shared.xml").write_bytes(b"as published")
    (before_last / "a/shared.xml").hardlink_to(out / "a/shared.xml")
    (before_last / "a/linked.xml").write_bytes(b"before last")
    (out / "a/linked.xml").write_bytes(b"published")
    published = (out / "a/shared.xml").stat()
    listed = {"a/own.xml", "a/shared.xml", "a/linked.xml"}
    with (
        staged(out, listed, keep="swapped") as staging,
        (staging.folder / "a/own.xml").open("rb") as own,  # the very file, whatever its name
    ):
        staging.write("a/own.xml", b"short")
        staging.write("a/shared.xml", b"new")
        staging.write("a/linked.xml", out / "a/linked.xml")
        assert own.read() == b"short"
        assert (staging.folder / "a/shared.xml").stat().st_ino != published.st_ino
        assert (out / "a/shared.xml").read_bytes() == b"as published"
        assert (out / "a/shared.xml").stat().st_mtime_ns == published.st_mtime_ns
        linked = (out / "a/linked.xml").stat().st_ino
        assert (staging.folder / "a/linked.xml").stat().st_ino == linked
    written = {"a/own.xml": b"short", "a/shared.xml": b"new", "a/linked.xml": b"published"}
    assert tree(out) == written
    assert tree(before_last)["a/shared.xml"] == b"as published"


@pytest.mark.parametrize("record", [True, False])
def test_the_folder_of_a_killed_build_is_started_from_only_with_a_record(
    tmp_path: Path, record: bool
) -> None:
    """A killed build leaves its staging folder as it was.  Without the output before last
    beside it, that folder may be it; with no record of it, it is removed."""
    left = tmp_path / ".staging-out-k1ll3d"
    (left / "deep").mkdir(parents=True)
    (left / "deep/listed.xml").write_bytes(b"listed")
    (left / "deep/stray.xml").write_bytes(b"stray")
    listed = {"deep/listed.xml"} if record else set()
    with staged(tmp_path / "out", listed) as staging:
        expected = {"deep/listed.xml": b"listed"} if record else {}
        assert tree(staging.folder) == expected
        staging.write("c.xml", b"c")
        staging.finish(["c.xml"])
    assert tree(tmp_path / "out") == {"c.xml": b"c"}
    assert leftovers(tmp_path) == []


# Starts a pool of workers (``scan``: the pool that checks files, forked from this process;
# ``render``: those that render, started afresh (spawn); ``check``: a copy of this process
# that checks something, see feeds.workers.ForkedCheck), says the pids of every process
# this one started, and waits to be killed.
POOL_SCRIPT = """
import json, os, sys, time
from pathlib import Path

from feeds import parallel, workers
from feeds.api import build
from feeds.config import Config
from feeds.workers import ForkedCheck, Workers


def descendants(root):
    children = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(stat.parent.name))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def say_workers():
    print(json.dumps(descendants(os.getpid())), flush=True)
    time.sleep(600)


def started(*args, **kwargs):
    start(*args, **kwargs)
    say_workers()


def slow_check():
    time.sleep(600)
    return True


if __name__ == "__main__":
    if sys.argv[1] == "scan":
        with Workers(2) as pool:
            pool.get().submit(os.getpid).result()
            say_workers()
    elif sys.argv[1] == "check":
        workers.cores = lambda: 2
        with ForkedCheck(slow_check):
            say_workers()
    else:
        start = parallel._start_workers
        parallel._start_workers = started
        parallel.PARALLEL_MIN_ENTRIES = 0
        folder = Path(sys.argv[2])
        build(Config(source=folder / "records", output=folder / "out", entries_per_feed=7))
"""


@pytest.mark.parametrize("pool", ["scan", "render", "check"])
def test_workers_end_with_a_build_that_is_killed(tmp_path: Path, pool: str) -> None:
    """A build killed outright never tells its workers to stop: they end on their own,
    instead of waiting for work for good, or holding the lock of the build for as long as
    their check takes (see :func:`feeds.workers.follow`)."""
    if not Path("/proc/self/stat").exists():
        pytest.skip("finds the workers in /proc")
    if pool == "render" and cores() < 2:
        pytest.skip("one core: a build renders in its own process only")
    write_editions(tmp_path / "records", 3)
    script = tmp_path / "pool.py"
    script.write_text(POOL_SCRIPT, "utf-8")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    process = subprocess.Popen(
        [sys.executable, str(script), pool, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    workers = json.loads(process.stdout.readline())
    assert workers, "no worker was started"
    process.send_signal(signal.SIGKILL)
    process.wait()
    deadline = time.monotonic() + 20
    while (left := [pid for pid in workers if Path(f"/proc/{pid}").exists()]) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.1)
    assert left == []
