"""End to end without a cluster: every compiled wine executor runs as a KFP 2.17 pod runs it.

Each task's container is started from the pinned base image with the IR's own command and args (pip-install the
pinned packages and `kfp --no-deps`, then `kfp.dsl.executor_main`), given an executor input shaped as KFP's driver
provisions it (`minio://` URIs, which the SDK reads and writes under `/minio`, a host folder here, as the launcher's
download and upload would). What the launcher does around it (MinIO transfer, MLMD) is not exercised.

Opt-in: `KFP_LAPTOP_E2E=1` on a machine with Docker and access to PyPI (each task installs its packages).
"""
import json
import subprocess

import pytest
import yaml

from tests.e2e.support import requires

pytestmark = requires("docker")

ROOT = "minio://mlpipeline/v2/artifacts/wine-tuning/e2e-run"


class Pod:
    """Runs one executor of the compiled IR in a fresh container of its image, as the pod's main container."""

    def __init__(self, ir: dict, minio_dir):
        self.ir, self.minio_dir, self.count = ir, minio_dir, 0

    def run(self, task: str, params: dict, inputs: dict) -> dict:
        """Run `task`; returns its output artifacts (uri, metadata) by name."""
        self.count += 1
        component = self.ir["components"][f"comp-{task}"]
        outputs = {name: {"artifacts": [{"name": name, "type": spec["artifactType"],
                                         "uri": f"{ROOT}/{task}/{self.count}/{name}", "metadata": {}}]}
                   for name, spec in component.get("outputDefinitions", {}).get("artifacts", {}).items()}
        output_file = f"/minio/executor-output/{task}-{self.count}.json"
        executor_input = {"inputs": {"parameterValues": params,
                                     "artifacts": {k: {"artifacts": v} for k, v in inputs.items()}},
                          "outputs": {"artifacts": outputs, "outputFile": output_file}}
        container = self.ir["deploymentSpec"]["executors"][f"exec-{task}"]["container"]
        args = [a.replace("{{$}}", json.dumps(executor_input)) for a in container["args"]]
        done = subprocess.run(["docker", "run", "--rm", "-v", f"{self.minio_dir}:/minio", container["image"],
                               *container["command"], *args], capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, f"{task} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
        written = json.loads((self.minio_dir / output_file.removeprefix("/minio/")).read_text())
        return {name: {**spec["artifacts"][0], "metadata": written["artifacts"][name]["artifacts"][0]["metadata"]}
                for name, spec in outputs.items()}


def test_the_wine_executors_run_in_their_image(tmp_path):
    from kfp import compiler

    from pipelines.wine.pipeline import wine_pipeline

    compiler.Compiler().compile(wine_pipeline, str(tmp_path / "wine.yaml"))
    pod = Pod(yaml.safe_load((tmp_path / "wine.yaml").read_text()), tmp_path / "minio")
    (tmp_path / "minio" / "executor-output").mkdir(parents=True)
    data = pod.run("load-data", {}, {})["data"]
    pod.run("validate-data", {"min_class_fraction": 0.2}, {"data": [data]})
    split = pod.run("split-data", {"test_size": 0.25, "random_state": 42}, {"data": [data]})
    scored = []
    for k in (3, 7):
        model = pod.run("train-candidate", {"n_neighbors": k}, {"train": [split["train"]]})["model"]
        scored.append(pod.run("score-candidate", {"folds": 5},
                              {"model": [model], "train": [split["train"]]})["scored"])
    best = pod.run("select-best", {}, {"candidates": scored})["best"]
    assert best["metadata"]["candidates"] == 2
    summary = pod.run("evaluate-model", {}, {"model": [best], "test": [split["test"]]})["summary"]
    result = json.loads((tmp_path / summary["uri"].replace("minio://", "minio/", 1)).read_text())
    assert result["hyperparameters"]["n_neighbors"] in (3, 7) and result["test_accuracy"] >= 0.9


@pytest.fixture(autouse=True)
def _image_is_pullable():
    """Pull once up front, so a registry problem reads as one clear failure."""
    from pipelines.packaging import BASE_IMAGE

    done = subprocess.run(["docker", "pull", "-q", BASE_IMAGE], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"docker cannot pull {BASE_IMAGE}: {done.stderr.strip()}"
