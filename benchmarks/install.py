#!/usr/bin/env python3
"""How long a fresh install takes and how big it is: the default (core) set against the full one (every extra).

    python3 benchmarks/install.py          # downloads everything twice: minutes, and about 1.5 GB of traffic

Each variant gets a new virtualenv and an empty pip cache (a temporary PIP_CACHE_DIR), and installs the pinned
requirements of pyproject.toml with constraints.txt, as `python3 dev.py` does (the project itself, a few kB, is left
out). Not part of the test suite.
"""
import os
import subprocess
import sys
import tempfile
import time
import tomllib
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from laptop.extras import extras, pip_install  # noqa: E402


def size_of(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file() and not f.is_symlink())


def install(requirements: list[str], scratch: Path) -> tuple[float, int, int]:
    """(seconds, bytes installed, packages) for a fresh venv with an empty pip cache."""
    target = scratch / "venv"
    venv.create(target, with_pip=True)
    python = target / "bin" / "python"
    before = size_of(target)
    env = {**os.environ, "PIP_CACHE_DIR": str(scratch / "pip-cache")}
    started = time.perf_counter()
    subprocess.run(pip_install(python, requirements), check=True, env=env)
    seconds = time.perf_counter() - started
    listed = subprocess.run([str(python), "-m", "pip", "list", "--format=freeze"], capture_output=True, text=True,
                            check=True).stdout.split()
    return seconds, size_of(target) - before, len(listed)


def main() -> None:
    core = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    full = sorted({*core, *(r for requirements in extras().values() for r in requirements)})
    results = {}
    for name, requirements in (("default (core)", core), ("full (infra, cluster, dev)", full)):
        with tempfile.TemporaryDirectory(prefix="kfp-laptop-install-") as scratch:
            results[name] = install(requirements, Path(scratch))
        seconds, size, packages = results[name]
        print(f"{name:28} {seconds:6.1f} s  {size / 1e6:6.0f} MB  {packages} packages", flush=True)
    (core_s, core_b, _), (full_s, full_b, _) = results.values()
    print(f"default / full: {core_s / full_s:.0%} of the time, {core_b / full_b:.0%} of the size "
          f"({os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
