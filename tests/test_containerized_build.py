"""`inv build-components` and `inv run-wine --containerized` end to end on this machine, against the HTTP stand-in
registry on 127.0.0.1. There is no Docker engine here: where a test needs builds to happen, `docker_cli.run` is replaced
by a recorder that also stores the pushed tag in the stand-in (what a real push does); the docker *checks* run the real
CLI where it is installed. Stack outputs are injected by replacing `laptop.stack.stack_outputs` (no Pulumi here)."""
from __future__ import annotations

import shutil

import pytest
import yaml
from kfp import compiler

import laptop.stack
import pipelines.cli
import pipelines.cluster_run
import pipelines.local_run
from kfp_laptop.errors import UserError
from pipelines.containerized import docker_cli
from pipelines.containerized.build import BUILT, SKIPPED, build_and_push
from pipelines.containerized.image_target import Target
from pipelines.containerized.plan import TRAIN_IMAGE, VALIDATE_IMAGE, image_refs
from pipelines.containerized.variant import LOCAL_NOTE

SECRET = "not-a-real-secret"


def _outputs(port: int) -> dict:
    return {"kfp_endpoint": "http://127.0.0.1:8080", "kfp_version": "2.17.0", "minio_endpoint": "http://127.0.0.1:9000",
            "minio_console": "http://127.0.0.1:9001", "minio_access_key": SECRET, "minio_secret_key": SECRET,
            "pipeline_root": "minio://mlpipeline/v2/artifacts", "registry": f"localhost:{port}",
            "cluster": {"engine": "kind", "name": "kfp", "context": "kind-kfp", "arch": "arm64"}, "kubeconfig": SECRET}


@pytest.fixture
def stack(registry, monkeypatch):
    outputs = _outputs(registry.server.port)
    monkeypatch.setattr(laptop.stack, "stack_outputs", lambda stack=None: outputs)
    return outputs


@pytest.fixture
def docker(registry, monkeypatch):
    """Docker stand-in: the engine 'answers' (with buildx) and each `docker push` lands the tag in the stand-in."""
    commands = []

    def run(argv):
        commands.append(argv)
        if argv[:2] == ["docker", "push"]:
            registry.stored.add(argv[2].split("/", 1)[1])

    monkeypatch.setattr(docker_cli, "require_docker", lambda: True)
    monkeypatch.setattr(docker_cli, "run", run)
    return commands


def test_build_pushes_missing_images_once_then_skips_them(stack, docker, capsys):
    refs = image_refs(Target.from_outputs(stack))
    first = build_and_push()
    assert [(o.image.name, o.action) for o in first] == [(TRAIN_IMAGE, BUILT), (VALIDATE_IMAGE, BUILT)]
    assert [argv[:-1] for argv in docker[::2]] == [
        ["docker", "buildx", "build", "--platform", "linux/arm64", "--provenance=false", "--load", "--tag", refs[name]]
        for name in (TRAIN_IMAGE, VALIDATE_IMAGE)]
    assert docker[1::2] == [["docker", "push", refs[name]] for name in (TRAIN_IMAGE, VALIDATE_IMAGE)]
    again = build_and_push()
    assert [o.action for o in again] == [SKIPPED, SKIPPED] and len(docker) == 4
    printed = capsys.readouterr().out
    assert printed.count("building ") == 2 and "built and pushed" in printed and "skipped" in printed


def test_without_buildx_it_builds_then_pushes(tmp_path):
    assert docker_cli.build_commands("localhost:1/a:b", "linux/amd64", tmp_path, buildx=False) == [
        ["docker", "build", "--platform", "linux/amd64", "--tag", "localhost:1/a:b", str(tmp_path)],
        ["docker", "push", "localhost:1/a:b"]]


def test_missing_docker_is_a_user_error_before_anything_is_sent(stack, registry, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))   # a PATH with no docker on it
    with pytest.raises(UserError, match="`docker` is not installed") as err:
        build_and_push()
    assert "Docker Desktop" in err.value.fix and registry.requests == []


def test_a_docker_daemon_that_does_not_answer_is_a_user_error(monkeypatch, tmp_path):
    """Runs the real docker CLI against a socket nobody listens on."""
    if not shutil.which("docker"):
        pytest.skip("the docker CLI is not installed on this machine")
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/nobody.sock")
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)
    with pytest.raises(UserError, match="not running"):
        docker_cli.require_docker()


def test_a_stack_that_is_down_is_a_user_error(monkeypatch):
    def no_stack(stack=None):
        raise UserError("there is no stack `me-laptop` on this laptop", "run `inv up` first (or pass --stack NAME)")

    monkeypatch.setattr(laptop.stack, "stack_outputs", no_stack)
    with pytest.raises(UserError, match="no stack"):
        build_and_push()


@pytest.fixture
def submitted(monkeypatch):
    """Cluster submission replaced (no KFP here): records the pipeline `run_wine` would submit."""
    pipelines_seen = []

    def run_on_cluster(endpoints, pipeline, arguments, experiment):
        pipelines_seen.append(pipeline)
        return {"run_id": "run-1", "state": "SUCCEEDED"}

    monkeypatch.setattr(pipelines.cli, "_run_on_cluster", run_on_cluster)
    monkeypatch.setattr(pipelines.cluster_run, "read_summary", lambda *args, **kwargs: None)
    return pipelines_seen


def test_run_wine_containerized_submits_the_registry_images(stack, docker, submitted, tmp_path):
    build_and_push()
    pipelines.cli.run_wine(target="cluster", containerized=True, parallelism=2)
    path = tmp_path / "submitted.yaml"
    compiler.Compiler().compile(submitted[0], str(path))
    images = {e["container"]["image"] for e in yaml.safe_load(path.read_text())["deploymentSpec"]["executors"].values()}
    assert set(image_refs(Target.from_outputs(stack)).values()) <= images


def test_run_wine_containerized_asks_for_build_components_first(stack, submitted):
    with pytest.raises(UserError, match="not in the stack's registry") as err:
        pipelines.cli.run_wine(target="cluster", containerized=True)
    assert "inv build-components" in err.value.fix and submitted == []


def test_run_wine_containerized_locally_runs_the_lightweight_twins(monkeypatch, tmp_path, capsys):
    """A real kfp.local run (one candidate, to stay quick): with no stack the variant's logic runs lightweight."""
    monkeypatch.chdir(tmp_path)
    summary = pipelines.cli.run_wine(local=True, containerized=True, neighbors="5", parallelism="1")
    assert summary["hyperparameters"] == {"n_neighbors": 5} and summary["test_accuracy"] >= 0.9
    assert LOCAL_NOTE in capsys.readouterr().out.replace("\n", " ")
    assert list((tmp_path / "local_outputs").glob("wine-tuning-*/evaluate-model/summary"))
