"""The compact view of a kfp.local run: lines parsed as kfp.local 2.17 really prints them (copied from real runs of
this project's pipelines), the expected task counts from the real compiled IR, and one tiny real run whose loop
iteration fails."""
import contextlib
import io
import logging
from typing import List

import pytest
from google.protobuf import json_format
from kfp import dsl
from rich.console import Console

from kfp_laptop.errors import UserError
from pipelines.local_progress import LocalProgress, RunProgress, TaskEvent, expected_tasks, failing_task, parse_line
from pipelines.packaging import LOCAL, lightweight

ROOT = "/tmp/fcap/local_outputs"
RUN = "wine-tuning-2026-11-29-01-27-48-616330"
# Real lines of a wine run (2 candidates, both at once), in the order kfp.local printed them. It printed only ONE
# "finished" line for the two score-candidate iterations: its per-task logging handlers race between threads.
SCORE_CANDIDATES = [
    "01:28:00.111 - INFO - Executing task \x1b[96m'score-candidate'\x1b[0m",
    "01:28:00.147 - INFO - Executing task \x1b[96m'score-candidate'\x1b[0m",
    f'            "outputFile": "{ROOT}/{RUN}/for-loop-1-iteration-0/score-candidate/executor_output.json"',
    f'            "outputFile": "{ROOT}/{RUN}/for-loop-1-iteration-1/score-candidate/executor_output.json"',
    f"    [KFP Executor 2026-11-29 01:28:03,299 INFO]: Wrote executor output file to "
    f"{ROOT}/{RUN}/for-loop-1-iteration-1/score-candidate/executor_output.json.",
    f"    [KFP Executor 2026-11-29 01:28:03,433 INFO]: Wrote executor output file to "
    f"{ROOT}/{RUN}/for-loop-1-iteration-0/score-candidate/executor_output.json.",
    "01:28:04.081 - INFO - Task \x1b[96m'score-candidate'\x1b[0m finished with status \x1b[92mSUCCESS\x1b[0m",
]


@pytest.mark.parametrize("line, event", [
    ("01:27:55.451 - INFO - Executing task \x1b[96m'train-candidate'\x1b[0m",
     TaskEvent("executing", "train-candidate")),
    (SCORE_CANDIDATES[2], TaskEvent("started", "score-candidate", f"{RUN}/for-loop-1-iteration-0/score-candidate")),
    (SCORE_CANDIDATES[4], TaskEvent("succeeded", "score-candidate", f"{RUN}/for-loop-1-iteration-1/score-candidate")),
    ("01:27:47.222 - ERROR - Task \x1b[96m'refuse'\x1b[0m finished with status \x1b[91mFAILURE\x1b[0m",
     TaskEvent("failed", "refuse")),
    # success is counted from the executor's own line (never lost), so kfp.local's SUCCESS line is not an event
    (SCORE_CANDIDATES[6], None),
    ("01:28:06.973 - INFO - Pipeline \x1b[95m'wine-tuning'\x1b[0m finished with status \x1b[92mSUCCESS\x1b[0m", None),
    (f'                    "outputFile": "{ROOT}/always-fails-2026-11-29-01-27-47-097239/refuse/Output"', None),
    ('            "outputFile": "/elsewhere/wine-tuning-1/load-data/executor_output.json"', None),
    ("01:27:55.451 - INFO - Streamed logs:", None),
])
def test_parse_real_kfp_local_lines(line, event):
    assert parse_line(line, ROOT) == event


def test_parallel_iterations_are_counted_even_when_kfp_local_loses_a_finished_line():
    progress = RunProgress.planned([("train-candidate", 2), ("score-candidate", 2)])
    changes = [progress.apply(e) for e in (parse_line(line, ROOT) for line in SCORE_CANDIDATES) if e]
    assert [c for c in changes if c] == ["score-candidate  RUNNING (0/2 done, 1 running)",
                                         "score-candidate  RUNNING (0/2 done, 2 running)",
                                         "score-candidate  RUNNING (1/2 done, 1 running)",
                                         "score-candidate  SUCCEEDED (2/2 done)"]
    assert progress.run_folder == RUN
    assert progress.tasks["train-candidate"].summary() == "PENDING (0/2 done)"


def test_a_task_missing_from_the_plan_is_shown_with_an_unknown_count():
    progress = RunProgress.planned([("add", 1)])
    assert progress.apply(TaskEvent("executing", "add-3")) == "add-3  RUNNING (0/? done, 1 running)"
    assert progress.apply(TaskEvent("failed", "add-3")) == "add-3  FAILED (0/? done, 1 failed)"
    assert progress.failed_task == "add-3"


def test_the_live_table_shows_every_task_with_its_counts():
    progress = RunProgress.planned([("split-data", 1), ("train-candidate", 7)])
    for event in (TaskEvent("succeeded", "split-data", "r/split-data"),
                  TaskEvent("started", "train-candidate", "r/for-loop-1-iteration-0/train-candidate"),
                  TaskEvent("succeeded", "train-candidate", "r/for-loop-1-iteration-1/train-candidate")):
        progress.apply(event)
    console = Console(record=True, width=100)
    console.print(progress.table("wine-tuning  12s"))
    text = console.export_text()
    assert "wine-tuning  12s" in text
    assert "split-data       SUCCEEDED" in text and "train-candidate  RUNNING 1/7 done, 1 running" in text


