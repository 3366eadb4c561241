"""The test suite's command line: pytest over the whole suite, spread over the machine's cores by pytest-xdist (at
most MAX_WORKERS: past that, each worker's own collection costs more than it saves), or in this process alone."""
from __future__ import annotations

import os
import sys

from kfp_laptop.errors import UserError

MAX_WORKERS = 4


def default_workers() -> int:
    return max(1, min(MAX_WORKERS, os.cpu_count() or 1))


def pytest_command(k: str | None = None, workers: str | int | None = None, e2e: bool = False) -> list[str]:
    """The pytest command `inv test` runs. `workers=0` runs the tests in pytest's own process (no xdist), as do the
    end-to-end tests by default: each brings up its own cluster, and two at once would share the laptop's ports."""
    if workers is None:
        count = 0 if e2e else default_workers()
    else:
        try:
            count = int(str(workers).strip())
        except ValueError:
            count = -1
        if count < 0:
            raise UserError(f"--workers must be a whole number, 0 or more, not {workers!r}",
                            "pass 0 to run every test in one process, or leave it out to use one per core")
    return [sys.executable, "-m", "pytest", *(["-n", str(count)] if count else []), *(["-k", k] if k else [])]
