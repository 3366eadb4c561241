"""Harden Argo's workflow-controller, the pod that "died about once a week" on laptops.

- Leader election off (`LEADER_ELECTION_DISABLE=true`): with it on, the controller exits when it cannot renew its
  lease, which is what happens after a laptop sleeps (argo-workflows #9324, #7661). One replica and the Recreate
  strategy keep it a single instance even during a rollout, which running without election requires.
- A memory limit sized for real use (1Gi, as kubeflow/pipelines #10391 and kubeflow/testing #994 settled on), so a
  leak is an OOMKilled restart the watchdog can explain instead of the node's memory running out.
- A liveness probe on the controller's own `/healthz` (port 6060), which fails when workflows go unreconciled.
"""
from __future__ import annotations

from infra.manifests.objects import container, find, set_env
from infra.manifests.sizing import memory_mib

CONTROLLER = "workflow-controller"
MEMORY_LIMIT = "1Gi"
HEALTH_PORT = 6060
# Upstream's timings: a first check after 90 s, then one a minute; three misses restart the container.
LIVENESS_PROBE = {"httpGet": {"path": "/healthz", "port": HEALTH_PORT}, "initialDelaySeconds": 90,
                  "periodSeconds": 60, "timeoutSeconds": 30, "failureThreshold": 3}


def harden_controller(objects: list[dict]) -> None:
    """Change the workflow-controller Deployment in place; ManifestMismatch when a release has no such Deployment."""
    deployment = find(objects, "Deployment", CONTROLLER)
    deployment["spec"]["replicas"] = 1
    deployment["spec"]["strategy"] = {"type": "Recreate"}
    item = container(deployment, CONTROLLER)
    set_env(item, "LEADER_ELECTION_DISABLE", "true")
    limits = item.setdefault("resources", {}).setdefault("limits", {})
    if memory_mib(limits.get("memory", "0")) < memory_mib(MEMORY_LIMIT):
        limits["memory"] = MEMORY_LIMIT
    item["livenessProbe"] = dict(LIVENESS_PROBE)
    ports = item.setdefault("ports", [])
    if not any(p.get("containerPort") == HEALTH_PORT for p in ports):
        ports.append({"containerPort": HEALTH_PORT, "name": "healthz"})
