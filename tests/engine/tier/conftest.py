"""Engine-tier fixtures: the control plane (session), the tier's environment and its stacks.

Collected only inside the tier's own network namespace (tests/engine/test_tier.py starts it); anywhere else these
tests are not collected at all, so no server can start on the host's network.
"""
from __future__ import annotations

import secrets

import pytest

from tests.engine import toolchain
from tests.engine.controlplane import ControlPlane, PodIpServer, in_own_netns
from tests.engine.pulumi_cli import Stack, tier_env
from tests.support.upstream import KFP_FIXTURE

if not in_own_netns():
    collect_ignore_glob = ["test_*.py"]

# What dials pods, answered on the pods' own (namespace-local) IPs, (port, body): the readiness step's service-proxy
# request to the KFP UI, answered as the UI's healthz handler answers when its API server is up
# (frontend/server/handlers/healthz.ts), and the watchdog's probe of the workflow-controller's /healthz.
POD_ANSWERS = {"ml-pipeline-ui": (3000, b'{"apiServerReady": true, "apiServerTagName": "2.17.0"}'),
               "workflow-controller": (6060, b"ok")}


@pytest.fixture(scope="session")
def plane(tmp_path_factory):
    """etcd, kube-apiserver, controller-manager, scheduler and KWOK with one fake node; the KFP UI pods' health
    path is answered on their own (namespace-local) IPs, see `PodIpServer`."""
    cp = ControlPlane(toolchain.cache_dir(), tmp_path_factory.mktemp("control-plane"))
    answers = None
    try:
        cp.start()
        answers = PodIpServer(cp, "kubeflow", POD_ANSWERS).start()
        yield cp
    finally:
        if answers:
            answers.stop()
        cp.stop()


@pytest.fixture(scope="session")
def env(plane, tmp_path_factory):
    return tier_env(tmp_path_factory.mktemp("pulumi"), plane.kubeconfig_path)


def stack_config(data_dir) -> dict[str, str]:
    return {"engine": "existing", "kfpManifests": str(KFP_FIXTURE), "dataDir": str(data_dir)}


@pytest.fixture(scope="session")
def make_stack(env, plane, tmp_path_factory):
    """New stacks on the tier's backend; each is destroyed (if anything is left) and removed at the end."""
    made: list[Stack] = []

    def make(prefix: str = "engine") -> Stack:
        stack = Stack(f"{prefix}-{secrets.token_hex(3)}", env)
        stack.init(stack_config(tmp_path_factory.mktemp("data")))
        made.append(stack)
        return stack

    yield make
    for stack in made:
        stack.destroy()
        stack.remove()
