"""Running the command line as a publisher does: a real process, real exit codes."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

_PR_CAPBSET_DROP = 24
_CAP_DAC_OVERRIDE = 1
_CAP_DAC_READ_SEARCH = 2


def _as_plain_user() -> None:
    """Make file permissions apply to root too, in the child about to run: without these
    capabilities, root is held to the owner's permission bits like anyone else."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH):
        if libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "cannot drop a capability")


def feeds(
    *args: str, cwd: Path, timeout: float = 60, obey_permissions: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m feeds``; ``obey_permissions`` makes chmod bind even when run as root."""
    preexec: Callable[[], None] | None = None
    if obey_permissions and os.geteuid() == 0:
        preexec = _as_plain_user
    return subprocess.run(
        [sys.executable, "-m", "feeds", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        preexec_fn=preexec,
    )


def assert_no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stdout + result.stderr
