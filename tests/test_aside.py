"""Bytes put aside in an unnamed file (``feeds.aside``): read back as put, from memory or
from the file, within their bounds, and never wrong when the file fails."""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO

import pytest

from feeds import aside
from feeds.aside import Aside

BIG = 1 << 40


def test_values_come_back_as_they_were_put_from_memory_and_from_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Written out every few values: some are read from the file, the last ones from what
    waits to be written."""
    monkeypatch.setattr(aside, "BUFFER_BYTES", 20)
    held: Aside[str] = Aside(tmp_path, parts=2, most=BIG, most_bytes=BIG)
    values = {f"k{i}": (f"atom {i}".encode() * i, f"rss {i}".encode()) for i in range(50)}
    values["empty"] = (b"", b"")
    values["\u00e9"] = ("é\0\n".encode(), b"")
    for key, parts in values.items():
        assert held.put(key, parts)
    assert held._file.written > 0
    assert held._file.waiting  # the last ones wait
    for key, parts in values.items():
        assert held.get(key) == list(parts)
    assert len(held) == len(values)
    assert held.get("never put") is None


def test_a_key_put_again_keeps_its_value(tmp_path: Path) -> None:
    held: Aside[str] = Aside(tmp_path, parts=1, most=BIG, most_bytes=BIG)
    assert held.put("a", (b"first",))
    assert held.put("a", (b"second",))
    assert held.get("a") == [b"first"]


def test_a_value_forgotten_is_not_found(tmp_path: Path) -> None:
    held: Aside[str] = Aside(tmp_path, parts=1, most=BIG, most_bytes=BIG)
    held.put("a", (b"x",))
    held.forget("a")
    held.forget("never put")
    assert "a" not in held
    assert held.get("a") is None


def test_it_holds_no_more_values_than_most(tmp_path: Path) -> None:
    held: Aside[int] = Aside(tmp_path, parts=1, most=3, most_bytes=BIG)
    assert [held.put(i, (b"v",)) for i in range(5)] == [True, True, True, False, False]
    assert held.get(3) is None
    held.forget(0)
    assert held.put(3, (b"w",))
    assert held.get(3) == [b"w"]


def test_it_holds_no_more_bytes_than_most_bytes(tmp_path: Path) -> None:
    """Counted as written to the file: a value forgotten still takes its room."""
    held: Aside[int] = Aside(tmp_path, parts=2, most=BIG, most_bytes=10)
    assert held.put(0, (b"1234", b"56"))
    assert not held.put(1, (b"12345", b""))
    assert held.put(2, (b"1234", b""))
    held.forget(0)
    assert not held.put(3, (b"1",))
    assert held.get(2) == [b"1234", b""]


def test_nothing_is_put_aside_with_most_zero(tmp_path: Path) -> None:
    held: Aside[str] = Aside(tmp_path, parts=1, most=0, most_bytes=BIG)
    assert not held.put("a", (b"x",))
    assert held.get("a") is None


def test_the_file_is_made_once_in_the_folder_given_when_something_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(aside, "BUFFER_BYTES", 4)
    made: list[Path | None] = []
    unnamed = aside.unnamed_file

    def counted(folder: Path | None) -> IO[bytes]:
        made.append(folder)
        return unnamed(folder)

    monkeypatch.setattr(aside, "unnamed_file", counted)
    held: Aside[int] = Aside(tmp_path, parts=1, most=BIG, most_bytes=BIG)
    held.put(0, (b"12",))
    assert made == []
    for i in range(1, 10):
        held.put(i, (b"12",))
    assert made == [tmp_path]
    assert [held.get(i) for i in range(10)] == [[b"12"]] * 10


def test_a_folder_that_cannot_hold_the_file_leaves_it_to_the_system(tmp_path: Path) -> None:
    assert aside.unnamed_file(tmp_path / "missing").write(b"x") == 1


def test_when_the_file_cannot_be_written_what_waits_stays_and_nothing_more_is_put(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(aside, "BUFFER_BYTES", 0)

    def failing(folder: Path | None) -> IO[bytes]:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(aside, "unnamed_file", failing)
    held: Aside[str] = Aside(tmp_path, parts=1, most=BIG, most_bytes=BIG)
    assert held.put("a", (b"kept in memory",))
    assert not held.put("b", (b"refused",))
    assert held.get("a") == [b"kept in memory"]
    assert held.get("b") is None


def test_a_value_the_file_no_longer_holds_is_not_found_and_forgotten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read short (the file was cut), it is not taken for what was put."""
    monkeypatch.setattr(aside, "BUFFER_BYTES", 0)
    held: Aside[str] = Aside(tmp_path, parts=2, most=BIG, most_bytes=BIG)
    held.put("a", (b"atom", b"rss"))
    held.put("b", (b"atom b", b"rss b"))
    assert held._file._file is not None
    os.ftruncate(held._file._file.fileno(), 9)  # within "b"
    assert held.get("a") == [b"atom", b"rss"]
    assert held.get("b") is None
    assert "b" not in held


