"""The wine components' logic as plain Python (no pipeline, no runner), their artifact wrappers, and their packaging."""
import json
import re
import tomllib
from pathlib import Path

import joblib
import pandas as pd
import pytest
from kfp.dsl import Artifact, ClassificationMetrics, Dataset, Metrics, Model

from pipelines import packaging, quickstart
from pipelines.wine import components as wine_components
from pipelines.wine import logic

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wine() -> pd.DataFrame:
    return logic.load_wine_frame()


@pytest.fixture(scope="module")
def halves(wine):
    return logic.split_frame(wine, 0.25, 42)


def test_wine_data_is_bundled_and_shaped_as_expected(wine):
    assert wine.shape == (178, 14)
    assert sorted(wine["target"].unique()) == [0, 1, 2]


def test_valid_wine_data_has_no_problems(wine):
    assert logic.validation_problems(wine, 0.2) == []


@pytest.mark.parametrize("damage, expected", [
    (lambda f: f.drop(columns=["target"]), "no 'target' column"),
    (lambda f: f.assign(alcohol=f["alcohol"].where(f.index > 2)), "column 'alcohol' has 3 null value(s)"),
    (lambda f: f.assign(alcohol="strong"), "column 'alcohol' is"),
    (lambda f: f.assign(target=f["target"].astype(float)), "'target' is float64, not integer"),
    (lambda f: f.assign(target=0), "1 class(es); at least 2 are needed"),
    (lambda f: f[(f["target"] != 2) | (f.index < 160)], "class 2 is"),
])
def test_validation_names_each_problem(wine, damage, expected):
    problems = logic.validation_problems(damage(wine.copy()), 0.2)
    assert any(expected in p for p in problems), problems


def test_split_is_stratified_and_sized(wine, halves):
    train, test = halves
    assert (len(train), len(test)) == (133, 45)
    assert logic.class_fractions(test) == pytest.approx(logic.class_fractions(wine), abs=0.02)


def test_split_depends_only_on_the_seed(wine):
    first, again, other = (logic.split_frame(wine, 0.25, seed)[1].index.tolist() for seed in (1, 1, 2))
    assert first == again != other


def test_a_scaled_knn_cross_validates_well_on_wine(halves):
    model = logic.fit_candidate(halves[0], 5.0)   # a float, as kfp.local hands loop items over
    assert model.named_steps["kneighborsclassifier"].n_neighbors == 5
    mean, std = logic.cross_validated_accuracy(model, halves[0], 5)
    assert mean > 0.9 and 0 <= std < 0.1


def test_a_candidate_that_cannot_work_fails_loudly(halves):
    """k larger than a cross-validation training fold: an error naming n_neighbors, never a silent NaN score."""
    with pytest.raises(ValueError, match="n_neighbors"):
        logic.cross_validated_accuracy(logic.fit_candidate(halves[0], 500), halves[0], 5)


def _candidate(k, mean, std):
    return {"n_neighbors": k, "cv_accuracy": mean, "cv_accuracy_std": std}


def test_pick_best_prefers_accuracy_then_steadiness_then_smaller_k():
    assert logic.pick_best([_candidate(3, 0.90, 0.01), _candidate(5, 0.95, 0.05), _candidate(7, 0.93, 0.0)]) == 1
    assert logic.pick_best([_candidate(3, 0.95, 0.04), _candidate(5, 0.95, 0.02)]) == 1
    assert logic.pick_best([_candidate(9.0, 0.95, 0.02), _candidate(5.0, 0.95, 0.02)]) == 1


def test_pick_best_refuses_an_empty_list():
    with pytest.raises(ValueError, match="no candidates"):
        logic.pick_best([])


def test_evaluation_reports_accuracy_f1_and_a_full_confusion_matrix(halves):
    train, test = halves
    result = logic.evaluation(logic.fit_candidate(train, 5), test)
    assert result["accuracy"] >= 0.9 and result["f1_macro"] >= 0.9
    assert result["labels"] == ["class_0", "class_1", "class_2"]
    matrix = result["confusion_matrix"]
    assert len(matrix) == 3 and sum(map(sum, matrix)) == len(test)
    assert sum(matrix[i][i] for i in range(3)) / len(test) == pytest.approx(result["accuracy"])


def test_model_metadata_carries_only_the_models_own_keys_as_flat_numbers():
    """What the backend adds to a candidate's metadata (display_name, store_session_info) is never carried on, and
    whole numbers that come back as floats are ints again."""
    backend_view = {"n_neighbors": 7.0, "cv_accuracy": 0.9, "cv_accuracy_std": 0.01, "display_name": "scored",
                    "store_session_info": "{}"}
    assert logic.model_metadata(backend_view) == {"n_neighbors": 7, "cv_accuracy": 0.9, "cv_accuracy_std": 0.01}
    assert logic.hyperparameters(backend_view) == {"n_neighbors": 7}


def _artifact(kind, tmp_path, name):
    return kind(name=name, uri=str(tmp_path / name), metadata={})


