"""The install's parts: the core set (everything `inv run-wine` needs on the local runner) and pyproject's extras,
each installed into this venv the first time a task needs it, with one line saying so.

    infra    the Pulumi program (`inv up`, `inv down`): pulumi, pulumi-kubernetes, pulumi-random, pulumi-command
    cluster  talking to a stack (outputs, results in MinIO): pulumi (its automation API), minio
    dev      the test suite and lint (`inv test`): pytest, pytest-xdist, kubernetes-validate, hypothesis, ruff

Every part installs with constraints.txt, which pins every package of every part (one resolved set), so each part
gets exactly the tested versions, transitive ones included. Standard library only: `dev.py` uses it before the venv
exists (`python -m laptop.extras EXTRA...` installs extras from a shell).
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import json
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
CONSTRAINTS = ROOT / "constraints.txt"
STAMP = ROOT / ".venv" / ".kfp-laptop-installed"   # written by dev.py: the pins installed, and which extras
_present: set[str] = set()    # extras found installed in this process (checked once each)


def pins_digest() -> str:
    return hashlib.sha256(PYPROJECT.read_bytes() + CONSTRAINTS.read_bytes()).hexdigest()


def read_stamp() -> dict:
    """What dev.py last installed: {"pins": digest, "extras": [...]}, or {} (none, or an older format)."""
    try:
        stamp = json.loads(STAMP.read_text())
    except (OSError, ValueError):
        return {}
    return stamp if isinstance(stamp, dict) else {}


def stamped_extras() -> list[str] | None:
    """The extras dev.py's install of the current pins holds (None: no such install, or older pins)."""
    stamp = read_stamp()
    return stamp.get("extras", []) if stamp.get("pins") == pins_digest() else None


def write_stamp(extras_installed: list[str]) -> None:
    STAMP.write_text(json.dumps({"pins": pins_digest(), "extras": sorted(set(extras_installed))}))


def extras() -> dict[str, list[str]]:
    """pyproject's extras: name -> exact requirements."""
    return tomllib.loads(PYPROJECT.read_text())["project"]["optional-dependencies"]


def missing(extra: str) -> list[str]:
    """The requirements of `extra` that are not installed at their pinned version."""
    absent = []
    for requirement in extras()[extra]:
        name, _, version = requirement.partition("==")
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            installed = None
        if installed != version:
            absent.append(requirement)
    return absent


def pip_install(python: str | Path, requirements: list[str]) -> list[str]:
    """The pip command that installs `requirements` (e.g. `-e ROOT[dev]` or `pytest==9.0.3`) with every pin."""
    return [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
            "-c", str(CONSTRAINTS), *requirements]


def require(*names: str, say: Callable[[str], None] = lambda line: print(line, flush=True)) -> None:
    """Install the extras `names` into this interpreter's environment if they are not there yet."""
    from kfp_laptop.errors import UserError

    known = extras()
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(f"no such extra in pyproject.toml: {', '.join(unknown)}")
    stamped = stamped_extras()
    wanted = [name for name in names if name not in _present and name not in (stamped or [])]
    absent = {name: missing(name) for name in wanted}
    _present.update(name for name, requirements in absent.items() if not requirements)
    needed = list(dict.fromkeys(r for requirements in absent.values() for r in requirements))   # once each
    if not needed:
        return
    parts = [name for name, requirements in absent.items() if requirements]
    say(f"kfp-laptop: installing the {' and '.join(parts)} extra{'s' if len(parts) > 1 else ''} for this task "
        f"({', '.join(r.split('==')[0] for r in needed)}; first use only) ...")
    if subprocess.run(pip_install(sys.executable, needed)).returncode != 0:
        raise UserError(f"installing the {' and '.join(parts)} packages failed (see pip's message above)",
                        "check that PyPI is reachable, then run the same command again")
    importlib.invalidate_caches()
    _present.update(parts)
    if stamped is not None and Path(sys.prefix).resolve() == STAMP.parent.resolve():
        write_stamp([*stamped, *parts])


if __name__ == "__main__":
    from kfp_laptop.errors import exit_on_user_error

    exit_on_user_error(require)(*sys.argv[1:])
