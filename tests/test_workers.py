"""A check answered by a forked copy of the build (:class:`feeds.workers.ForkedCheck`)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from feeds import workers
from feeds.workers import ForkedCheck


@pytest.fixture(autouse=True)
def two_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    """As on the machines builds run on, whatever runs the tests."""
    monkeypatch.setattr(workers, "cores", lambda: 2)


def answered_in(where: Path, answer: bool) -> bool:
    """A check that notes which process answered it."""
    where.write_text(str(os.getpid()))
    return answer


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
    with ForkedCheck(lambda: answered_in(where, answer)) as check:
        assert check.forked
        assert check.result() is answer
    assert int(where.read_text()) != os.getpid()


def test_a_check_that_fails_in_the_copy_is_asked_here(tmp_path: Path) -> None:
    where = tmp_path / "pid"

    def check() -> bool:
        if os.getpid() != here:
            raise OSError("only here")
        return answered_in(where, answer=True)

    here = os.getpid()
    with ForkedCheck(check) as forked:
        assert forked.forked
        assert forked.result() is True
    assert int(where.read_text()) == here


def test_a_copy_killed_before_it_answers_is_asked_here(tmp_path: Path) -> None:
    where = tmp_path / "pid"
    here = os.getpid()

    def check() -> bool:
        if os.getpid() != here:
            time.sleep(60)
        return answered_in(where, answer=False)

    forked = ForkedCheck(check)
    assert forked._pid is not None
    os.kill(forked._pid, 9)
    assert forked.result() is False
    assert int(where.read_text()) == here


def test_an_answer_not_wanted_ends_the_copy_at_once(tmp_path: Path) -> None:
    def slow() -> bool:
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
        check = ForkedCheck(lambda: answered_in(where, answer=True))
        assert not check.forked
        assert not where.exists()  # asked when its answer is wanted, not before
        assert check.result() is True
    finally:
        release.set()
        thread.join()
    assert int(where.read_text()) == os.getpid()


@pytest.mark.parametrize("why", ["not asked to", "one core", "no fork"])
def test_without_a_copy_the_check_runs_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, why: str
) -> None:
    where = tmp_path / "pid"
    if why == "one core":
        monkeypatch.setattr(workers, "cores", lambda: 1)
    elif why == "no fork":

        def refuse() -> int:
            raise BlockingIOError(11, "Resource temporarily unavailable")

        monkeypatch.setattr(os, "fork", refuse)
    check = ForkedCheck(lambda: answered_in(where, answer=True), fork=why != "not asked to")
    assert not check.forked
    assert check.result() is True
    assert int(where.read_text()) == os.getpid()
