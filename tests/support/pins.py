"""What the project installs, read from pyproject.toml and the installed packages' metadata (tests of the pins and
of the extras share it)."""
import importlib.metadata
import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
CORE = PROJECT["dependencies"]
EXTRAS = PROJECT["optional-dependencies"]


def distribution_name(requirement: str) -> str:
    return re.sub(r"[-_.]+", "-", Requirement(requirement).name).lower()


def closure(requirements: list[str]) -> set[str]:
    """Every distribution `requirements` install, following each installed package's own requirements."""
    seen: set[str] = set()
    pending = [Requirement(r) for r in requirements]
    while pending:
        requirement = pending.pop()
        if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
            continue
        name = distribution_name(str(requirement))
        wanted = {"", *requirement.extras}
        if name in seen and not requirement.extras:
            continue
        seen.add(name)
        for child in importlib.metadata.distribution(name).requires or []:
            child = Requirement(child)
            if child.marker is None or any(child.marker.evaluate({"extra": extra}) for extra in wanted):
                child.marker = None
                pending.append(child)
    return seen
