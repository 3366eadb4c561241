"""Every user error of the pipeline commands: one message with a fix, raised before anything runs or is sent."""
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from kfp_laptop.errors import UserError
from laptop import stack as stacks
from pipelines import cli, local_run
from pipelines.arguments import wine_arguments
from tests.support.outputs import FIXTURE_OUTPUTS
from tests.support.tools import without

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def nothing_may_run(monkeypatch):
    """Fail the test if anything gets as far as looking for a stack or starting a local run."""
    def reached(*args, **kwargs):
        raise AssertionError("validation should have stopped the command before this")
    for module, name in ((stacks, "find_outputs"), (stacks, "stack_outputs"), (local_run, "run_wine_locally"),
                         (local_run, "run_quickstart_locally")):
        monkeypatch.setattr(module, name, reached)


@pytest.mark.parametrize("arguments, message", [
    ({"neighbors": ""}, "--neighbors is empty"),
    ({"neighbors": " , "}, "--neighbors is empty"),
    ({"neighbors": "3,x"}, "--neighbors must be an integer, got 'x'"),
    ({"neighbors": "3,,5"}, "--neighbors has an empty candidate in '3,,5'"),
    ({"neighbors": "3,500"}, "--neighbors 500 is more than the 106 rows each cross-validation fold trains on"),
    ({"test_size": "0.001"}, "into 177 for training and 1 for testing"),
    ({"test_size": "0.95"}, "into 8 for training and 170 for testing"),
    ({"neighbors": "3,0"}, "--neighbors must all be at least 1"),
    ({"neighbors": "2.5"}, "--neighbors must be an integer"),
    ({"parallelism": "0"}, "--parallelism must be at least 1, got 0"),
    ({"parallelism": "-2"}, "--parallelism must be at least 1"),
    ({"parallelism": "two"}, "--parallelism must be an integer"),
    ({"parallelism": str(2**31)}, "--parallelism must be below 2147483648"),
    ({"test_size": "0"}, "--test-size must be between 0 and 1"),
    ({"test_size": "1"}, "--test-size must be between 0 and 1"),
    ({"test_size": "1.5"}, "--test-size must be between 0 and 1"),
    ({"test_size": "a quarter"}, "--test-size must be a number"),
    ({"random_state": "seed"}, "--random-state must be an integer"),
    ({"random_state": "-1"}, "--random-state must be between 0 and 4294967295"),
    ({"target": "laptop"}, "--target must be one of auto, local, cluster"),
    ({"local": True, "target": "cluster"}, "--local and --target cluster contradict each other"),
])
def test_invalid_wine_arguments_stop_before_anything_runs(nothing_may_run, arguments, message):
    with pytest.raises(UserError) as caught:
        cli.run_wine(**arguments)
    assert message in caught.value.problem and caught.value.fix


@pytest.mark.parametrize("test_size", [0.016, 0.915])
def test_the_data_checks_agree_with_scikit_learn_at_their_limits(test_size):
    """Real scikit-learn on the real wine data: the extreme accepted arguments run, one neighbour more fails in
    scikit-learn, and the smallest refused test size fails its split there too (the largest refused one is kept
    back a little earlier than scikit-learn would fail: at fewer than `folds` rows per class)."""
    from pipelines.wine import logic
    from pipelines.wine.pipeline import DEFAULT_FOLDS, WINE_CLASSES, WINE_ROWS

    frame = logic.load_wine_frame()
    assert (len(frame), frame["target"].nunique()) == (WINE_ROWS, WINE_CLASSES)
    with pytest.raises(UserError) as caught:
        wine_arguments(neighbors="10000", test_size=test_size)
    limit = int(re.search(r"up to (\d+)", caught.value.fix).group(1))
    arguments = wine_arguments(neighbors=str(limit), test_size=test_size)
    train, _ = logic.split_frame(frame, arguments.test_size, arguments.random_state)
    logic.cross_validated_accuracy(logic.scaled_knn(limit), train, DEFAULT_FOLDS)
    with pytest.raises(ValueError, match="n_neighbors"):
        logic.cross_validated_accuracy(logic.scaled_knn(limit + 1), train, DEFAULT_FOLDS)
    for refused in (0.011, 0.93):
        with pytest.raises(UserError, match="--test-size"):
            wine_arguments(test_size=refused)
    with pytest.raises(ValueError, match="number of classes"):
        logic.split_frame(frame, 0.011, 42)


def test_invalid_quickstart_argument(nothing_may_run):
    with pytest.raises(UserError) as caught:
        cli.run_quickstart(b="two")
    assert caught.value.problem == "-b must be an integer, got 'two'" and caught.value.fix == "pass e.g. -b 3"


