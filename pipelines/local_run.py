"""Run a pipeline on KFP's embedded runner (`kfp.local`): no cluster, tasks run as subprocesses of this venv."""
from __future__ import annotations

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


def run_pipeline(pipeline, arguments: dict, verbose: bool = False):
    """Run `pipeline` on kfp.local (after `init_local`), showing its progress and keeping its output in a log file
    beside the run folder (`verbose`: show that output too); a failed task becomes a UserError."""
    from google.protobuf import json_format
    from kfp.local.config import LocalExecutionConfig

    from pipelines.local_progress import LocalProgress, expected_tasks, plain_text

    expected = expected_tasks(json_format.MessageToDict(pipeline.pipeline_spec), arguments)
    view = LocalProgress(pipeline.name, expected, LocalExecutionConfig.instance.pipeline_root, verbose)
    failure = result = None
    try:
        with view:
            try:
                result = pipeline(**arguments)
            except RuntimeError as err:
                failure = plain_text(str(err))
    except KeyboardInterrupt:   # Ctrl-C: inside a ParallelFor, kfp.local first runs the loop's remaining iterations
        view.console.print(f"[bold]interrupted;[/] the partial run's log: {view.log_path}", highlight=False)
        raise
    if failure is not None:
        view.report_failure(failure)
    view.console.print(f"[bold]log:[/] {view.log_path}", highlight=False)
    if failure is not None:
        raise UserError(f"the local run failed: {failure}",
                        "read the failing task's log printed above, fix the cause, and run again")
    return result


def run_wine_locally(arguments: WineArguments, pipeline_root: Path = DEFAULT_ROOT,
                     flavour: Flavour = LOCAL, verbose: bool = False) -> WineResult:
    """Run the wine pipeline; the LOCAL flavour uses the packages already in this venv (no per-task pip)."""
    init_local(pipeline_root)
    pipeline = build_wine_pipeline(components(flavour), parallelism=arguments.parallelism)
    outputs = run_pipeline(pipeline, arguments.pipeline_arguments(), verbose).outputs
    summary_path = Path(outputs["summary"].path)     # <run folder>/evaluate-model/summary
    return WineResult(summary=json.loads(summary_path.read_text()), model_path=outputs["best_model"].path,
                      run_folder=str(summary_path.parent.parent))


def run_quickstart_locally(arguments: dict, pipeline_root: Path = DEFAULT_ROOT, verbose: bool = False) -> int:
    """Run the addition pipeline; returns its sum."""
    init_local(pipeline_root)
    return int(run_pipeline(build_quickstart_pipeline(LOCAL), arguments, verbose).output)
