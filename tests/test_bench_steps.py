"""``bench/steps.py`` times the steps of a real build: it must keep up with the code it
wraps, or the next measurement of a one-record change starts from a broken script."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from feeds import parallel, rendercache
from tests.conftest import REPO, SEEDS

SCRIPT = REPO / "bench" / "steps.py"


def _steps(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "CI": "true"},
    )


def _rows(table: str) -> dict[str, tuple[int, float]]:
    """Each step the table lists, with its calls and wall time."""
    rows = {}
    for line in table.splitlines():
        found = re.fullmatch(r"\s*(\w[\w.]*)\s+(\d+)\s+([\d.]+)s\s+\d+ MB", line)
        if found:
            rows[found[1]] = (int(found[2]), float(found[3]))
    return rows


def test_times_the_steps_of_each_kind_of_build(tmp_path: Path) -> None:
    source = tmp_path / "records"
    shutil.copytree(SEEDS, source)
    build = ("build", "--source", source, "--out", tmp_path / "out")

    cold = _steps(*build, cwd=tmp_path)
    assert cold.returncode == 0, cold.stderr
    assert cold.stdout.startswith("Wrote ")
    rows = _rows(cold.stderr)
    assert "rendercache.load_last_build" not in rows  # no output yet: no record of it
    for step in (
        "api._publish",
        "graphcache.merge_all",
        "plan.plan_feeds",
        "parallel.write_documents",
    ):
        assert rows[step][0] == 1, cold.stderr
    assert "graphcache.merge_changes" not in rows
    assert rows["api._publish"][1] >= rows["plan.plan_feeds"][1] + rows["api._write"][1]
    assert re.search(r"^whole command\s+[\d.]+s\s+\d+ MB$", cold.stderr, re.MULTILINE)

    again = _steps(*build, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("Up to date, nothing written")
    rows = _rows(again.stderr)
    assert rows["rendercache.load_last_build"][0] == rows["api._up_to_date"][0] == 1
    assert "api._publish" not in rows

    record = source / "000_1f48a30587e22eab.txt"  # published
    record.write_text(record.read_text().replace("\ntitle: ", "\ntitle: Changed ", 1))
    changed = _steps(*build, cwd=tmp_path)
    assert changed.returncode == 0, changed.stderr
    rows = _rows(changed.stderr)
    assert rows["graphcache.load_state"][0] == rows["graphcache.merge_changes"][0] == 1


def test_exits_as_the_command_does(tmp_path: Path) -> None:
    missing = _steps("build", "--source", tmp_path / "nowhere", cwd=tmp_path)
    assert missing.returncode == 2
    assert "does not exist" in missing.stderr
    assert "Traceback" not in missing.stderr


def _script(monkeypatch: pytest.MonkeyPatch) -> Any:
    spec = importlib.util.spec_from_file_location("bench_steps", SCRIPT)
    assert spec is not None and spec.loader is not None
    steps = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "bench_steps", steps)  # its data classes look it up
    spec.loader.exec_module(steps)
    return steps


def test_names_a_step_that_is_gone(monkeypatch: pytest.MonkeyPatch) -> None:
    steps = _script(monkeypatch)
    monkeypatch.setattr(steps, "STEPS", (("feeds.api", "no_such_step"),))
    with pytest.raises(SystemExit, match=r"feeds\.api\.no_such_step is gone"):
        steps.instrument(steps.Steps())


def test_times_a_step_where_it_was_imported_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """``feeds.parallel`` imports ``still_there`` from ``feeds.rendercache``: calls from
    there are timed too."""
    steps = _script(monkeypatch)
    monkeypatch.setattr(steps, "STEPS", (("feeds.rendercache", "still_there"),))
    monkeypatch.setattr(rendercache, "still_there", rendercache.still_there)  # put back after
    imported = vars(parallel)["still_there"]
    monkeypatch.setattr(parallel, "still_there", imported)
    taken = steps.Steps()
    steps.instrument(taken)
    assert vars(parallel)["still_there"] is not imported
    assert not vars(parallel)["still_there"]({}, Path(), ["feed.xml"], b"key")
    assert taken.taken["rendercache.still_there"].calls == 1