@pytest.mark.parametrize("call", [lambda: cli.status("some-run"), lambda: cli.logs("some-run"),
                                  lambda: cli.report("some-run")])
def test_a_run_that_is_neither_local_nor_on_a_stack_is_one_message(monkeypatch, tmp_path, call):
    """Real `laptop.stack` code, no `pulumi` on PATH: no stack can hold the run, and no local run has that name."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", without("pulumi", os.environ["PATH"]))
    with pytest.raises(UserError) as caught:
        call()
    assert caught.value.problem == "'some-run' is not a local run, and no stack is up to ask for a KFP run of that id"
    assert "inv runs" in caught.value.fix


@pytest.mark.parametrize("call", [lambda: cli.run_wine(target="cluster"), lambda: cli.run_quickstart(target="cluster")])
def test_cluster_commands_without_the_pulumi_cli(monkeypatch, call):
    """Real `laptop.stack` code: with no `pulumi` on PATH, a cluster target is an error, never a silent local run."""
    monkeypatch.setenv("PATH", without("pulumi", os.environ["PATH"]))
    monkeypatch.setattr(local_run, "run_wine_locally", lambda *a, **k: pytest.fail("must not fall back to local"))
    with pytest.raises(UserError) as caught:
        call()
    assert "Pulumi CLI" in caught.value.problem and "pulumi" in caught.value.fix


def test_stack_without_every_output_is_named(monkeypatch):
    """Mock: `find_outputs` stands in for `pulumi stack output` (no Pulumi CLI here) returning an outdated stack."""
    partial = {k: v for k, v in FIXTURE_OUTPUTS.items() if k not in ("kfp_endpoint", "pipeline_root")}
    monkeypatch.setattr(stacks, "find_outputs", lambda stack=None: partial)
    with pytest.raises(UserError) as caught:
        cli.run_wine()
    assert "kfp_endpoint" in caught.value.problem and "pipeline_root" in caught.value.problem


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("command", [cli.run_wine, cli.run_quickstart])
def test_kfp_endpoint_that_does_not_answer(monkeypatch, command):
    """Mock: `find_outputs` (no Pulumi CLI here); the connection refusal is real, on a closed 127.0.0.1 port."""
    url = f"http://127.0.0.1:{_closed_port()}"
    monkeypatch.setattr(stacks, "find_outputs", lambda stack=None: {**FIXTURE_OUTPUTS, "kfp_endpoint": url})
    with pytest.raises(UserError) as caught:
        command()
    assert f"the KFP endpoint {url} does not answer" in caught.value.problem
    assert "inv doctor" in caught.value.fix


def test_invoke_prints_one_message_and_exits_1():
    """Through the real `inv` entry point: the message and the fix, exit status 1, no traceback."""
    done = subprocess.run([sys.executable, "-m", "invoke", "run-wine", "--parallelism", "0", "--local"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "error: --parallelism must be at least 1, got 0" in done.stderr and "fix:" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def test_an_output_folder_that_cannot_be_made_is_one_message(tmp_path):
    """Real file system: a regular file where the folder should be makes both the compile and a local run refuse."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(UserError) as caught:
        cli.compile_all(blocker / "ir")
    assert str(blocker / "ir") in caught.value.problem and "--out" in caught.value.fix
    with pytest.raises(UserError) as caught:
        local_run.init_local(blocker / "runs")
    assert str(blocker / "runs") in caught.value.problem


def test_dev_py_refuses_an_old_python_before_defining_anything(monkeypatch):
    """Loading dev.py under a Python that reports 3.10 stops at once with the message (older Pythons cannot even
    define its functions), without touching .venv."""
    import runpy

    monkeypatch.setattr(sys, "version_info", (3, 10, 13, "final", 0))
    with pytest.raises(SystemExit) as stopped:
        runpy.run_path(str(ROOT / "dev.py"), run_name="not_main")
    assert "kfp-laptop needs Python 3.11 or newer" in str(stopped.value.code)


def test_a_containerized_cluster_run_reads_the_stack_once(monkeypatch):
    """Mock: `find_outputs` / `stack_outputs` stand in for `pulumi stack output` (no Pulumi CLI here); the registry
    refusing is real, on a closed 127.0.0.1 port."""
    reads = []
    outputs = {**FIXTURE_OUTPUTS, "registry": f"localhost:{_closed_port()}"}
    monkeypatch.setattr(stacks, "find_outputs", lambda stack=None: reads.append("find_outputs") or outputs)
    monkeypatch.setattr(stacks, "stack_outputs", lambda stack=None: reads.append("stack_outputs") or outputs)
    with pytest.raises(UserError, match="the stack's registry at http://127.0.0.1:.* does not answer"):
        cli.run_wine(containerized=True)
    assert reads == ["find_outputs"]
