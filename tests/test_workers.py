"""A check answered by a forked copy of the build and the build itself
(:class:`feeds.workers.ForkedCheck`), and one worked through ahead by such a copy
(:class:`feeds.workers.ForkedParts`)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from feeds import workers
from feeds.workers import ForkedCheck, ForkedParts


@pytest.fixture(autouse=True)
def two_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    """As on the machines builds run on, whatever runs the tests."""
    monkeypatch.setattr(workers, "cores", lambda: 2)


def answered_in(where: Path, answer: bool) -> bool:
    """A check that notes which process answered it."""
    where.write_text(str(os.getpid()))
    return answer


def appear(path: Path) -> None:
    """Wait until ``path`` exists: the copy has got that far."""
    deadline = time.monotonic() + 30
    while not path.exists():
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.01)


def waited_for(pid: int) -> bool:
    """Whether the child ``pid`` has ended and been waited for, leaving nothing behind."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


@pytest.mark.parametrize("answer", [True, False])
def test_a_forked_copy_answers(tmp_path: Path, answer: bool) -> None:
    where = tmp_path / "pid"
    with ForkedCheck(lambda _: answered_in(where, answer)) as check:
        assert check.forked
        appear(where)  # else this process may take the one part first, as it should
        assert check.result() is answer
    assert int(where.read_text()) != os.getpid()


def test_a_check_that_fails_in_the_copy_is_asked_here(tmp_path: Path) -> None:
    where = tmp_path / "pid"

    def check(part: int) -> bool:
        if os.getpid() != here:
            (tmp_path / "tried").touch()
            raise OSError("only here")
        return answered_in(where, answer=True)

    here = os.getpid()
    with ForkedCheck(check) as forked:
        assert forked.forked
        appear(tmp_path / "tried")
        assert forked.result() is True
    assert int(where.read_text()) == here


def test_a_copy_killed_before_it_answers_is_asked_here(tmp_path: Path) -> None:
    where = tmp_path / "pid"
    here = os.getpid()

    def check(part: int) -> bool:
        if os.getpid() != here:
            (tmp_path / "taken").touch()
            time.sleep(60)
        return answered_in(where, answer=False)

    forked = ForkedCheck(check)
    assert forked._pid is not None
    appear(tmp_path / "taken")
    os.kill(forked._pid, 9)
    assert forked.result() is False
    assert int(where.read_text()) == here


def test_an_answer_not_wanted_ends_the_copy_at_once(tmp_path: Path) -> None:
    def slow(part: int) -> bool:
        time.sleep(60)
        return True

    started = time.monotonic()
    with ForkedCheck(slow) as check:
        pid = check._pid
        assert pid is not None
    assert waited_for(pid)
    assert time.monotonic() - started < 30
    check.cancel()  # again: nothing left to end


def test_another_thread_running_keeps_the_check_here(tmp_path: Path) -> None:
    where = tmp_path / "pid"
    release = threading.Event()
    thread = threading.Thread(target=release.wait)
    thread.start()
    try:
        check = ForkedCheck(lambda _: answered_in(where, answer=True))
        assert not check.forked
        assert not where.exists()  # asked when its answer is wanted, not before
        assert check.result() is True
    finally:
        release.set()
        thread.join()
    assert int(where.read_text()) == os.getpid()


