"""The compiled IR of the containerized wine variant: both image-based components name images in the stack's
registry (`localhost:<registryPort>/...` from the outputs), and the DAG is the lightweight pipeline's, unchanged."""
from __future__ import annotations

import pytest
import yaml
from kfp import compiler

from pipelines.containerized.contexts import VALIDATE_COMMAND
from pipelines.containerized.image_target import Target
from pipelines.containerized.plan import TRAIN_IMAGE, VALIDATE_IMAGE, image_refs
from pipelines.containerized.variant import containerized_pipeline
from pipelines.packaging import BASE_IMAGE
from pipelines.wine.components import components
from pipelines.wine.pipeline import build_wine_pipeline

OUTPUTS = {"registry": "localhost:5123", "cluster": {"engine": "k3d", "name": "kfp", "context": "k3d-kfp",
                                                      "arch": "amd64"}}
PARALLELISM = 2


def _compile(pipeline, path) -> dict:
    compiler.Compiler().compile(pipeline, str(path))
    return yaml.safe_load(path.read_text())


@pytest.fixture(scope="module")
def irs(tmp_path_factory) -> tuple[dict, dict]:
    folder = tmp_path_factory.mktemp("ir")
    return (_compile(containerized_pipeline(OUTPUTS, PARALLELISM), folder / "containerized.yaml"),
            _compile(build_wine_pipeline(components(), PARALLELISM), folder / "lightweight.yaml"))


def _shape(ir: dict) -> dict:
    """Every DAG (root and the ParallelFor's) as task -> (component, upstream tasks), plus the loop's parallelism."""
    dags = {"root": ir["root"]["dag"], **{name: c["dag"] for name, c in ir["components"].items() if "dag" in c}}
    return {name: {task: (spec["componentRef"]["name"], sorted(spec.get("dependentTasks", [])),
                          spec.get("iteratorPolicy"))
                   for task, spec in dag["tasks"].items()} for name, dag in dags.items()}


def test_both_image_components_use_the_registry_images(irs):
    executors = irs[0]["deploymentSpec"]["executors"]
    refs = image_refs(Target.from_outputs(OUTPUTS))
    train, validate = executors["exec-train-candidate"]["container"], executors["exec-validate-data"]["container"]
    assert train["image"] == refs[TRAIN_IMAGE] and train["image"].startswith("localhost:5123/kfp-laptop/wine-train:")
    assert validate["image"] == refs[VALIDATE_IMAGE]
    assert validate["image"].startswith("localhost:5123/kfp-laptop/wine-validate:")
    # Containerized Python: KFP's executor inside the image, nothing pip-installed at run time.
    assert train["command"] == ["python3", "-m", "kfp.dsl.executor_main"]
    assert train["args"][-2:] == ["--function_to_execute", "train_candidate"]
    # Container component: the image's own program, wired to the task's artifacts and parameters.
    assert validate["command"] == VALIDATE_COMMAND
    assert validate["args"] == ["--data", "{{$.inputs.artifacts['data'].path}}",
                                "--min-class-fraction", "{{$.inputs.parameters['min_class_fraction']}}",
                                "--report", "{{$.outputs.artifacts['report'].path}}"]


def test_the_other_steps_stay_lightweight(irs):
    executors = irs[0]["deploymentSpec"]["executors"]
    others = {name: e["container"]["image"] for name, e in executors.items()
              if name not in ("exec-train-candidate", "exec-validate-data")}
    assert len(others) == 5 and set(others.values()) == {BASE_IMAGE}


def test_the_dag_is_the_lightweight_pipelines(irs):
    containerized, lightweight = irs
    assert _shape(containerized) == _shape(lightweight)
    loops = [policy for dag in _shape(containerized).values() for *_, policy in dag.values() if policy]
    assert loops == [{"parallelismLimit": PARALLELISM}]
