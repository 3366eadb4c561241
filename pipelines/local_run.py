"""Run a pipeline on KFP's embedded runner (`kfp.local`): no cluster, tasks run as subprocesses of this venv."""
from __future__ import annotations

import builtins
import contextlib
import json
from dataclasses import dataclass
from pathlib import Path

from kfp_laptop.errors import UserError
from pipelines.arguments import WineArguments
from pipelines.packaging import LOCAL, Flavour
from pipelines.quickstart import build_quickstart_pipeline
from pipelines.wine.components import components
from pipelines.wine.pipeline import build_wine_pipeline

DEFAULT_ROOT = Path("local_outputs")


@dataclass(frozen=True)
class WineResult:
    summary: dict          # hyperparameters, cv_accuracy, test_accuracy, test_f1_macro
    model_path: str
    run_folder: str        # this run's artifacts, under the pipeline root
    report: str = ""       # the run's report.html


def init_local(pipeline_root: Path = DEFAULT_ROOT) -> None:
    """Point kfp.local at `pipeline_root` with the subprocess runner in THIS interpreter (no venv per task)."""
    from kfp import local

    root = Path(pipeline_root).resolve()
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UserError(f"cannot create the local runs' folder {root}: {err.strerror or err}",
                        "run the command from a folder you can write to (the project's own)") from None
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(root), raise_on_error=True)


@dataclass(frozen=True)
class LocalOutcome:
    outputs: object        # what the pipeline call returned (its outputs)
    report: Path           # the run's report.html, beside its record (run.json), in its run folder


@contextlib.contextmanager
def print_kept():
    """`builtins.print` as it was, back when the run ends. kfp.local indents a task's output by swapping
    `builtins.print` for the task's duration (`indented_print`, kfp/local/logging_utils.py); loop iterations that run
    at once, in threads, swap it in an interleaved order and can leave it indented after the run, for every later
    print of the process (a notebook's too)."""
    kept = builtins.print
    try:
        yield
    finally:
        builtins.print = kept


def run_pipeline(pipeline, arguments: dict, verbose: bool = False, headline=None) -> LocalOutcome:
    """Run `pipeline` on kfp.local (after `init_local`), showing its progress and keeping its output in a log file
    beside the run folder (`verbose`: show that output too); the run's record and report go into its folder,
    `headline(outputs)` giving the record's result. A failed task becomes a UserError, Ctrl-C a KeyboardInterrupt
    once the running tasks finished (see `pipelines.local_record`)."""
    from google.protobuf import json_format
    from kfp.local.config import LocalExecutionConfig

    from pipelines.local_progress import (
        LocalProgress,
        expected_tasks,
        failing_task,
        plain_text,
    )
    from pipelines.local_record import RunKeeper
    from pipelines.warm_runner import session as warm_session

    spec = json_format.MessageToDict(pipeline.pipeline_spec)
    view = LocalProgress(pipeline.name, expected_tasks(spec, arguments), LocalExecutionConfig.instance.pipeline_root,
                         verbose)
    keeper = RunKeeper(pipeline.name, spec, arguments, view)
    failure = result = None
    stopped = False
    try:
        # Ctrl-C first: the warm runner's fallback is the stock launch as local_interrupt wrapped it, and its forked
        # tasks are adopted by the same CtrlC.
        def say(line: str) -> None:
            view.console.print(line, highlight=False, markup=False)

        with print_kept(), view, keeper.watching(), warm_session(say, on_task=keeper.adopt_task):
            try:
                result = pipeline(**arguments)
            except RuntimeError as err:
                failure = plain_text(str(err))
    except KeyboardInterrupt:   # raised by the pipeline call itself (outside the main thread: no Ctrl-C handling)
        stopped = True
    if stopped or keeper.interrupted:
        report = keeper.finish("INTERRUPTED", None)
        view.console.print(f"[bold]interrupted;[/] the partial run's log: {view.log_path}", highlight=False)
        view.console.print(f"[bold]report:[/] {report}", highlight=False)
        raise KeyboardInterrupt
    if failure is not None:
        task = keeper.task_name(failing_task(failure) or view.progress.failed_task or "unknown")
        view.report_failure(failure, task)
        report = keeper.finish("FAILED", {"task": task, "error": failure, "log_tail": view.tail()})
        view.console.print(f"[bold]log:[/] {view.log_path}", highlight=False)
        raise UserError(f"the local run failed: task {task} failed",
                        f"read the failing task's log printed above (or the report {report}), fix the cause, and "
                        "run again")
    view.console.print(f"[bold]log:[/] {view.log_path}", highlight=False)
    return LocalOutcome(result, keeper.finish("SUCCEEDED", None, headline(result) if headline else None))


def run_wine_locally(arguments: WineArguments, pipeline_root: Path = DEFAULT_ROOT,
                     flavour: Flavour = LOCAL, verbose: bool = False) -> WineResult:
    """Run the wine pipeline; the LOCAL flavour uses the packages already in this venv (no per-task pip)."""
    init_local(pipeline_root)
    pipeline = build_wine_pipeline(components(flavour), parallelism=arguments.parallelism)
    outcome = run_pipeline(pipeline, arguments.pipeline_arguments(), verbose,
                           headline=lambda result: json.loads(Path(result.outputs["summary"].path).read_text()))
    outputs = outcome.outputs.outputs
    summary_path = Path(outputs["summary"].path)     # <run folder>/evaluate-model/summary
    return WineResult(summary=json.loads(summary_path.read_text()), model_path=outputs["best_model"].path,
                      run_folder=str(summary_path.parent.parent), report=str(outcome.report))


def run_quickstart_locally(arguments: dict, pipeline_root: Path = DEFAULT_ROOT,
                           verbose: bool = False) -> tuple[int, Path]:
    """Run the addition pipeline; returns its sum and the run's report."""
    init_local(pipeline_root)
    outcome = run_pipeline(build_quickstart_pipeline(LOCAL), arguments, verbose,
                           headline=lambda result: {"sum": int(result.output)})
    return int(outcome.outputs.output), outcome.report
