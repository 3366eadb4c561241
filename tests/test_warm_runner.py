"""The warm runner against kfp.local's stock one: real kfp.local runs of both pipelines (real scikit-learn, real
forks), compared task by task; a failing task; Ctrl-C on a real run in its own process group; and the fallback when
kfp's internals are not the ones it was written for."""
import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from kfp import dsl

from kfp_laptop.errors import UserError
from pipelines import warm_runner
from pipelines.arguments import wine_arguments
from pipelines.local_run import init_local, run_pipeline, run_quickstart_locally, run_wine_locally
from pipelines.packaging import LOCAL, lightweight
from pipelines.run_history import RECORD, REPORT, TASK_LOG
from tests.support.runs import run_one_failing_task

pytestmark = pytest.mark.xdist_group("warm-runner")   # one worker runs its module fixture's real runs
ROOT = Path(__file__).resolve().parent.parent
WARM_LINE = "warm runner: tasks start as forks of a preloaded process"


def _quiet(call, *args, **kwargs):
    """(result, printed output) of `call`."""
    with contextlib.redirect_stdout(io.StringIO()) as output:
        return call(*args, **kwargs), output.getvalue()


def _artifacts(run_folder: Path) -> dict[str, bytes]:
    """Every file the run's tasks wrote, by path in the run, with the run's own folder name taken out of their text
    (not the run's record and report: they hold its name, times and durations; nor the warm runner's per-task logs)."""
    return {p.relative_to(run_folder).as_posix(): p.read_bytes().replace(str(run_folder).encode(), b"<run>")
            for p in sorted(run_folder.rglob("*")) if p.is_file() and p.name not in (RECORD, REPORT, TASK_LOG)}


def _task_states(run_folder: Path) -> dict[str, str]:
    return {t["id"]: t["state"] for t in json.loads((run_folder / RECORD).read_text())["tasks"]}


@pytest.fixture(scope="module")
def wine_both_ways(tmp_path_factory):
    """One candidate, so one loop iteration: the wine pipeline's 7 tasks, run warm and then stock."""
    arguments = wine_arguments(neighbors="7", parallelism="1")
    runs, parse, sent = {}, warm_runner.parse_command, []

    def counted(full_command, script):
        task = parse(full_command, script)
        sent.append(task is not None)
        return task

    for mode in ("warm", "stock"):
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv(warm_runner.OFF_SWITCH, "on" if mode == "warm" else "off")
            patch.setattr(warm_runner, "parse_command", counted)
            runs[mode] = _quiet(run_wine_locally, arguments, tmp_path_factory.mktemp(mode))
    assert sent == [True] * 7, "every task of the warm run went to the server, none of the stock run's"
    return runs


def test_warm_and_stock_wine_runs_give_the_same_model_metrics_and_artifacts(wine_both_ways):
    (warm, warm_output), (stock, stock_output) = wine_both_ways["warm"], wine_both_ways["stock"]
    assert WARM_LINE in warm_output and "stock runner" not in warm_output and "warm runner off" in stock_output
    assert warm.summary == stock.summary and warm.summary["hyperparameters"] == {"n_neighbors": 7}
    warm_files, stock_files = _artifacts(Path(warm.run_folder)), _artifacts(Path(stock.run_folder))
    assert sorted(warm_files) == sorted(stock_files) and len(warm_files) >= 14
    assert warm_files == stock_files   # parquet, joblib, metrics and every executor_output.json, byte for byte
    assert Path(warm.report).is_file() and Path(stock.report).is_file()
    assert _task_states(Path(warm.run_folder)) == _task_states(Path(stock.run_folder))
    kept = {p.parent.relative_to(warm.run_folder).as_posix() for p in Path(warm.run_folder).rglob(TASK_LOG)}
    assert kept == set(_task_states(Path(warm.run_folder))), "each warm task keeps its own output"
    assert not list(Path(stock.run_folder).rglob(TASK_LOG)), "a stock run has only the run's log"
    assert set(_task_states(Path(warm.run_folder)).values()) == {"SUCCEEDED"}


