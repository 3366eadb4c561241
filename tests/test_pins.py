"""What ships is pinned, per part of the install: the core set (`python3 dev.py run-wine`) and each extra.

constraints.txt is one resolved set valid for every part: each part's direct pins are the ones it lists, every package
a part pulls in (its transitive closure, read from the installed packages' metadata) is pinned there at the version
installed here, and it pins nothing that no part installs."""
import importlib.metadata

import pytest

from tests.support.pins import CORE, EXTRAS, ROOT, closure
from tests.support.pins import distribution_name as _name

NOT_IN_THE_DEFAULT_INSTALL = {"pulumi", "pulumi-kubernetes", "pulumi-random", "pulumi-command", "minio",
                              "kubernetes-validate", "pytest", "hypothesis", "ruff"}


def _constraints() -> dict[str, str]:
    lines = (ROOT / "constraints.txt").read_text().splitlines()
    return {_name(line): line.split("==", 1)[1].strip() for line in lines if line.strip() and not line.startswith("#")}


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