def test_a_value_whose_file_cannot_be_read_is_not_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(aside, "BUFFER_BYTES", 0)
    held: Aside[str] = Aside(tmp_path, parts=1, most=BIG, most_bytes=BIG)
    held.put("a", (b"atom",))

    def failing(fd: int, size: int, offset: int) -> bytes:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "pread", failing)
    assert held.get("a") is None


def test_values_held_are_moved_to_a_new_file_once_the_old_one_is_mostly_forgotten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """So that the file grows with what is held, not with all that was ever put."""
    monkeypatch.setattr(aside, "BUFFER_BYTES", 16)
    monkeypatch.setattr(aside, "COMPACT_BYTES", 200)
    held: Aside[int] = Aside(tmp_path, parts=2, most=BIG, most_bytes=BIG)

    def value(i: int) -> list[bytes]:
        return [f"<entry {i}>".encode(), f"<item {i}>".encode() * (i % 3)]

    put = 0
    for i in range(1000):
        assert held.put(i, value(i))
        put += sum(map(len, value(i)))
        if i % 10:  # every tenth is held to the end
            held.forget(i)
        end = held._file.end
        assert end <= max(aside.COMPACT_BYTES, 4 * held._held_bytes) + 2 * len(b"".join(value(i)))
    assert held._file.end < put // 2
    assert {i: held.get(i) for i in range(0, 1000, 10)} == {i: value(i) for i in range(0, 1000, 10)}
    assert len(held) == 100


def test_the_file_takes_no_more_than_a_sixteenth_of_the_room_left_on_its_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build writes its output there too."""
    monkeypatch.setattr(aside, "BUFFER_BYTES", 0)

    class Room:
        f_frsize = 4
        f_bavail = 400  # 1,600 bytes

        def __init__(self, fd: int) -> None:
            pass

    monkeypatch.setattr(os, "fstatvfs", Room)
    held: Aside[int] = Aside(tmp_path, parts=1, most=BIG, most_bytes=BIG)
    assert [held.put(i, (b"0123456789",)) for i in range(12)] == [True] * 10 + [False] * 2


def test_values_that_a_new_file_cannot_take_are_let_go(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not kept in memory instead: once the new file fails, the values still to move go,
    and nothing more is put aside."""
    monkeypatch.setattr(aside, "BUFFER_BYTES", 10)
    monkeypatch.setattr(aside, "COMPACT_BYTES", 100)
    held: Aside[int] = Aside(tmp_path, parts=1, most=BIG, most_bytes=BIG)
    for i in range(20):
        assert held.put(i, (b"%010d" % i,))
    for i in range(4, 20):
        held.forget(i)
    assert held._file.written == 200  # 40 bytes held: moved at the next put

    def failing(folder: Path | None) -> IO[bytes]:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(aside, "unnamed_file", failing)
    assert not held.put(99, (b"x",))
    assert held._file.waiting <= aside.BUFFER_BYTES
    assert held.get(0) == [b"0000000000"]  # moved before the new file failed
    assert [held.get(i) for i in (1, 2, 3, 99)] == [None] * 4
