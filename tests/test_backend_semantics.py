"""Where the KFP backend hands data over differently from kfp.local, and why the pipelines still work: each
difference (tests/support/backend.py, docs/backend-differences.md) checked on the code that meets it."""
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kfp.dsl import Artifact, ClassificationMetrics, Dataset, Metrics, Model

from kfp_laptop.errors import UserError
from pipelines import quickstart
from pipelines.arguments import quickstart_arguments
from pipelines.packaging import PINNED_PACKAGES
from pipelines.wine import components as wine_components
from pipelines.wine import logic
from tests.support.backend import BackendRefused, float64_parameter, mlmd_metadata, mlmd_value

json_scalars = st.none() | st.booleans() | st.integers(-2**60, 2**60) | st.floats(allow_nan=False) | st.text(max_size=5)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=3) |
                           st.dictionaries(st.text(max_size=3), inner, max_size=3), max_leaves=6)


@given(json_values)
def test_the_backend_wraps_every_dict_and_list_and_turns_bools_into_numbers(value):
    """converter.go StructValueToMLMDValue: what a task wrote is not what the next task reads, except strings."""
    try:
        seen = mlmd_value(value)
    except BackendRefused:
        assert value is None
        return
    if isinstance(value, dict):
        assert set(seen) == {"struct"}
    elif isinstance(value, list):
        assert set(seen) == {"list"}
    elif isinstance(value, (bool, int, float)):
        assert isinstance(seen, float) and seen == float(value)
    else:
        assert seen == value


def test_the_old_nested_hyperparameters_would_not_survive_the_backend():
    """The shape the wine pipeline used to write: select-best read ["hyperparameters"]["n_neighbors"] and met
    {"struct": ...} instead (KeyError 'n_neighbors' on every cluster run)."""
    seen = mlmd_metadata({"hyperparameters": {"n_neighbors": 5}}, "scored")
    assert seen["hyperparameters"] == {"struct": {"n_neighbors": 5.0}}
    with pytest.raises(KeyError):
        seen["hyperparameters"]["n_neighbors"]


@given(k=st.integers(1, 500), mean=st.floats(0, 1), std=st.floats(0, 1), as_float=st.booleans())
def test_model_metadata_reads_the_same_whichever_runner_handed_it_over(k, mean, std, as_float):
    """kfp.local hands metadata over as written (loop items even as floats); the backend as MLMD stores it."""
    written = {"n_neighbors": float(k) if as_float else k, "cv_accuracy": mean, "cv_accuracy_std": std}
    expected = {"n_neighbors": k, "cv_accuracy": mean, "cv_accuracy_std": std}
    assert logic.model_metadata(written) == expected
    assert logic.model_metadata(mlmd_metadata(written, "scored")) == expected


def _artifact(kind, folder: Path, name: str):
    return kind(name=name, uri=str(folder / name), metadata={})


def _handed_over(artifact, output_name):
    """The artifact as the next task receives it from the backend."""
    artifact.metadata = mlmd_metadata(dict(artifact.metadata), output_name)
    return artifact


def test_wine_selects_and_evaluates_with_metadata_handed_over_the_backends_way(tmp_path):
    """Each step's own function, every artifact passed on as the backend would: the chain still selects and
    evaluates, and the best model carries no candidate's display_name."""
    data = _handed_over(_artifact(Dataset, tmp_path, "data"), "data")
    wine_components.load_data(data=data)
    data = _handed_over(data, "data")
    train, test = _artifact(Dataset, tmp_path, "train"), _artifact(Dataset, tmp_path, "test")
    wine_components.split_data(data=data, test_size=0.25, random_state=42, train=train, test=test)
    scored = []
    for k in (3.0, 9):   # a loop item of a list of ints comes as a float from kfp.local, as an int from the backend
        model = _artifact(Model, tmp_path, f"model-{k}")
        wine_components.train_candidate(train=_handed_over(train, "train"), n_neighbors=k, model=model)
        out = _artifact(Model, tmp_path, f"scored-{k}")
        wine_components.score_candidate(model=_handed_over(model, "model"), train=train, folds=5, scored=out,
                                        metrics=_artifact(Metrics, tmp_path, f"metrics-{k}"))
        scored.append(_handed_over(out, "scored"))
    assert all(c.metadata["display_name"] == "scored" for c in scored)
    best = _artifact(Model, tmp_path, "best")
    wine_components.select_best(candidates=scored, best=best)
    assert "display_name" not in best.metadata and "store_session_info" not in best.metadata
    summary = _artifact(Artifact, tmp_path, "summary")
    wine_components.evaluate_model(model=_handed_over(best, "best"), test=_handed_over(test, "test"),
                                   metrics=_artifact(Metrics, tmp_path, "m"),
                                   confusion=_artifact(ClassificationMetrics, tmp_path, "cm"), summary=summary)
    report = json.loads(Path(summary.path).read_text())
    chosen = report["hyperparameters"]["n_neighbors"]
    assert chosen in (3, 9) and isinstance(chosen, int)
    assert report["test_accuracy"] >= 0.9