@pytest.mark.parametrize("message, task", [
    ("Pipeline \x1b[95m'always-fails'\x1b[0m finished with status \x1b[91mFAILURE\x1b[0m. "
     "Inner task failed: \x1b[96m'refuse'\x1b[0m.", "refuse"),
    ("Pipeline \x1b[95m'fussy-loop'\x1b[0m finished with status \x1b[91mFAILURE\x1b[0m. Inner task failed: "
     "\x1b[96m'fussy'\x1b[0m inside \x1b[96m'for-loop-1-iteration-1'\x1b[0m.", "fussy inside for-loop-1-iteration-1"),
    ("something else went wrong", None),
])
def test_the_failing_task_from_kfp_locals_failure_message(message, task):
    assert failing_task(message) == task


def _spec(pipeline) -> dict:
    return json_format.MessageToDict(pipeline.pipeline_spec)


def test_expected_tasks_of_the_wine_pipeline_follow_the_dag_and_count_loop_iterations():
    from pipelines.wine.pipeline import wine_pipeline

    spec = _spec(wine_pipeline)
    once = ["load-data", "validate-data", "split-data"]
    assert expected_tasks(spec, {"neighbors": [5, 9]}) == [
        *((name, 1) for name in once), ("train-candidate", 2), ("score-candidate", 2), ("select-best", 1),
        ("evaluate-model", 1)]
    assert dict(expected_tasks(spec, {}))["train-candidate"] == 7     # the pipeline's default candidates


def test_expected_tasks_of_the_quickstart():
    from pipelines.quickstart import quickstart_pipeline

    assert expected_tasks(_spec(quickstart_pipeline), {"a": 1, "b": 2}) == [("add", 1), ("add-2", 1)]


def test_verbose_passes_the_raw_output_through_and_still_logs_it(tmp_path):
    with contextlib.redirect_stdout(io.StringIO()) as shown:
        with LocalProgress("wine-tuning", [("train-candidate", 2)], tmp_path, verbose=True) as view:
            print(SCORE_CANDIDATES[0].replace("score", "train"))
    assert "Executing task \x1b[96m'train-candidate'" in shown.getvalue()
    assert "RUNNING" not in shown.getvalue() and "its whole output follows" in shown.getvalue()
    assert view.log_path.parent == tmp_path and view.log_path.suffix == ".log"   # no run folder seen: its own name
    assert not list(tmp_path.glob("*.partial"))
    assert "Executing task 'train-candidate'" in view.log_path.read_text()


def fussy(n: int) -> int:
    """A component that fails for one loop item only."""
    if n == 2:
        raise ValueError(f"cannot take {n}")
    return n


@pytest.fixture(scope="module")
def fussy_loop_run(tmp_path_factory):
    """A real kfp.local run: a loop over [1, 2, 3], one at a time, whose second iteration fails (3 tiny tasks)."""
    from pipelines.local_run import init_local, run_pipeline

    step = lightweight(fussy, LOCAL)

    @dsl.pipeline(name="fussy-loop")
    def fussy_loop(items: List[int] = [1, 2, 3]):  # noqa: B006 (KFP reads the default from the signature)
        with dsl.ParallelFor(items, parallelism=1) as n:
            step(n=n)

    root = tmp_path_factory.mktemp("fussy")
    handlers = logging.getLogger().handlers[:]
    init_local(root)
    with contextlib.redirect_stdout(io.StringIO()) as output, pytest.raises(UserError) as caught:
        run_pipeline(fussy_loop, {"items": [1, 2, 3]})
    return output.getvalue(), caught.value, root, handlers


def test_a_failing_loop_iteration_is_counted_and_named(fussy_loop_run):
    output, error, _, _ = fussy_loop_run
    assert "] fussy  RUNNING (0/3 done, 1 running)" in output
    assert "] fussy  FAILED (1/3 done, 1 failed)" in output
    assert "failed: fussy inside for-loop-1-iteration-1; the last 40 log lines up to the failure:" in output
    assert "the local run failed" in error.problem and "'fussy' inside 'for-loop-1-iteration-1'" in error.problem
    assert "\x1b[" not in error.problem


def test_the_failure_shows_the_log_up_to_the_failing_task_and_where_the_whole_log_is(fussy_loop_run):
    output, _, root, _ = fussy_loop_run
    tail = output.split("up to the failure:")[1].split("log: ")[0]
    assert "ValueError: cannot take 2" in tail
    assert tail.rstrip("─\n").rstrip().endswith("- ERROR - Task 'fussy' finished with status FAILURE")
    assert '"n": 3' not in tail   # the iteration run after the failure is left out
    log = root / output.split("log: ")[1].split()[0]
    assert log.parent == root and log.name.startswith("fussy-loop-") and log.suffix == ".log"
    assert '"n": 3' in log.read_text() and "ValueError: cannot take 2" in log.read_text()


def test_the_run_leaves_the_root_logger_as_it_was(fussy_loop_run):
    *_, handlers = fussy_loop_run
    assert logging.getLogger().handlers == handlers
