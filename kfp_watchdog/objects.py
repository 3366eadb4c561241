"""The Kubernetes objects that install the watchdog, as plain dicts: source ConfigMap, status ConfigMap,
ServiceAccount, least-privilege Role and RoleBinding, Deployment.

No image is built: an official multi-arch Python image runs this package mounted from a ConfigMap, so the watchdog
works before the local registry holds anything.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from kfp_watchdog.decide import Policy
from kfp_watchdog.loop import HEARTBEAT, STATUS_CONFIGMAP

NAME = "kfp-watchdog"
SOURCE_CONFIGMAP = "kfp-watchdog-source"
# Official, multi-arch (amd64 + arm64), exact tag; the same image the pipelines' tasks run on (pipelines.packaging),
# so one pull serves both, and the Python minor version the test suite runs the watchdog with.
IMAGE = "python:3.11.14-slim-bookworm"
SOURCE_DIR = "/opt/kfp-laptop/kfp_watchdog"
# The modules the watchdog runs; objects.py (this file) only builds manifests and stays on the host.
RUNTIME_MODULES = ("__init__.py", "__main__.py", "alive.py", "clock.py", "decide.py", "diagnose.py", "kube.py",
                   "loop.py", "shape.py", "state.py")
LABELS = {"app.kubernetes.io/name": NAME, "app.kubernetes.io/part-of": "kfp-laptop"}


def package_sources() -> dict[str, str]:
    """The watchdog's runtime modules, file name -> text, as the source ConfigMap carries them."""
    here = Path(__file__).parent
    return {name: (here / name).read_text() for name in RUNTIME_MODULES}


def watchdog_objects(namespace: str, sources: dict[str, str], policy: Policy = Policy(),
                     image: str = IMAGE) -> list[dict]:
    """Every object of the watchdog, in apply order."""
    return [
        _meta("v1", "ConfigMap", SOURCE_CONFIGMAP, namespace, data=dict(sorted(sources.items()))),
        status_configmap(namespace),
        _meta("v1", "ServiceAccount", NAME, namespace),
        role(namespace, policy),
        _meta("rbac.authorization.k8s.io/v1", "RoleBinding", NAME, namespace,
              roleRef={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": NAME},
              subjects=[{"kind": "ServiceAccount", "name": NAME, "namespace": namespace}]),
        deployment(namespace, sources, policy, image),
    ]


def status_configmap(namespace: str) -> dict:
    """Where the watchdog records its last check and actions (it patches `data`; the stack must not reset it)."""
    return _meta("v1", "ConfigMap", STATUS_CONFIGMAP, namespace, data={})


def role(namespace: str, policy: Policy) -> dict:
    """Exactly the calls `kfp_watchdog.kube.KubeApi` makes, with resource names wherever the API allows them
    (`list` and `create` cannot be limited by name). Deployments: `get` before each restart (its own restart record
    and resourceVersion) and each check for the required ones; `patch` only the restartable ones."""
    rules = [
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]},
        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "patch"],
         "resourceNames": sorted(policy.restartable)},
        {"apiGroups": [""], "resources": ["events"], "verbs": ["create"]},
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "patch"],
         "resourceNames": [STATUS_CONFIGMAP]},
    ]
    if policy.required - policy.restartable:
        rules.insert(2, {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get"],
                         "resourceNames": sorted(policy.required - policy.restartable)})
    return _meta("rbac.authorization.k8s.io/v1", "Role", NAME, namespace, rules=rules)


def deployment(namespace: str, sources: dict[str, str], policy: Policy, image: str) -> dict:
    digest = hashlib.sha256("".join(f"{k}\0{v}" for k, v in sorted(sources.items())).encode()).hexdigest()[:16]
    # The loop touches the heartbeat before each sleep; a sleep lasts at most the back-off cap.
    max_age = int(policy.max_backoff_seconds + 2 * policy.interval_seconds + 120)
    env = [
        {"name": "WATCHDOG_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
        {"name": "WATCHDOG_HEARTBEAT", "value": HEARTBEAT},
        {"name": "WATCHDOG_RESTARTABLE", "value": ",".join(sorted(policy.restartable))},
        {"name": "WATCHDOG_EXPLAIN_ONLY", "value": ",".join(sorted(policy.explain_only))},
        {"name": "WATCHDOG_REQUIRED", "value": ",".join(sorted(policy.required))},
        {"name": "PYTHONPATH", "value": str(Path(SOURCE_DIR).parent)},
        {"name": "PYTHONDONTWRITEBYTECODE", "value": "1"},
        {"name": "PYTHONUNBUFFERED", "value": "1"},
    ]
    container = {
        "name": "watchdog", "image": image, "command": ["python", "-m", "kfp_watchdog"], "env": env,
        "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"cpu": "200m", "memory": "96Mi"}},
        "livenessProbe": {"exec": {"command": ["python", "-m", "kfp_watchdog.alive", HEARTBEAT, str(max_age)]},
                          "initialDelaySeconds": 60, "periodSeconds": 60, "timeoutSeconds": 10, "failureThreshold": 2},
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                            "capabilities": {"drop": ["ALL"]}},
        "volumeMounts": [{"name": "source", "mountPath": SOURCE_DIR, "readOnly": True},
                         {"name": "heartbeat", "mountPath": str(Path(HEARTBEAT).parent)}],
    }
    pod = {
        "serviceAccountName": NAME, "automountServiceAccountToken": True,
        "securityContext": {"runAsNonRoot": True, "runAsUser": 65534, "runAsGroup": 65534,
                            "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [container],
        "volumes": [{"name": "source", "configMap": {"name": SOURCE_CONFIGMAP}},
                    {"name": "heartbeat", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}}],
    }
    return _meta("apps/v1", "Deployment", NAME, namespace, spec={
        "replicas": 1, "strategy": {"type": "Recreate"}, "selector": {"matchLabels": {"app.kubernetes.io/name": NAME}},
        "template": {"metadata": {"labels": LABELS, "annotations": {"kfp-laptop/source-sha256": digest}}, "spec": pod},
    })


def _meta(api_version: str, kind: str, name: str, namespace: str, **body) -> dict:
    return {"apiVersion": api_version, "kind": kind,
            "metadata": {"name": name, "namespace": namespace, "labels": dict(LABELS)}, **body}
