"""Progress of long runs on a terminal (files read, feeds written); silence everywhere else.

Shown on standard error, and only when it is a terminal and ``CI`` is not set to true, so
logs and pipes see nothing but the results.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Protocol, TextIO

import click

# Below this many steps a bar would only flicker.
MIN_STEPS = 200


class Progress(Protocol):
    def start(self, label: str, total: int) -> None: ...

    def advance(self, steps: int = 1) -> None: ...

    def finish(self) -> None: ...


class Quiet:
    def start(self, label: str, total: int) -> None:
        pass

    def advance(self, steps: int = 1) -> None:
        pass

    def finish(self) -> None:
        pass


class TerminalProgress:
    """A click progress bar per stage."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._bar: Any = None

    def start(self, label: str, total: int) -> None:
        self.finish()
        if total >= MIN_STEPS:
            self._bar = click.progressbar(length=total, label=label, file=self.stream)
            self._bar.__enter__()

    def advance(self, steps: int = 1) -> None:
        if self._bar is not None:
            self._bar.update(steps)

    def finish(self) -> None:
        if self._bar is not None:
            bar, self._bar = self._bar, None
            bar.__exit__(None, None, None)


def for_terminal(stream: TextIO | None = None) -> Progress:
    """A progress display when a person is watching ``stream`` (standard error), else quiet."""
    stream = stream or sys.stderr
    in_ci = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}
    if in_ci or not stream.isatty():
        return Quiet()
    return TerminalProgress(stream)
