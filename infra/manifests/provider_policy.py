"""How the kubernetes provider treats the stack's objects: who waits for what, and who owns their fields.

pulumi-kubernetes awaits every Deployment, StatefulSet, Service and PersistentVolumeClaim it creates or updates (10
minutes by default), and never fails early on a pod that cannot start (`provider/pkg/await/awaiters.go` at the pinned
release). That pre-empts the readiness step (`infra.readiness`), which waits for KFP with the project's diagnosis
and fails early, naming the pod and the fix. So those objects get `pulumi.com/skipAwait`, and the readiness step
re-runs whenever any object changes (`objects_digest`, one of its triggers).

A Job keeps the provider's await (a failed Job fails the step at once) and gets `pulumi.com/replaceUnready`: the
next `pulumi up` replaces a Job that failed instead of waiting on the same failed Job again.

Every object is applied (server-side apply, which upserts: `provider/pkg/await/await.go`) under one field manager,
`FIELD_MANAGER`, instead of the provider's per-resource random one. So a stack whose state was lost, re-created over
the same cluster, takes its objects back instead of failing on field conflicts with its former self.
"""
from __future__ import annotations

import hashlib
import json

SKIP_AWAIT = "pulumi.com/skipAwait"
PATCH_FIELD_MANAGER = "pulumi.com/patchFieldManager"
FIELD_MANAGER = "kfp-laptop"
REPLACE_UNREADY = "pulumi.com/replaceUnready"
READINESS_WAITS_FOR = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Service", "PersistentVolumeClaim")


def provider_annotations(kind: str) -> dict[str, str]:
    annotations = {PATCH_FIELD_MANAGER: FIELD_MANAGER}
    if kind == "Job":
        annotations[REPLACE_UNREADY] = "true"
    elif kind in READINESS_WAITS_FOR:
        annotations[SKIP_AWAIT] = "true"
    return annotations


def managed(kind: str, metadata: dict) -> dict:
    """`metadata` with the provider annotations added (a copy), for objects the components build themselves."""
    return {**metadata, "annotations": {**metadata.get("annotations", {}), **provider_annotations(kind)}}


def set_provider_policy(objects: list[dict]) -> None:
    """Annotate in place: skipAwait where readiness waits, replaceUnready on Jobs, one field manager on all."""
    for obj in objects:
        obj["metadata"] = managed(obj["kind"], obj.get("metadata", {}))


def objects_digest(objects: list[dict]) -> str:
    """Changes whenever any object would change: the readiness step's trigger."""
    return hashlib.sha256(json.dumps(objects, sort_keys=True, default=str).encode()).hexdigest()[:16]
