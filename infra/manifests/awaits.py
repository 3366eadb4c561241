"""Who waits for what during `pulumi up`: the kubernetes provider, or the project's readiness step.

pulumi-kubernetes awaits every Deployment, StatefulSet, Service and PersistentVolumeClaim it creates or updates (10
minutes by default), and never fails early on a pod that cannot start (`provider/pkg/await/awaiters.go` at the pinned
release). That pre-empts the readiness step (`infra.readiness`), which waits for KFP with the project's diagnosis
and fails early, naming the pod and the fix. So those objects get `pulumi.com/skipAwait`, and the readiness step
re-runs whenever any object changes (`objects_digest`, one of its triggers).

A Job keeps the provider's await (a failed Job fails the step at once) and gets `pulumi.com/replaceUnready`: the
next `pulumi up` replaces a Job that failed instead of waiting on the same failed Job again.
"""
from __future__ import annotations

import hashlib
import json

SKIP_AWAIT = "pulumi.com/skipAwait"
REPLACE_UNREADY = "pulumi.com/replaceUnready"
READINESS_WAITS_FOR = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Service", "PersistentVolumeClaim")


def set_await_policy(objects: list[dict]) -> None:
    """Annotate in place: skipAwait where readiness waits, replaceUnready on Jobs."""
    for obj in objects:
        annotation = {"Job": REPLACE_UNREADY}.get(obj["kind"], SKIP_AWAIT if obj["kind"] in READINESS_WAITS_FOR
                                                   else None)
        if annotation:
            obj.setdefault("metadata", {}).setdefault("annotations", {})[annotation] = "true"


def objects_digest(objects: list[dict]) -> str:
    """Changes whenever any object would change: the readiness step's trigger."""
    return hashlib.sha256(json.dumps(objects, sort_keys=True, default=str).encode()).hexdigest()[:16]
