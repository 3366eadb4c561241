"""Both pipelines compiled (IR inspected) and run for real on kfp.local with real scikit-learn: one run each, shared.

Both runs hand data between tasks the way the KFP backend does (tests/support/backend.py: metadata through ML
Metadata's shapes, numbers as float64), so what passes here does not fail on a cluster for that reason."""
import contextlib
import io
import json
import re
from pathlib import Path

import joblib
import pytest
import yaml

from pipelines import cli
from pipelines.dag import END, README, START, mermaid_from_ir, readme_block, wine_ir
from tests.support.backend import hand_over_like_the_backend
from tests.support.runs import captured, run_one_failing_task


@pytest.fixture(scope="session")
def quickstart_run(tmp_path_factory):
    """THE quickstart run: target auto with no stack up, c left to its default."""
    folder = tmp_path_factory.mktemp("quickstart")
    with pytest.MonkeyPatch.context() as patch:
        hand_over_like_the_backend(patch)
        total, output = captured(cli.run_quickstart, patch, folder, a="1", b="2")
    return total, output


def test_quickstart_runs_locally_when_no_stack_is_up_and_uses_the_default_c(quickstart_run):
    total, output = quickstart_run
    assert total == 1 + 2 + 10
    assert "no stack is up: running on the embedded local runner (kfp.local)" in output
    assert "sum: 13" in output
    assert re.search(r"\] add-2 +SUCCEEDED$", output, re.M)


def test_wine_run_chooses_a_model_that_scores_high_on_held_out_data(wine_run):
    summary, output, _ = wine_run
    assert summary["test_accuracy"] >= 0.9
    assert summary["hyperparameters"]["n_neighbors"] in (5, 9)
    assert "running on the embedded local runner (kfp.local)" in output
    assert f"selected hyperparameters: {summary['hyperparameters']}" in output
    assert f"test accuracy: {summary['test_accuracy']:.3f}" in output


def test_the_best_model_keeps_its_own_name_and_flat_metadata(wine_run):
    """Under the backend's hand-over every candidate carries display_name "scored"; the best model must not."""
    _, output, _ = wine_run
    run_folder = Path(output.split("artifacts:")[1].split()[0])
    executor_output = json.loads((run_folder / "select-best" / "executor_output.json").read_text())
    metadata = executor_output["artifacts"]["best"]["artifacts"][0]["metadata"]
    assert set(metadata) == {"n_neighbors", "cv_accuracy", "cv_accuracy_std", "candidates"}
    assert all(isinstance(v, (int, float)) for v in metadata.values())


def test_wine_run_leaves_its_artifacts_where_it_says(wine_run):
    summary, output, folder = wine_run
    artifacts = output.split("artifacts:")[1].split()[0]
    run_folder = Path(artifacts)
    assert run_folder.is_dir() and run_folder.is_relative_to(folder / "local_outputs")
    assert json.loads((run_folder / "evaluate-model" / "summary").read_text()) == summary
    model = joblib.load(run_folder / "select-best" / "best")
    assert model.named_steps["kneighborsclassifier"].n_neighbors == summary["hyperparameters"]["n_neighbors"]
    assert len(list(run_folder.glob("*-iteration-*/train-candidate"))) == 2    # one per loop iteration


def test_wine_run_shows_each_step_and_the_loop_counts_and_keeps_kfp_locals_output_in_a_log(wine_run):
    _, output, _ = wine_run
    for step in ("load-data", "validate-data", "split-data", "select-best", "evaluate-model"):
        assert re.search(rf"\] {step} +SUCCEEDED$", output, re.M), step
    for step in ("train-candidate", "score-candidate"):
        assert re.search(rf"\] {step} +RUNNING \(0/2 done, 1 running\)$", output, re.M), step
        assert re.search(rf"\] {step} +SUCCEEDED \(2/2 done\)$", output, re.M), step
    assert "executor_input" not in output and len(output.splitlines()) < 40   # kfp.local's dumps stay in the log
    run_folder = Path(output.split("artifacts:")[1].split()[0])
    log = Path(output.split("log:")[1].split()[0])
    assert log == run_folder.parent / f"{run_folder.name}.log"
    text = log.read_text()
    assert text.count("Got executor_input:") == text.count("Wrote executor output file to") == 9   # every task
    assert "\x1b[" not in text


def test_compile_writes_the_ir_of_each_pipeline(tmp_path):
    with contextlib.redirect_stdout(io.StringIO()):
        written = cli.compile_all(tmp_path / "ir")
    assert sorted(p.name for p in written) == ["quickstart-addition.yaml", "wine-tuning.yaml"]
    quickstart = yaml.safe_load((tmp_path / "ir" / "quickstart-addition.yaml").read_text())
    params = quickstart["root"]["inputDefinitions"]["parameters"]
    assert params["c"] == {"defaultValue": 10.0, "isOptional": True, "parameterType": "NUMBER_INTEGER"}
    assert "isOptional" not in params["a"]
    assert len(quickstart["root"]["dag"]["tasks"]) == 2


@pytest.fixture(scope="module")
def ir() -> dict:
    return wine_ir()


