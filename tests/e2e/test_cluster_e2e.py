"""End to end on a real machine (Docker, kind and/or k3d, kubectl, Pulumi CLI), for each engine installed: `inv up`,
a wine run on the cluster, an image pushed to the local registry and run in a pod, then `inv down` + `inv up`: the
run and its artifacts survive.

Opt-in: `KFP_LAPTOP_E2E=1 python -m pytest tests/e2e/test_cluster_e2e.py` (or `inv test --e2e`). Each engine uses
its own stack, cluster name and ports, so it never touches the laptop's own stack; it purges what it made at the end.
"""
from __future__ import annotations

import shutil
import socket
import subprocess
import time
import uuid

import pytest

from tests.e2e.support import why_skipped

pytestmark = pytest.mark.e2e
ENGINES = [engine for engine in ("kind", "k3d") if shutil.which(engine)]
_reason = why_skipped("docker", "kubectl", "pulumi") or (None if ENGINES else
                                                         "end-to-end test needs kind or k3d on PATH")
if _reason:
    pytest.skip(_reason, allow_module_level=True)

HOST = socket.gethostname().split(".")[0].lower()[:20]
# Each engine gets its own stack, cluster and ports, so neither touches the laptop's own stack.
SETTINGS = {
    "kind": {"clusterName": "kfp-e2e-kind", "kfpPort": "18080", "minioPort": "19000", "minioConsolePort": "19001",
             "registryPort": "15001"},
    "k3d": {"clusterName": "kfp-e2e-k3d", "kfpPort": "28080", "minioPort": "29000", "minioConsolePort": "29001",
            "registryPort": "25001"},
}


def _stack_name(engine: str) -> str:
    from laptop.host import sanitize_stack_name

    return sanitize_stack_name(f"e2e-{engine}-{HOST}")


def _configure_stack(engine: str) -> None:
    import pulumi.automation as auto

    from infra.config import PROJECT, PROJECT_ROOT
    from laptop.passphrase import passphrase_env

    stack = auto.create_or_select_stack(_stack_name(engine), work_dir=str(PROJECT_ROOT),
                                        opts=auto.LocalWorkspaceOptions(env_vars=passphrase_env(create=True),
                                                                        secrets_provider="passphrase"))
    for key, value in {"engine": engine, **SETTINGS[engine]}.items():
        stack.set_config(f"{PROJECT}:{key}", auto.ConfigValue(value=value))


@pytest.fixture(scope="module", params=ENGINES)
def stack_up(request):
    from laptop import stack

    engine = request.param
    _configure_stack(engine)
    outputs = stack.up(stack=_stack_name(engine), yes=True)
    yield outputs
    stack.down(stack=_stack_name(engine), purge=True, yes=True)


def _runs(outputs: dict) -> dict[str, str]:
    import kfp

    client = kfp.Client(host=outputs["kfp_endpoint"])
    return {run.run_id: run.state for run in client.list_runs(page_size=100).runs or []}


def _artifact_keys(outputs: dict, run_id: str) -> list[str]:
    from urllib.parse import urlsplit

    from minio import Minio

    store = Minio(urlsplit(outputs["minio_endpoint"]).netloc, access_key=outputs["minio_access_key"],
                  secret_key=outputs["minio_secret_key"], secure=False)
    return [o.object_name for o in store.list_objects("mlpipeline", prefix="v2/artifacts/", recursive=True)
            if run_id in o.object_name]


def test_up_gives_every_contract_output(stack_up):
    engine = stack_up["cluster"]["engine"]
    assert stack_up["kfp_endpoint"] == f"http://127.0.0.1:{SETTINGS[engine]['kfpPort']}"
    assert stack_up["registry"] == f"localhost:{SETTINGS[engine]['registryPort']}"
    assert stack_up["cluster"]["context"] == f"{engine}-{SETTINGS[engine]['clusterName']}"


def test_pushed_image_runs_in_a_pod(stack_up, tmp_path):
    image = f"{stack_up['registry']}/e2e-hello:{uuid.uuid4().hex[:8]}"
    (tmp_path / "Dockerfile").write_text('FROM busybox:1.36.1\nCMD ["echo", "hello from the local registry"]\n')
    subprocess.run(["docker", "build", "-t", image, str(tmp_path)], check=True)
    subprocess.run(["docker", "push", image], check=True)
    kubectl = ["kubectl", "--context", stack_up["cluster"]["context"], "--namespace", "default"]
    subprocess.run([*kubectl, "run", "e2e-hello", f"--image={image}", "--restart=Never"], check=True)
    try:
        subprocess.run([*kubectl, "wait", "pod/e2e-hello", "--for=jsonpath={.status.phase}=Succeeded",
                        "--timeout=180s"], check=True)
        logs = subprocess.run([*kubectl, "logs", "e2e-hello"], check=True, capture_output=True, text=True).stdout
        assert "hello from the local registry" in logs
    finally:
        subprocess.run([*kubectl, "delete", "pod", "e2e-hello", "--ignore-not-found"], check=False)


def test_run_and_artifacts_survive_down_and_up(stack_up):
    from laptop import stack
    from pipelines.cli import run_wine

    name = _stack_name(stack_up["cluster"]["engine"])
    summary = run_wine(target="cluster", stack=name)
    assert summary and summary["test_accuracy"] > 0.5
    succeeded = [run_id for run_id, state in _runs(stack_up).items() if state == "SUCCEEDED"]
    assert succeeded, "the wine run is listed as SUCCEEDED"
    run_id = succeeded[0]
    assert _artifact_keys(stack_up, run_id), "the run wrote artifacts to MinIO"

    stack.down(stack=name, purge=False, yes=True)
    time.sleep(5)
    again = stack.up(stack=name, yes=True)
    assert run_id in _runs(again), "the run history (MySQL under dataDir) survived the re-creation"
    assert _artifact_keys(again, run_id), "the artifacts (MinIO under dataDir) survived the re-creation"
