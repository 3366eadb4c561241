"""The install's parts: the core set by default, each extra installed when a task first needs it.

pip and PyPI are stood in for (a recorded `subprocess.run`): installing packages from the network in a test is out of
bounds. What is installed here is real: this venv holds every part, so a real `require` of all of them finds nothing
to do."""
import importlib.metadata
import os
import runpy
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from kfp_laptop.errors import UserError
from laptop import extras

ROOT = Path(__file__).resolve().parent.parent


class RecordedPip:
    """Stands in for pip: records each command and answers with `returncode`."""

    def __init__(self, returncode: int = 0):
        self.commands: list[list[str]] = []
        self.returncode = returncode

    def __call__(self, command, **_):
        self.commands.append([str(part) for part in command])
        return subprocess.CompletedProcess(command, self.returncode)


@pytest.fixture
def pip(monkeypatch, tmp_path):
    """The stand-in pip, with a stamp of this test's own (the venv's real one stays untouched)."""
    recorded = RecordedPip()
    monkeypatch.setattr(extras.subprocess, "run", recorded)
    monkeypatch.setattr(extras, "_present", set())
    monkeypatch.setattr(extras, "STAMP", tmp_path / "venv" / ".kfp-laptop-installed")
    return recorded


def _without(monkeypatch, *names: str) -> None:
    """This venv as if `names` were not installed."""
    real = importlib.metadata.version

    def version(name):
        if name.lower() in names:
            raise importlib.metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(extras.importlib.metadata, "version", version)


def test_extras_that_are_installed_cost_no_pip_call(pip):
    said = []
    extras.require("infra", "cluster", "dev", say=said.append)
    assert pip.commands == [] and said == []


def test_a_missing_extra_is_installed_with_every_pin_and_said_in_one_line(pip, monkeypatch):
    _without(monkeypatch, "minio")
    said = []
    extras.require("infra", "cluster", say=said.append)
    (command,) = pip.commands
    assert command[1:4] == ["-m", "pip", "install"] and "--quiet" in command
    assert command[command.index("-c") + 1] == str(ROOT / "constraints.txt")
    assert command[-1:] == ["minio==7.2.20"], "only what is missing, at its pin"
    assert said == ["kfp-laptop: installing the cluster extra for this task (minio; first use only) ..."]
    extras.require("cluster", say=said.append)
    assert len(pip.commands) == 1, "checked once per process"


def test_a_package_two_missing_extras_pin_is_installed_and_named_once(pip, monkeypatch):
    _without(monkeypatch, "pulumi", "minio")
    said = []
    extras.require("infra", "cluster", say=said.append)
    (command,) = pip.commands
    assert command.count("pulumi==3.272.0") == 1 and "minio==7.2.20" in command
    assert said[0].count("pulumi,") + said[0].count("pulumi;") == 1, said


def test_an_extra_installed_into_dev_pys_venv_is_recorded_in_its_stamp(pip, monkeypatch, tmp_path):
    """dev.py refreshes the recorded extras when the pins change; the stamp says which extras this venv holds."""
    extras.STAMP.parent.mkdir()
    extras.write_stamp(["dev"])
    monkeypatch.setattr(extras.sys, "prefix", str(extras.STAMP.parent))
    _without(monkeypatch, "minio")
    extras.require("cluster", "dev", say=lambda line: None)
    assert pip.commands[0][-1] == "minio==7.2.20"
    assert extras.read_stamp()["extras"] == ["cluster", "dev"] and extras.stamped_extras() == ["cluster", "dev"]


def test_a_failed_install_is_one_message_with_the_fix(pip, monkeypatch):
    _without(monkeypatch, "pytest", "ruff")
    pip.returncode = 1
    with pytest.raises(UserError) as caught:
        extras.require("dev", say=lambda line: None)
    assert "installing the dev packages failed" in caught.value.problem and "PyPI" in caught.value.fix


def test_an_extra_pyproject_does_not_declare_is_a_programming_error(pip):
    with pytest.raises(ValueError, match="no such extra in pyproject.toml: gpu"):
        extras.require("gpu")


@pytest.mark.parametrize("before,project", [({}, str(ROOT)), ({"extras": ["dev", "infra"]}, f"{ROOT}[dev,infra]")])
def test_dev_py_installs_the_core_set_and_refreshes_the_extras_an_older_install_had(before, project, tmp_path):
    """dev.py with the pins changed since the last install (stand-ins for the stamp and pip)."""
    module = runpy.run_path(str(ROOT / "dev.py"), run_name="not_main")
    pip, stamped = RecordedPip(), []
    (tmp_path / "python").touch()
    module["ensure_venv"].__globals__.update(
        stamped_extras=lambda: None, read_stamp=lambda: before, write_stamp=stamped.append,
        _bin=lambda name: tmp_path / name, subprocess=SimpleNamespace(run=pip))
    module["ensure_venv"]()
    (command,) = pip.commands
    assert command[-2:] == ["-e", project] and "-c" in command
    assert stamped == [before.get("extras", [])]


LOCAL_RUN_WITHOUT_EXTRAS = """
import sys
for name in {blocked!r}:
    sys.modules[name] = None   # as if not installed: importing it raises ImportError
from rich.console import Console
import pipelines.cli, pipelines.local_run, pipelines.warm_runner
from pipelines.run_target import resolve_target
print(resolve_target(False, "auto", None, Console()))
"""


def _modules_of(distribution: str) -> set[str]:
    """The top-level modules and packages an installed distribution provides (from its RECORD)."""
    return {file.parts[0].removesuffix(".py") for file in importlib.metadata.distribution(distribution).files or []
            if file.parts[0] not in ("..", "__pycache__") and not file.parts[0].endswith((".dist-info", ".data"))
            and (file.suffix == ".py" or len(file.parts) > 1)}


def test_the_local_runner_needs_nothing_from_the_extras():
    """With no pulumi CLI on PATH, `inv run-wine`'s whole local path imports and picks the local runner while every
    extra-only package is missing (the pipeline run itself is tested in test_pipelines and test_warm_runner)."""
    from tests.support.pins import CORE, EXTRAS, closure
    from tests.support.tools import without

    only_extras = set().union(*(closure(r) for r in EXTRAS.values())) - closure(CORE)
    blocked = sorted({name for distribution in only_extras for name in _modules_of(distribution)})
    assert {"pulumi", "pulumi_kubernetes", "minio", "pytest", "kubernetes_validate"} <= set(blocked)
    env = {**os.environ, "PATH": without("pulumi", os.environ["PATH"])}
    done = subprocess.run([sys.executable, "-c", LOCAL_RUN_WITHOUT_EXTRAS.format(blocked=blocked)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "no stack is up: running on the embedded local runner (kfp.local)" in done.stdout
