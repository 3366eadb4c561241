"""What ships is pinned: every direct dependency's pin in pyproject.toml is the one constraints.txt installs."""
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _name(requirement: str) -> str:
    return re.split(r"[=<>!~\[ ;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_direct_pins_match_the_constraints_file():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    direct = project["dependencies"] + [r for extra in project["optional-dependencies"].values() for r in extra]
    constraints = {_name(line): line.strip() for line in (ROOT / "constraints.txt").read_text().splitlines()
                   if line.strip() and not line.startswith("#")}
    for requirement in direct:
        assert "==" in requirement, f"{requirement} is not pinned exactly"
        version = requirement.split("==", 1)[1]
        assert constraints.get(_name(requirement), "").endswith(f"=={version}"), \
            f"{requirement} differs from constraints.txt: {constraints.get(_name(requirement))}"