def test_wine_loop_has_a_parallelism_limit_and_two_tasks_per_iteration(ir):
    loops = {n: t for n, t in ir["root"]["dag"]["tasks"].items() if "parameterIterator" in t}
    assert len(loops) == 1
    (name, loop), = loops.items()
    assert loop["iteratorPolicy"]["parallelismLimit"] == 3
    assert loop["parameterIterator"]["items"] == {"inputParameter": "pipelinechannel--neighbors"}
    inner = ir["components"][loop["componentRef"]["name"]]["dag"]["tasks"]
    assert set(inner) == {"train-candidate", "score-candidate"}
    assert inner["score-candidate"]["dependentTasks"] == ["train-candidate"]


def test_selection_is_a_separate_task_consuming_the_loops_collected_outputs(ir):
    tasks = ir["root"]["dag"]["tasks"]
    loop = next(n for n, t in tasks.items() if "parameterIterator" in t)
    source = tasks["select-best"]["inputs"]["artifacts"]["candidates"]["taskOutputArtifact"]
    assert source["producerTask"] == loop
    loop_outputs = ir["components"][tasks[loop]["componentRef"]["name"]]["dag"]["outputs"]["artifacts"]
    assert loop_outputs[source["outputArtifactKey"]]["artifactSelectors"] == [
        {"outputArtifactKey": "scored", "producerSubtask": "score-candidate"}]
    select_inputs = ir["components"]["comp-select-best"]["inputDefinitions"]["artifacts"]["candidates"]
    assert select_inputs["isArtifactList"] is True


def test_wine_pipeline_arguments_are_optional_with_defaults(ir):
    params = ir["root"]["inputDefinitions"]["parameters"]
    assert set(params) == {"neighbors", "test_size", "random_state", "folds", "min_class_fraction"}
    assert all(p["isOptional"] for p in params.values())


def test_parallelism_given_on_the_command_line_reaches_the_loop():
    from pipelines.wine.components import components
    from pipelines.wine.pipeline import build_wine_pipeline

    spec = build_wine_pipeline(components(), parallelism=5).pipeline_spec
    loop = next(t for t in spec.root.dag.tasks.values() if t.HasField("parameter_iterator"))
    assert loop.iterator_policy.parallelism_limit == 5


def test_final_evaluation_logs_metrics_and_a_confusion_matrix(ir):
    outputs = ir["components"]["comp-evaluate-model"]["outputDefinitions"]["artifacts"]
    assert outputs["metrics"]["artifactType"]["schemaTitle"] == "system.Metrics"
    assert outputs["confusion"]["artifactType"]["schemaTitle"] == "system.ClassificationMetrics"
    assert ir["root"]["outputDefinitions"]["artifacts"]["best_model"]["artifactType"]["schemaTitle"] == "system.Model"


def test_mermaid_draws_the_loop_as_a_subgraph_and_the_collected_edge(ir):
    mermaid = mermaid_from_ir(ir)
    assert mermaid.startswith("flowchart TD")
    assert 'subgraph for_loop_1["tune: ParallelFor, parallelism 3"]' in mermaid
    assert "for_loop_1_train_candidate --> for_loop_1_score_candidate" in mermaid
    assert "for_loop_1 -- Collected --> select_best" in mermaid
    assert "validate_data --> split_data" in mermaid and "split_data --> for_loop_1" in mermaid


def test_readme_shows_the_dag_exactly_as_generated_now(ir):
    text = README.read_text()
    assert START in text and END in text, "run `inv dag --readme`"
    assert readme_block(mermaid_from_ir(ir)) in text, "the README's DAG is stale: run `inv dag --readme`"
    section = text.split("<!-- section: pipelines -->")[1].split("<!-- /section: pipelines -->")[0]
    assert START in section


def refuse(n: int) -> int:
    """A component that always fails, as a task with a bug does."""
    raise ValueError(f"cannot handle {n}")


def test_a_failing_local_task_becomes_one_user_error(tmp_path):
    """A real (one-task) kfp.local run whose task raises: the runner's failure becomes a UserError with a fix."""
    error, shown, log = run_one_failing_task(refuse, tmp_path, "always-fails")
    assert "the local run failed" in error.problem and "refuse" in error.problem
    assert "log printed above" in error.fix and "\x1b[" not in error.problem
    assert "failed: refuse; the last" in shown and "ValueError: cannot handle 3" in shown
    assert "cannot handle 3" in log


class InterruptedPipeline:
    """Stands in for a pipeline whose kfp.local run the user stops with Ctrl-C: calling it raises KeyboardInterrupt,
    as SIGINT does in the calling thread. It carries the real quickstart's spec and name, which the view reads."""

    def __init__(self, real):
        self.pipeline_spec, self.name = real.pipeline_spec, real.name

    def __call__(self, **arguments):
        raise KeyboardInterrupt


def test_ctrl_c_on_a_local_run_says_where_its_log_is_and_still_stops(tmp_path):
    from pipelines.local_run import init_local, run_pipeline
    from pipelines.quickstart import quickstart_pipeline

    init_local(tmp_path)
    with contextlib.redirect_stdout(io.StringIO()) as output, pytest.raises(KeyboardInterrupt):
        run_pipeline(InterruptedPipeline(quickstart_pipeline), {"a": 1, "b": 2})
    log = Path(output.getvalue().split("interrupted; the partial run's log: ")[1].split()[0])
    assert log.parent == tmp_path and log.suffix == ".log" and log.is_file()