def test_warm_and_stock_quickstart_runs_give_the_same_sum_and_verbose_shows_the_tasks_output(tmp_path, monkeypatch):
    warm, output = _quiet(run_quickstart_locally, {"a": 4, "b": 5}, tmp_path / "warm", verbose=True)
    monkeypatch.setenv(warm_runner.OFF_SWITCH, "off")
    stock, _ = _quiet(run_quickstart_locally, {"a": 4, "b": 5}, tmp_path / "stock")
    (warm_sum, warm_report), (stock_sum, stock_report) = warm, stock
    assert warm_sum == stock_sum == 19 and WARM_LINE in output
    assert warm_report.is_file() and stock_report.is_file() and warm_report != stock_report
    assert output.count("]: Wrote executor output file to") == 2, "each task's own output, streamed through"


def refuse_odd(n: int) -> int:
    """Fails with its own traceback for an odd n, as a task with a bug does."""
    if n % 2:
        raise ValueError(f"odd input {n}")
    return n


def _failing_run(root: Path) -> tuple[UserError, str, str]:
    return run_one_failing_task(refuse_odd, root, "odd-fails")


def test_a_failing_task_fails_the_run_with_its_log_as_the_stock_runner_does(tmp_path, monkeypatch):
    warm_error, warm_shown, warm_log = _failing_run(tmp_path / "warm")
    monkeypatch.setenv(warm_runner.OFF_SWITCH, "off")
    stock_error, _, stock_log = _failing_run(tmp_path / "stock")
    assert WARM_LINE in warm_shown and warm_error.problem == stock_error.problem
    assert "refuse-odd" in warm_error.problem and "failed: refuse-odd; the last" in warm_shown
    for log in (warm_log, stock_log):
        assert 'raise ValueError(f"odd input {n}")' in log and "ValueError: odd input 3" in log
        assert "Task 'refuse-odd' finished with status FAILURE" in log


SLEEPER = textwrap.dedent('''
    import sys
    sys.path.insert(0, {root!r})
    from kfp import dsl
    from pipelines.local_run import init_local, run_pipeline
    from pipelines.packaging import LOCAL, lightweight

    def sleep_long(marker: str, seconds: int):
        import os
        import pathlib
        import time
        pathlib.Path(marker).write_text(str(os.getpid()))
        time.sleep(seconds)

    step = lightweight(sleep_long, LOCAL)

    @dsl.pipeline(name="sleeps")
    def sleeps(marker: str, seconds: int = 120):
        step(marker=marker, seconds=seconds)

    init_local({folder!r})
    run_pipeline(sleeps, {{"marker": {marker!r}, "seconds": 120}})
''')


def test_ctrl_c_stops_a_warm_run_and_every_process_it_started(tmp_path):
    """Ctrl-C as a terminal sends it: SIGINT to the whole foreground process group (here a group of its own). The
    first lets the warm task run on (it is in a group of its own); the second stops it, the server with it."""
    script = tmp_path / "sleeps.py"
    marker = tmp_path / "the task runs"
    script.write_text(SLEEPER.format(root=str(ROOT), folder=str(tmp_path / "runs"), marker=str(marker)))
    run = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (marker.exists() and marker.read_text()) and run.poll() is None:
            time.sleep(0.1)
        assert marker.exists() and marker.read_text(), "the run never started its task"
        task = int(marker.read_text())
        os.killpg(run.pid, signal.SIGINT)
        time.sleep(1.0)
        assert run.poll() is None and os.getpgid(task) == task, "the first Ctrl-C lets the running task finish"
        os.killpg(run.pid, signal.SIGINT)
        output, _ = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
    assert run.returncode == 130 and "Traceback" not in output and "KeyboardInterrupt" not in output, output
    assert "Ctrl-C: stopping: the running task (sleep-long) finishes" in output
    assert "Ctrl-C again: stopped the running tasks." in output and "interrupted; the partial run's log:" in output
    deadline = time.monotonic() + 10    # the processes' own exits: bounded, not timed
    while _alive({run.pid, task}) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive({run.pid, task}), "no task, no server left behind"


