"""Ctrl-C on a real local run, as a terminal sends it: SIGINT to the whole process group of `inv run-wine --local`,
started in a group of its own, with the warm runner on (its default). Once while the loop's first iterations run
(they finish, nothing else starts, the run is recorded as interrupted), and twice (the second stops the tasks at
once). Each candidate's fit takes FIT seconds (tests/support/slow_tasks.py), as a real training step would: warm, it
takes a tenth of a second, less than the time between two presses."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.slow_tasks import environment
from tests.support.tools import without

pytestmark = pytest.mark.xdist_group("ctrl-c")   # one worker runs its module fixture's real runs
ROOT = Path(__file__).resolve().parent.parent
LOOP_RUNNING = "train-candidate  RUNNING (0/3 done, 2 running)"
FIT = 4.0   # seconds per candidate's fit: both presses (1 s apart) land while the first two iterations train
NOISE = ("Traceback", "Exception ignored", "I/O operation on closed file", "executor_input", "KeyboardInterrupt")


def ctrl_c_run(folder: Path, presses: int) -> tuple[list[str], int, int]:
    """Run the wine pipeline (3 candidates, 2 at once) in `folder`; press Ctrl-C `presses` times once two loop
    iterations run. Returns (output lines, the index of the first line printed after the first Ctrl-C, exit code)."""
    env = environment(folder / "slow", FIT, {**os.environ, "PATH": without("pulumi", os.environ["PATH"])})
    process = subprocess.Popen([sys.executable, "-m", "invoke", "--search-root", str(ROOT), "run-wine", "--local",
                                "--neighbors", "3,5,7", "--parallelism", "2"], cwd=folder, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, process_group=0)
    lines, after = [], None
    try:
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            if after is None and LOOP_RUNNING in line:
                time.sleep(1.0)           # let both task processes start
                os.killpg(process.pid, signal.SIGINT)
                after = len(lines)
                if presses == 2:
                    time.sleep(1.0)
                    os.killpg(process.pid, signal.SIGINT)
        return lines, after, process.wait(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()


def record_of(folder: Path) -> dict:
    (run,) = (folder / "local_outputs").glob("*/run.json")
    return json.loads(run.read_text())


@pytest.fixture(scope="module")
def once(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ctrl-c-once")
    return (*ctrl_c_run(folder, 1), folder)


def test_the_first_ctrl_c_says_at_once_what_happens_next(once):
    lines, after, _, _ = once
    assert any(line.startswith("warm runner: tasks start as forks") for line in lines[:after])
    assert lines[after].startswith("Ctrl-C: stopping: the running tasks (")   # before any other line
    assert "finish, with the rest of their loop iterations; no new task starts, and the run is marked interrupted. " \
           "Press Ctrl-C again to stop now." in lines[after]


def test_the_running_iterations_finish_and_nothing_else_starts(once):
    lines, after, code, folder = once
    assert code == 130
    states = {t["id"]: t["state"] for t in record_of(folder)["tasks"]}
    for iteration in (0, 1):
        assert states[f"for-loop-1-iteration-{iteration}/train-candidate"] == "SUCCEEDED"
        assert states[f"for-loop-1-iteration-{iteration}/score-candidate"] == "SUCCEEDED"
    assert states["for-loop-1-iteration-2/train-candidate"] == states["select-best"] == "NOT RUN"
    assert record_of(folder)["state"] == "INTERRUPTED"
    assert not any(noise in line for line in lines for noise in NOISE), lines


def test_an_interrupted_runs_report_shows_what_finished_and_is_named_last(once):
    lines, _, _, folder = once
    report = Path(lines[-1].removeprefix("report: "))
    assert report.is_file() and report.parent.parent == folder / "local_outputs"
    html = report.read_text()
    assert "INTERRUPTED" in html and "Stopped with Ctrl-C" in html
    assert html.count("n_neighbors=3 · ") == 2 and "not run" in html      # iteration 0 done, the rest not run
    assert "<td>n_neighbors=3</td>" in html and "<td>n_neighbors=7</td>" not in html   # only scored candidates


def test_a_second_ctrl_c_stops_the_run_now(tmp_path):
    lines, after, code = ctrl_c_run(tmp_path, 2)
    folder = tmp_path
    assert code == 130
    assert lines[after].startswith("Ctrl-C: stopping:")
    assert "Ctrl-C again: stopped the running tasks." in lines
    assert lines[-1].startswith("report: ") and Path(lines[-1].removeprefix("report: ")).is_file()
    assert not any(noise in line for line in lines for noise in NOISE), lines
    record = record_of(folder)
    assert record["state"] == "INTERRUPTED"
    assert {t["state"] for t in record["tasks"] if "train-candidate" in t["id"]} <= {"INTERRUPTED", "NOT RUN"}
    leftover = subprocess.run(["ps", "-A", "-o", "args="], capture_output=True, text=True, check=True).stdout
    assert str(folder) not in leftover    # no task process outlives the run


def test_a_kfp_that_does_not_make_the_calls_relied_on_keeps_its_own_ctrl_c(monkeypatch):
    """local_interrupt checks kfp's own source files for the calls it replaces; if one is missing it changes
    nothing and says so in one line."""
    import kfp
    from kfp.local import subprocess_task_handler, task_dispatcher

    from pipelines import local_interrupt

    assert local_interrupt.internals_problem() is None
    monkeypatch.setitem(local_interrupt.CALLS, "kfp.local.subprocess_task_handler", "subprocess.run_in_a_pod(")
    said, launch, popen = [], task_dispatcher.run_single_task_implementation, subprocess_task_handler.subprocess
    with local_interrupt.CtrlC(said.append, lambda: "", lambda: None) as ctrl_c:
        assert not ctrl_c.active and task_dispatcher.run_single_task_implementation is launch
        assert subprocess_task_handler.subprocess is popen
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert said == [f"Ctrl-C: kfp.local's own handling for this run: kfp {kfp.__version__}'s internals differ from "
                    "those it was written for (subprocess_task_handler)"]
