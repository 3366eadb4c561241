"""End to end on kind: build and push the component images into the stack's registry, see an unchanged build skip
them, then run the containerized wine variant on the cluster and check its pods ran those images.

Opt-in (needs Docker, kind, pulumi and a few minutes): `KFP_LAPTOP_E2E=1 inv test -k containerized_e2e`.
Uses this laptop's stack (creates it with `inv up` when none is up).
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from infra.topology import NAMESPACE
from pipelines.containerized.build import SKIPPED, build_and_push
from tests.e2e.support import requires

ROOT = Path(__file__).resolve().parents[2]
pytestmark = requires("docker", "kind", "pulumi")


def test_build_push_skip_and_run_the_containerized_variant(laptop_stack, kube_api_client):
    from kubernetes import client

    from pipelines.cli import run_wine

    refs = {outcome.image.ref for outcome in build_and_push()}
    assert all(ref.startswith(laptop_stack["registry"] + "/") for ref in refs)

    again = subprocess.run([sys.executable, "-m", "invoke", "build-components"], cwd=ROOT, capture_output=True,
                           text=True, timeout=600, env={**os.environ, "COLUMNS": "200"})
    assert again.returncode == 0, again.stderr
    assert again.stdout.count(SKIPPED) == len(refs), again.stdout

    summary = run_wine(target="cluster", containerized=True, neighbors="3,5,7", parallelism=2)
    assert summary and summary["test_accuracy"] >= 0.9

    api = client.CoreV1Api(kube_api_client)
    ran = {c.image for pod in api.list_namespaced_pod(NAMESPACE).items for c in pod.spec.containers
           if pod.status.phase == "Succeeded"}
    assert refs <= ran, f"no succeeded pod ran {sorted(refs - ran)}"
