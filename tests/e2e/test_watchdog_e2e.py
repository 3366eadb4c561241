"""End to end on kind (or k3d): break the workflow-controller repeatedly, see the watchdog recover it, then run a
pipeline.

Opt-in (needs Docker, kind, pulumi, kubectl and a few minutes): `KFP_LAPTOP_E2E=1 inv test -k watchdog_e2e`.
Uses this laptop's stack (creates it with `inv up` when none is up).
"""
from __future__ import annotations

import subprocess
import time
from typing import Callable

import pytest

from infra.manifests.controller import CONTROLLER
from infra.topology import NAMESPACE
from kfp_watchdog.diagnose import diagnose_pod, owner_deployment
from kfp_watchdog.loop import STATUS_CONFIGMAP, STATUS_KEY
from kfp_watchdog.objects import NAME as WATCHDOG
from tests.e2e.support import requires

pytestmark = requires("docker", "kind", "pulumi", "kubectl")
NODE_CONTAINER = {"kind": "{}-control-plane", "k3d": "k3d-{}-server-0"}   # the Docker container that is the node
KILLS = 3                 # container kills; with the threshold lowered to this, the watchdog acts on the next check


def wait_for(what: str, condition: Callable[[], object], timeout: float, every: float = 5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(every)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.fixture(scope="module")
def stack(laptop_stack):
    outputs = laptop_stack
    if outputs["cluster"]["engine"] not in NODE_CONTAINER:
        pytest.skip("this scenario kills containers through the node's container; engine "
                    f"{outputs['cluster']['engine']} has none on this machine")
    return outputs


@pytest.fixture(scope="module")
def kube(stack, kube_api_client, tmp_path_factory):
    from kubernetes import client

    api_client = kube_api_client
    path = tmp_path_factory.mktemp("kube") / "config"
    path.write_text(stack["kubeconfig"])
    path.chmod(0o600)
    kubectl = ["kubectl", "--kubeconfig", str(path), "--context", stack["cluster"]["context"], "-n", NAMESPACE]
    return client.CoreV1Api(api_client), api_client.sanitize_for_serialization, kubectl


def controller_pods(core, plain) -> list[dict]:
    pods = plain(core.list_namespaced_pod(NAMESPACE))["items"]
    return [p for p in pods if owner_deployment(p) == CONTROLLER and not p["metadata"].get("deletionTimestamp")]


def running_container_id(node: str) -> str:
    result = subprocess.run(["docker", "exec", node, "crictl", "ps", "--name", CONTROLLER, "--state", "running", "-q"],
                            capture_output=True, text=True)
    return result.stdout.strip().splitlines()[0] if result.returncode == 0 and result.stdout.strip() else ""


@pytest.fixture
def quick_watchdog(kube):
    """Lower the crash-loop threshold so the test need not wait for five kubelet back-offs; restored afterwards."""
    _, _, kubectl = kube
    subprocess.run([*kubectl, "set", "env", f"deploy/{WATCHDOG}", f"WATCHDOG_CRASHLOOP_RESTARTS={KILLS}",
                    "WATCHDOG_INTERVAL_SECONDS=10"], check=True)
    subprocess.run([*kubectl, "rollout", "status", f"deploy/{WATCHDOG}", "--timeout=180s"], check=True)
    yield
    subprocess.run([*kubectl, "set", "env", f"deploy/{WATCHDOG}", "WATCHDOG_CRASHLOOP_RESTARTS-",
                    "WATCHDOG_INTERVAL_SECONDS-"], check=True)


def test_watchdog_recovers_a_crashing_controller_and_pipelines_run_afterwards(stack, kube, quick_watchdog):
    core, plain, kubectl = kube
    node = NODE_CONTAINER[stack["cluster"]["engine"]].format(stack["cluster"]["name"])
    subprocess.run([*kubectl, "rollout", "status", f"deploy/{CONTROLLER}", "--timeout=300s"], check=True)
    (broken,) = controller_pods(core, plain)

    # 1. Break it: kill the controller's container again and again, as crashes after a laptop sleep would.
    for _ in range(KILLS):
        container = wait_for("the controller container to run again", lambda: running_container_id(node), 400)
        subprocess.run(["docker", "exec", node, "crictl", "stop", "--timeout", "0", container], check=True)
        time.sleep(3)

    # 2. The watchdog replaces the pod (a rollout restart) and the new one becomes Ready.
    def recovered():
        pods = controller_pods(core, plain)
        fresh = [p for p in pods if p["metadata"]["name"] != broken["metadata"]["name"]]
        return fresh and diagnose_pod(fresh[0]) is None       # Ready, no problem
    wait_for("the watchdog to replace the crashing controller with a Ready pod", recovered, 600)
    events = core.list_namespaced_event(NAMESPACE, field_selector=f"involvedObject.name={CONTROLLER}").items
    assert any(e.reason == "WatchdogRestart" for e in events)
    status = core.read_namespaced_config_map(STATUS_CONFIGMAP, NAMESPACE).data[STATUS_KEY]
    assert f'"deployment": "{CONTROLLER}"' in status

    # 3. A pipeline run succeeds on the recovered controller.
    from pipelines.cli import run_quickstart

    run_quickstart(target="cluster")