def _alive(groups: set[int]) -> list[str]:
    """The processes of these process groups that still run (a zombie has exited: it only waits for its reaper,
    which for an orphan in a container may be slow)."""
    listed = subprocess.run(["ps", "-A", "-o", "pgid=,stat=,args="], capture_output=True, text=True, check=True)
    return [line for line in listed.stdout.splitlines()
            if int(line.split()[0]) in groups and not line.split()[1].startswith("Z")]


def test_the_stock_runner_is_used_and_said_when_kfps_internals_differ(tmp_path, monkeypatch):
    """A kfp whose task-launching function is not the one the warm runner was written for."""
    from kfp.local import subprocess_task_handler as handler

    stock, calls = handler.run_local_subprocess, []

    def changed_upstream(full_command, env_vars=None):
        calls.append((full_command[0], handler.subprocess.Popen is not subprocess.Popen))
        return stock(full_command=full_command, env_vars=env_vars)

    monkeypatch.setattr(handler, "run_local_subprocess", changed_upstream)
    (total, _), output = _quiet(run_quickstart_locally, {"a": 1, "b": 1}, tmp_path)
    assert total == 12 and calls == [("sh", True), ("sh", True)], "stock, with local_interrupt's own-group Popen"
    (line,) = [line for line in output.splitlines() if "warm runner" in line]
    assert line == ("warm runner off: kfp 2.17.3's internals differ from those it was written for "
                    "(run_local_subprocess); using kfp.local's stock runner")


def test_outside_linux_the_stock_runner_is_said(monkeypatch):
    monkeypatch.setattr(warm_runner.sys, "platform", "darwin")
    assert "checked safe on Linux only (this is darwin)" in warm_runner.internals_problem()


def test_a_loop_may_run_as_many_tasks_at_once_as_its_parallelism_up_to_the_cores():
    from kfp.local.orchestrator.enhanced_dag_orchestrator import ParallelExecutor

    undo = warm_runner._lift_loop_cap(6)
    try:
        widened, capped = ParallelExecutor(), ParallelExecutor(max_workers=3)
    finally:
        undo()
    assert (widened.conservative_max, widened.max_workers, capped.max_workers) == (6, 6, 3)
    assert ParallelExecutor().conservative_max == 2, "kfp.local's own cap is back after the run"


def test_only_kfps_own_lightweight_command_runs_warm():
    script = warm_runner.expected_script(sys.executable)
    assert warm_runner.parse_command(["sh", "-ec", script, "SOURCE", "--executor_input", "{}"], script) == \
        {"source": "SOURCE", "args": ["--executor_input", "{}"]}
    pip_first = ["sh", "-c", "python3 -m pip install scikit-learn && " + script, "SOURCE"]
    assert warm_runner.parse_command(pip_first, script) is None


def blas_threads() -> int:
    """The most threads any BLAS/OpenMP library of this task may use."""
    import numpy  # noqa: F401 - loads the BLAS library
    from threadpoolctl import threadpool_info

    return max(library["num_threads"] for library in threadpool_info())


def test_a_warm_task_uses_the_blas_threads_the_user_asked_for(tmp_path, monkeypatch):
    """The server loads its libraries with one thread; a task asked for two (OMP_NUM_THREADS) gets two."""
    step = lightweight(blas_threads, LOCAL)

    @dsl.pipeline(name="blas-threads")
    def threads() -> int:
        return step().output

    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    init_local(tmp_path)
    result, output = _quiet(run_pipeline, threads, {})
    assert WARM_LINE in output and "stock runner" not in output
    assert result.outputs.output == 2


