"""The images' build contexts run for real, as their containers would, on this machine's Python (no Docker here):
the train context through KFP's own executor (the containerized component's command, run from the image's WORKDIR),
and the validation program on real wine data. The project's installed copy is hidden from these subprocesses, so a
file missing from a context fails the test exactly as it would fail in the image."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import joblib
import pytest

from pipelines.containerized.build import write_context
from pipelines.containerized.contexts import VALIDATE_SCRIPT
from pipelines.containerized.image_target import Target
from pipelines.containerized.plan import TRAIN_IMAGE, VALIDATE_IMAGE, build_plan
from pipelines.wine.logic import load_wine_frame, split_frame

OUTPUTS = {"registry": "localhost:5001", "cluster": {"engine": "kind", "name": "kfp", "context": "kind-kfp",
                                                      "arch": "amd64"}}
# Drop the editable install's import hook: only the context (cwd / PYTHONPATH) can provide `pipelines`.
HIDE_PROJECT = ("import runpy, sys; "
                "sys.meta_path[:] = [f for f in sys.meta_path if 'Editable' not in getattr(f, '__name__', '')]; ")
EXECUTOR = HIDE_PROJECT + ("sys.argv[0] = 'executor_main'; "
                           "runpy.run_module('kfp.dsl.executor_main', run_name='__main__')")


def _clean_env(**extra) -> dict:
    return {**{k: v for k, v in os.environ.items() if k != "PYTHONPATH"}, **extra}


@pytest.fixture(scope="module")
def contexts(tmp_path_factory) -> dict[str, Path]:
    folders = {}
    for image in build_plan(Target.from_outputs(OUTPUTS)):
        folders[image.name] = tmp_path_factory.mktemp(image.name)
        write_context(image, folders[image.name])
    return folders


@pytest.fixture(scope="module")
def wine_parquet(tmp_path_factory) -> Path:
    train, _ = split_frame(load_wine_frame(), 0.25, 42)
    path = tmp_path_factory.mktemp("data") / "train.parquet"
    train.to_parquet(path, index=False)
    return path


def _executor_input(data: Path, out: Path, n_neighbors: int) -> str:
    return json.dumps({
        "inputs": {"artifacts": {"train": {"artifacts": [{"name": "train", "type": {"schemaTitle": "system.Dataset"},
                                                          "uri": str(data), "metadata": {}}]}},
                   "parameterValues": {"n_neighbors": n_neighbors}},
        "outputs": {"artifacts": {"model": {"artifacts": [{"name": "model", "type": {"schemaTitle": "system.Model"},
                                                           "uri": str(out / "model"), "metadata": {}}]}},
                    "outputFile": str(out / "executor_output.json")},
    })


def _run_executor(cwd: Path, executor_input: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", EXECUTOR, "--executor_input", executor_input,
                           "--function_to_execute", "train_candidate"],
                          cwd=cwd, env=_clean_env(), capture_output=True, text=True, timeout=120)


def test_the_train_context_runs_the_training_step_through_kfps_executor(contexts, wine_parquet, tmp_path):
    result = _run_executor(contexts[TRAIN_IMAGE], _executor_input(wine_parquet, tmp_path, 5))
    assert result.returncode == 0, result.stderr[-2000:]
    model = joblib.load(tmp_path / "model")
    assert model.get_params()["kneighborsclassifier__n_neighbors"] == 5
    written = json.loads((tmp_path / "executor_output.json").read_text())
    assert written["artifacts"]["model"]["artifacts"][0]["metadata"] == {"n_neighbors": 5}


def test_without_the_context_the_executor_cannot_find_the_component(wine_parquet, tmp_path):
    """The check above has teeth: from an empty folder the project really is out of reach."""
    empty = tmp_path / "empty"
    empty.mkdir()
    result = _run_executor(empty, _executor_input(wine_parquet, tmp_path, 5))
    assert result.returncode != 0 and "kfp_config.ini" in result.stderr


def _validate(context: Path, data: Path, report: Path) -> subprocess.CompletedProcess:
    script = HIDE_PROJECT + f"runpy.run_path({str(context / VALIDATE_SCRIPT)!r}, run_name='__main__')"
    return subprocess.run([sys.executable, "-c", script, "--data", str(data), "--min-class-fraction", "0.2",
                           "--report", str(report)],
                          env=_clean_env(PYTHONPATH=str(context)), capture_output=True, text=True, timeout=120)


def test_the_validation_program_passes_good_data(contexts, wine_parquet, tmp_path):
    result = _validate(contexts[VALIDATE_IMAGE], wine_parquet, tmp_path / "out" / "report")
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads((tmp_path / "out" / "report").read_text())
    assert report["problems"] == [] and report["rows"] == 133
    assert set(report["class_fractions"]) == {"class_0", "class_1", "class_2"}


def test_the_validation_program_fails_the_task_on_bad_data(contexts, wine_parquet, tmp_path):
    import pandas as pd

    frame = pd.read_parquet(wine_parquet)
    frame.loc[:4, "alcohol"] = None
    broken = tmp_path / "broken.parquet"
    frame.to_parquet(broken, index=False)
    result = _validate(contexts[VALIDATE_IMAGE], broken, tmp_path / "report.json")
    assert result.returncode == 1
    assert "column 'alcohol' has 5 null value(s)" in result.stderr
    assert json.loads((tmp_path / "report.json").read_text())["problems"] == ["column 'alcohol' has 5 null value(s)"]
