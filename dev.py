#!/usr/bin/env python3
"""Run a kfp-laptop task on a fresh machine: creates `.venv` with the pinned packages on first use, then runs invoke.

    python3 dev.py run-wine      # the wine pipeline on the embedded runner (no cluster needed)
    python3 dev.py test          # the whole test suite

Only the standard library is used here, so it works with nothing but Python 3.11+.
"""
import os
import subprocess
import sys
import venv
from pathlib import Path

# Checked before anything else is defined: older Pythons fail on this file's annotations (e.g. `list[str]`).
if sys.version_info < (3, 11):
    sys.exit(f"kfp-laptop needs Python 3.11 or newer; this is {sys.version.split()[0]}. "
             "Install a newer Python and run this command with it.")

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
sys.path.insert(0, str(ROOT))
from laptop.extras import pip_install, read_stamp, stamped_extras, write_stamp  # noqa: E402 - stdlib only, after the check


def _bin(name: str) -> Path:
    return VENV / ("Scripts" if os.name == "nt" else "bin") / name


def ensure_venv() -> None:
    """Install (or refresh) the core set into .venv when the pins changed since the last install; the extras a
    task needs are installed when it first runs (laptop/extras.py), and refreshed here with the pins."""
    if stamped_extras() is not None:
        return
    if not _bin("python").exists():
        print("kfp-laptop: creating .venv (first run only) ...", flush=True)
        try:
            venv.create(VENV, with_pip=True)
        except (OSError, ValueError, subprocess.CalledProcessError) as err:   # ValueError: the path is a file
            sys.exit(f"kfp-laptop: cannot create {VENV}: {err}. Run this from a copy of the project in a folder "
                     "you can write to (and, on Debian/Ubuntu, with the python3-venv package installed).")
    extras = read_stamp().get("extras", [])   # an older install's extras get the new pins too
    project = f"{ROOT}[{','.join(extras)}]" if extras else str(ROOT)
    print("kfp-laptop: installing pinned packages into .venv (under a minute, first run only) ...", flush=True)
    if subprocess.run(pip_install(_bin("python"), ["-e", project])).returncode != 0:
        sys.exit("kfp-laptop: installing the packages failed (see pip's message above). "
                 "Check that PyPI is reachable, then run the same command again.")
    write_stamp(extras)


def main(argv: list[str]) -> None:
    ensure_venv()
    if not argv:
        argv = ["--list"]
    os.chdir(ROOT)
    os.execv(_bin("inv"), [str(_bin("inv")), *argv])


if __name__ == "__main__":
    main(sys.argv[1:])