def test_each_task_gets_one_blas_thread_unless_the_user_set_them():
    assert warm_runner.task_threads({}) == 1
    assert warm_runner.task_threads({"OMP_NUM_THREADS": "4"}) == 4
    assert warm_runner.task_threads({"OMP_NUM_THREADS": "lots"}) == 1


def test_a_stock_runs_task_logs_come_from_the_runs_own_log(wine_both_ways):
    """Without per-task logs (the stock runner), `inv logs --task` splits the run's log by the tasks' folders."""
    from rich.console import Console

    from pipelines.local_commands import show_logs

    folder = Path(wine_both_ways["stock"][0].run_folder)
    console = Console(record=True, width=200)
    show_logs(folder.parent, folder.name, "train-candidate", console)
    shown = console.export_text()
    assert "Looking for component `train_candidate`" in shown and '"n_neighbors": 7' in shown
    assert "`select_best`" not in shown


@pytest.mark.parametrize("args,kept", [
    (["--executor_input", json.dumps({"outputs": {"outputFile": "/r/for-loop-1-iteration-0/t/executor_output.json"}}),
      "--function_to_execute", "t"], "/r/for-loop-1-iteration-0/t/task.log"),
    (["--function_to_execute", "t"], None),
    (["--executor_input"], None),
    (["--executor_input", "{not json"], None),
    (["--executor_input", json.dumps({"outputs": []})], None),
    (["--executor_input", json.dumps(["outputs"])], None),
])
def test_a_tasks_own_log_goes_beside_its_executor_output_or_nowhere(args, kept):
    found = warm_runner.own_log({"source": "", "args": args})
    assert (str(found) if found else None) == kept


def test_a_task_log_that_cannot_be_kept_is_dropped_without_an_error(tmp_path):
    """Its folder cannot be made (a file is in the way): what is written goes nowhere, and nothing fails (the run's
    own log still has every line)."""
    (tmp_path / "blocked").write_text("a file, not a folder")
    with warm_runner._kept(tmp_path / "blocked" / "t" / "task.log") as kept:
        kept.write("line\n")
    assert not (tmp_path / "blocked" / "t").exists()


def where_am_i() -> str:
    """The task's folder, and the first folder it imports from after its own module's (kfp's executor puts that
    first)."""
    import os
    import sys
    return f"{os.getcwd()} {sys.path[1]}"


def test_the_runs_of_one_process_share_its_server_and_a_stopped_one_is_replaced(tmp_path, monkeypatch):
    """A notebook's second run starts warm at once: the same server, each task seeing its own run's folder first on
    sys.path as `python3 -m` in that folder would; a server that stopped between runs is replaced, not fallen back
    from."""
    step = lightweight(where_am_i, LOCAL)

    @dsl.pipeline(name="where")
    def where() -> str:
        return step().output

    def run_in(folder: Path, warm: bool = True) -> tuple[str, int]:
        folder.mkdir()
        monkeypatch.chdir(folder)
        monkeypatch.setenv(warm_runner.OFF_SWITCH, "on" if warm else "off")
        init_local(folder)
        result, output = _quiet(run_pipeline, where, {})
        assert (WARM_LINE in output and "stock runner" not in output) if warm else "warm runner off" in output
        return result.outputs.output, warm_runner.shared_server().process.pid

    first, first_server = run_in(tmp_path / "a")
    second, second_server = run_in(tmp_path / "b")
    assert (first, second) == (f"{tmp_path / 'a'} {tmp_path / 'a'}", f"{tmp_path / 'b'} {tmp_path / 'b'}")
    assert first_server == second_server
    warm_runner.shared_server().process.kill()
    warm_runner.shared_server().process.wait()
    third, third_server = run_in(tmp_path / "c")
    assert third == f"{tmp_path / 'c'} {tmp_path / 'c'}" and third_server != first_server
    assert run_in(tmp_path / "d", warm=False)[0] == f"{tmp_path / 'd'} {tmp_path / 'd'}", "as the stock runner"