def test_component_wrappers_hand_parquet_and_models_along(tmp_path):
    """Each component's own function, called directly with artifacts in a folder: the whole chain, no runner."""
    data = _artifact(Dataset, tmp_path, "data")
    wine_components.load_data(data=data)
    assert pd.read_parquet(data.path).shape == (178, 14) and data.metadata["format"] == "parquet"
    report = _artifact(Metrics, tmp_path, "report")
    wine_components.validate_data(data=data, min_class_fraction=0.2, report=report)
    assert report.metadata["rows"] == 178
    train, test = _artifact(Dataset, tmp_path, "train"), _artifact(Dataset, tmp_path, "test")
    wine_components.split_data(data=data, test_size=0.25, random_state=42, train=train, test=test)
    assert (train.metadata["rows"], test.metadata["rows"]) == (133, 45)
    scored = []
    for k in (1, 7):
        model = _artifact(Model, tmp_path, f"model-{k}")
        wine_components.train_candidate(train=train, n_neighbors=k, model=model)
        out, metrics = _artifact(Model, tmp_path, f"scored-{k}"), _artifact(Metrics, tmp_path, f"metrics-{k}")
        wine_components.score_candidate(model=model, train=train, folds=5, scored=out, metrics=metrics)
        assert out.metadata["n_neighbors"] == k
        assert metrics.metadata["cv_accuracy"] == out.metadata["cv_accuracy"]
        scored.append(out)
    best = _artifact(Model, tmp_path, "best")
    wine_components.select_best(candidates=scored, best=best)
    winner = max(scored, key=lambda m: m.metadata["cv_accuracy"])
    assert best.metadata["n_neighbors"] == winner.metadata["n_neighbors"] and best.metadata["candidates"] == 2
    assert joblib.load(best.path).predict(pd.read_parquet(test.path).drop(columns=["target"])).shape == (45,)
    metrics, confusion = _artifact(Metrics, tmp_path, "metrics"), _artifact(ClassificationMetrics, tmp_path, "cm")
    summary = _artifact(Artifact, tmp_path, "summary")
    wine_components.evaluate_model(model=best, test=test, metrics=metrics, confusion=confusion, summary=summary)
    assert metrics.metadata["accuracy"] >= 0.9 and "f1_macro" in metrics.metadata
    assert len(confusion.metadata["confusionMatrix"]["rows"]) == 3
    assert json.loads(Path(summary.path).read_text())["test_accuracy"] == metrics.metadata["accuracy"]


def test_validate_component_fails_on_bad_data(tmp_path):
    data = _artifact(Dataset, tmp_path, "data")
    logic.load_wine_frame().assign(alcohol=None).to_parquet(data.path)
    with pytest.raises(ValueError, match="failed validation: column 'alcohol'"):
        wine_components.validate_data(data=data, min_class_fraction=0.2, report=_artifact(Metrics, tmp_path, "r"))


def test_quickstart_addition_accepts_floats_as_kfp_local_sends_them():
    assert quickstart.add(2.0, 3) == 5


def _pyproject_pins() -> dict:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    return dict(dep.split("==") for dep in deps)


def test_component_packages_are_exactly_the_project_pins():
    pins = _pyproject_pins()
    for requirement in packaging.PINNED_PACKAGES:
        name, version = requirement.split("==")
        assert pins[name] == version, f"{requirement} differs from pyproject.toml's {name}=={pins.get(name)}"


def test_base_image_is_an_exact_python_tag():
    assert re.fullmatch(r"python:3\.11\.\d+-slim-[a-z]+", packaging.BASE_IMAGE)


def _container(component):
    return component.component_spec.implementation.container


def test_cluster_components_install_their_pins_and_local_ones_install_nothing():
    cluster, local = wine_components.components(packaging.CLUSTER), wine_components.components(packaging.LOCAL)
    for name in ("load", "train", "evaluate"):
        assert _container(getattr(cluster, name)).image == packaging.BASE_IMAGE
        command = " ".join(_container(getattr(cluster, name)).command)
        assert all(f"'{p}'" in command for p in packaging.PINNED_PACKAGES)
        assert f"'kfp=={_pyproject_pins()['kfp']}'" in command
        assert "pip install" not in " ".join(_container(getattr(local, name)).command)


def test_components_ship_the_logic_helpers_in_their_source():
    source = _container(wine_components.components().score).command[-1]
    assert "def cross_validated_accuracy(" in source and "def score_candidate(" in source
    compile(source, "ephemeral_component.py", "exec")


def test_quickstart_add_logs_its_sum_and_the_last_logged_sum_is_the_result(capsys):
    from pipelines.quickstart import add, logged_sum

    assert add(2.0, 3) == 5          # kfp.local may hand numbers over as floats
    assert capsys.readouterr().out == "sum: 5\n"
    assert logged_sum("sum: 5\n[KFP Executor] wrote output\nsum: -12\n") == -12
    assert logged_sum("no sum here; checksum: 7") is None