def no_copy_for(why: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Leave this process without a copy of itself, ``why``: "one core" or "no fork" (the
    system refuses one); with any other reason, nothing."""
    if why == "one core":
        monkeypatch.setattr(workers, "cores", lambda: 1)
    elif why == "no fork":

        def refuse() -> int:
            raise BlockingIOError(11, "Resource temporarily unavailable")

        monkeypatch.setattr(os, "fork", refuse)


@pytest.mark.parametrize("why", ["not asked to", "one core", "no fork"])
def test_without_a_copy_the_check_runs_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, why: str
) -> None:
    where = tmp_path / "pid"
    no_copy_for(why, monkeypatch)
    check = ForkedCheck(lambda _: answered_in(where, answer=True), fork=why != "not asked to")
    assert not check.forked
    assert check.result() is True
    assert int(where.read_text()) == os.getpid()


def checked_by(log: Path) -> dict[int, list[int]]:
    """The parts each process checked, by pid, from the lines ``check_in`` wrote."""
    found: dict[int, list[int]] = {}
    for line in log.read_text().splitlines():
        pid, part = map(int, line.split())
        found.setdefault(pid, []).append(part)
    return found


def read(log: Path) -> str:
    return log.read_text() if log.exists() else ""


def check_in(log: Path, part: int, *, passed: bool = True) -> bool:
    """A check of one part that notes which process checked it (one write per line, which
    the two processes append to the same file whole)."""
    with log.open("a") as stream:
        stream.write(f"{os.getpid()} {part}\n")
    return passed


def test_the_two_processes_share_the_parts(tmp_path: Path) -> None:
    log = tmp_path / "log"
    here = os.getpid()

    def check(part: int) -> bool:
        if os.getpid() != here:  # the copy holds its part until this process has come down
            (tmp_path / f"taken {part}").touch()
            deadline = time.monotonic() + 10
            while f"{here} 1\n" not in read(log) and time.monotonic() < deadline:
                time.sleep(0.01)
        return check_in(log, part)

    with ForkedCheck(check, 8) as forked:
        appear(tmp_path / "taken 0")
        assert forked.result() is True
    by = checked_by(log)
    assert sorted(by.pop(here)) == list(range(1, 8))  # from the last back, to the copy's
    assert list(by.values()) == [[0]]


@pytest.mark.parametrize("where", ["copy", "here"])
def test_a_part_that_fails_fails_the_check(tmp_path: Path, where: str) -> None:
    log = tmp_path / "log"
    here = os.getpid()

    def check(part: int) -> bool:
        in_copy = os.getpid() != here
        if in_copy and part > 0:
            time.sleep(60)  # the copy is slow after its first part: this process takes the rest
        passed = check_in(log, part, passed=part != (0 if where == "copy" else 5))
        if in_copy:
            (tmp_path / f"done {part}").touch()
        return passed

    started = time.monotonic()
    with ForkedCheck(check, 8) as forked:
        pid = forked._pid
        assert pid is not None
        appear(tmp_path / "done 0")
        assert forked.result() is False
        assert waited_for(pid)  # ended and reaped by the answer itself, at work or not
    assert time.monotonic() - started < 30  # a copy still at work is not waited for
    if where == "here":  # this process stopped at the part that failed
        assert sorted(checked_by(log)[here]) == [5, 6, 7]


def test_the_parts_a_killed_copy_left_are_checked_here(tmp_path: Path) -> None:
    log = tmp_path / "log"
    here = os.getpid()

    def check(part: int) -> bool:
        if os.getpid() != here and part == 2:
            (tmp_path / "taken 2").touch()
            time.sleep(60)
        return check_in(log, part)

    with ForkedCheck(check, 4) as forked:
        appear(tmp_path / "taken 2")
        assert forked._pid is not None
        os.kill(forked._pid, 9)
        assert forked.result() is True
    by = checked_by(log)
    assert sorted(by[here]) == [2, 3]  # the one the copy took and never finished too
    assert sorted(part for pid, parts in by.items() if pid != here for part in parts) == [0, 1]


# ForkedParts: a copy that works through every part ahead of this process, which takes the
# answers it finds ready and waits for none.


def ended(parts: ForkedParts) -> int:
    """Wait for the copy of ``parts`` to be done with them all; its pid, which it then
    forgets (the pid is free again: ending it later could end another process)."""
    pid = parts._pid
    assert pid is not None
    _, status = os.waitpid(pid, 0)
    parts._pid = None
    assert os.WIFEXITED(status)
    assert os.WEXITSTATUS(status) == 0
    return pid


def test_a_forked_copy_checks_every_part_ahead(tmp_path: Path) -> None:
    log = tmp_path / "log"
    with ForkedParts(lambda part: check_in(log, part, passed=part != 2), 5) as parts:
        assert parts.forked
        pid = ended(parts)
        # A part that fails stops nothing: the copy checks the parts after it too.
        assert [parts.passed(part) for part in range(5)] == [True, True, False, True, True]
    assert checked_by(log) == {pid: [0, 1, 2, 3, 4]}


def test_a_part_the_copy_has_not_checked_yet_does_not_pass(tmp_path: Path) -> None:
    def check(part: int) -> bool:
        if part == 1:
            (tmp_path / "taken 1").touch()
            time.sleep(60)
        return True

    started = time.monotonic()
    with ForkedParts(check, 3) as parts:
        pid = parts._pid
        assert pid is not None
        appear(tmp_path / "taken 1")
        assert [parts.passed(part) for part in range(3)] == [True, False, False]
    assert waited_for(pid)  # ended at once, not waited for
    assert time.monotonic() - started < 30
    assert not parts.passed(2)


@pytest.mark.parametrize("why", ["not asked to", "one core", "another thread", "no fork"])
def test_without_a_copy_no_part_passes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, why: str
) -> None:
    log = tmp_path / "log"
    no_copy_for(why, monkeypatch)
    release = threading.Event()
    thread = threading.Thread(target=release.wait)
    if why == "another thread":
        thread.start()
    try:
        with ForkedParts(lambda part: check_in(log, part), 2, fork=why != "not asked to") as parts:
            assert not parts.forked
            assert not parts.passed(0)
            assert not parts.passed(1)
    finally:
        release.set()
        if thread.is_alive():
            thread.join()
    assert not log.exists()  # this process checks for itself what it needs, elsewhere
