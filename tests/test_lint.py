"""ruff, as configured in pyproject.toml (line length, import order, pyflakes, bugbear), passes on the whole tree:
`python3 dev.py test` runs it, so CI does."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.imports import ROOT


def test_ruff_check_passes():
    ruff = Path(sys.executable).parent / "ruff"
    result = subprocess.run([str(ruff), "check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