def _tasks(pipeline) -> dict:
    return pipeline.pipeline_spec.root.dag.tasks


def test_quickstart_tasks_never_come_from_the_cache_and_install_only_kfp():
    """A cache hit runs no executor pod, so no log would hold the sum; `add` needs only the standard library."""
    tasks = _tasks(quickstart.quickstart_pipeline)
    assert set(tasks) == {"add", "add-2"}
    assert all(not task.caching_options.enable_cache for task in tasks.values())
    for executor in quickstart.quickstart_pipeline.pipeline_spec.deployment_spec["executors"].values():
        command = " ".join(executor["container"]["command"])
        assert "'kfp==" in command
        assert not any(package.split("==")[0] in command for package in PINNED_PACKAGES)


def test_an_optional_input_has_its_default_in_the_ir_for_the_backend_to_fill():
    """The backend's driver fills an input that was not passed from the IR's defaultValue (a float64 number)."""
    spec = quickstart.quickstart_pipeline.pipeline_spec.root.input_definitions.parameters["c"]
    assert spec.is_optional and spec.default_value.number_value == quickstart.DEFAULT_C


@settings(max_examples=300, deadline=None)
@given(a=st.integers(-2**60, 2**60), b=st.integers(-2**60, 2**60), c=st.none() | st.integers(-2**60, 2**60),
       spelled=st.booleans())
def test_quickstart_sums_are_exact_for_every_integer_it_accepts(a, b, c, spelled):
    """KFP carries every number as a float64: whatever the quickstart accepts adds up exactly after each hand-over
    (arguments, the first sum, the result); the rest is refused with one message naming the limit."""
    given_args = {"a": str(a) if spelled else a, "b": str(b) if spelled else b,
                  "c": None if c is None else (str(c) if spelled else c)}
    try:
        values = quickstart_arguments(**given_args)
    except UserError as err:
        assert "2**53" in err.problem
        steps = (a, b, c or 0, a + b, a + b + (quickstart.DEFAULT_C if c is None else c))
        assert any(abs(v) > quickstart.EXACT_LIMIT for v in steps)
        return
    handed = {name: float64_parameter(value) for name, value in values.items()}
    first = float64_parameter(quickstart.add(handed["a"], handed["b"]))
    total = float64_parameter(quickstart.add(first, float64_parameter(handed.get("c", quickstart.DEFAULT_C))))
    assert total == a + b + (quickstart.DEFAULT_C if c is None else c)


@given(st.text(max_size=8))
def test_quickstart_arguments_take_only_ascii_integers(text):
    try:
        values = quickstart_arguments(a=text)
    except UserError as err:
        assert err.problem.startswith(("-a must be an integer, got", "-a is", "a + b"))
        return
    assert text.strip(" ").lstrip("+-").isascii() and values["a"] == int(text)


def test_a_local_quickstart_with_large_exact_sums_runs_under_the_backend_hand_over(backend_faithful, tmp_path,
                                                                                   monkeypatch):
    """The shared fixture in use: kfp.local passing every number as the backend's float64 would."""
    from pipelines.local_run import run_quickstart_locally

    monkeypatch.chdir(tmp_path)
    arguments = quickstart_arguments(a=str(2**52), b=str(2**51))
    total, report = run_quickstart_locally(arguments, pipeline_root=tmp_path / "runs")
    assert total == 2**52 + 2**51 + quickstart.DEFAULT_C and report.is_file()
