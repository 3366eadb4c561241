"""Run a pipeline on KFP's embedded runner (`kfp.local`): no cluster, tasks run as subprocesses of this venv."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from laptop.errors import UserError
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
    root.mkdir(parents=True, exist_ok=True)
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(root), raise_on_error=True)


def run_pipeline(pipeline, arguments: dict):
    """Run `pipeline` on kfp.local (after `init_local`); a failed task becomes a UserError."""
    try:
        return pipeline(**arguments)
    except RuntimeError as err:
        raise UserError(f"the local run failed: {err}",
                        "read the failing task's log printed above, fix the cause, and run again") from None


def run_wine_locally(arguments: WineArguments, pipeline_root: Path = DEFAULT_ROOT,
                     flavour: Flavour = LOCAL) -> WineResult:
    """Run the wine pipeline; the LOCAL flavour uses the packages already in this venv (no per-task pip)."""
    init_local(pipeline_root)
    pipeline = build_wine_pipeline(components(flavour), parallelism=arguments.parallelism)
    outputs = run_pipeline(pipeline, arguments.pipeline_arguments()).outputs
    summary_path = Path(outputs["summary"].path)     # <run folder>/evaluate-model/summary
    return WineResult(summary=json.loads(summary_path.read_text()), model_path=outputs["best_model"].path,
                      run_folder=str(summary_path.parent.parent))


def run_quickstart_locally(arguments: dict, pipeline_root: Path = DEFAULT_ROOT) -> int:
    """Run the addition pipeline; returns its sum."""
    init_local(pipeline_root)
    return int(run_pipeline(build_quickstart_pipeline(LOCAL), arguments).output)
