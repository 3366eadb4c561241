"""The test suite's command line and environment: pytest over the whole suite, spread by pytest-xdist over one
worker more than the machine has cores (a worker waiting on a subprocess or a timeout leaves its core to another;
measured on 2 cores: 2 workers 63 s, 3 workers 59 s, 4 workers 62 s), at most MAX_WORKERS, or in this process alone;
byte code cached outside the tree."""
from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from infra.manifests.source import cache_root
from kfp_laptop.errors import UserError

MAX_WORKERS = 8


def default_workers() -> int:
    return min(MAX_WORKERS, (os.cpu_count() or 1) + 1)


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
                            "pass 0 to run every test in one process, or leave it out to use the cores")
    spread = ["-n", str(count), "--dist", "loadgroup"] if count else []   # loadgroup: see tests/conftest.py
    return [sys.executable, "-m", "pytest", *spread, *(["-k", k] if k else [])]


def suite_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """`environ` for the suite, with Python's byte code kept in the cache (PYTHONPYCACHEPREFIX), never in the tree,
    also when PYTHONDONTWRITEBYTECODE asks for none: the suite starts hundreds of Python processes, and without it
    each compiles the project's modules again and pytest rewrites every test module's asserts again. A prefix the
    user chose is kept."""
    env = dict(environ)
    if not env.get("PYTHONPYCACHEPREFIX"):
        env["PYTHONPYCACHEPREFIX"] = str(cache_root() / "pycache")
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env
