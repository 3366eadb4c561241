"""What ships is pinned, per part of the install: the core set (`python3 dev.py run-wine`) and each extra.

constraints.txt is one resolved set valid for every part: each part's direct pins are the ones it lists, every package
a part pulls in (its transitive closure, read from the installed packages' metadata) is pinned there at the version
installed here, and it pins nothing that no part installs."""
import importlib.metadata
import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
CORE = PROJECT["dependencies"]
EXTRAS = PROJECT["optional-dependencies"]
NOT_IN_THE_DEFAULT_INSTALL = {"pulumi", "pulumi-kubernetes", "pulumi-random", "pulumi-command", "minio",
                              "kubernetes-validate", "pytest", "hypothesis", "ruff"}


def _name(requirement: str) -> str:
    return re.sub(r"[-_.]+", "-", Requirement(requirement).name).lower()


def _constraints() -> dict[str, str]:
    lines = (ROOT / "constraints.txt").read_text().splitlines()
    return {_name(line): line.split("==", 1)[1].strip() for line in lines if line.strip() and not line.startswith("#")}


def closure(requirements: list[str]) -> set[str]:
    """Every distribution `requirements` install, following each installed package's own requirements."""
    seen: set[str] = set()
    pending = [Requirement(r) for r in requirements]
    while pending:
        requirement = pending.pop()
        if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
            continue
        name = _name(str(requirement))
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


PARTS = {"core": CORE, **{extra: CORE + requirements for extra, requirements in EXTRAS.items()}}


@pytest.mark.parametrize("part", PARTS)
def test_each_parts_direct_pins_are_exact_and_match_the_constraints(part):
    constraints = _constraints()
    for requirement in PARTS[part]:
        assert "==" in requirement, f"{requirement} is not pinned exactly"
        assert constraints.get(_name(requirement)) == requirement.split("==", 1)[1], \
            f"{requirement} differs from constraints.txt: {constraints.get(_name(requirement))}"


@pytest.mark.parametrize("part", PARTS)
def test_every_package_a_part_installs_is_pinned_at_the_installed_version(part):
    constraints = _constraints()
    for name in closure(PARTS[part]):
        assert name in constraints, f"{name} (installed by the {part} set) is not pinned in constraints.txt"
        assert importlib.metadata.version(name) == constraints[name], name


def test_the_constraints_pin_nothing_that_no_part_installs():
    installed = set().union(*(closure(requirements) for requirements in PARTS.values()))
    assert set(_constraints()) - installed == set()


def test_the_default_install_leaves_out_the_cluster_tools_and_the_test_tools():
    assert closure(CORE) & NOT_IN_THE_DEFAULT_INSTALL == set()
    assert NOT_IN_THE_DEFAULT_INSTALL <= set().union(*(closure(r) for r in EXTRAS.values()))
