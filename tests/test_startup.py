"""``feeds validate`` runs on every commit, so it must not load what only ``build`` needs.

How long start-up takes is measured in ``bench/startup.py``; this checks what is imported.
"""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO

RENDERING = ["feedgen", "lxml", "slugify", "dateutil", "feeds.render", "feeds.plan", "feeds.output"]

PROGRAM = """
import sys
from feeds.cli import main
try:
    main(["validate", "seeds/000_1f48a30587e22eab.txt"])
except SystemExit as exit:
    assert not exit.code, exit.code
print(" ".join(sorted(sys.modules)))
"""


def test_validate_does_not_import_rendering() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROGRAM], cwd=REPO, capture_output=True, text=True, check=True
    )
    loaded = set(result.stdout.split())
    assert "feeds.api" in loaded
    assert [name for name in RENDERING if name in loaded] == []
