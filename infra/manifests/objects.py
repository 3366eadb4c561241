"""Find-then-change helpers over Kubernetes objects as plain dicts.

Every change to upstream goes through `find`, so a release that renamed or dropped an object fails with a message
naming what is missing instead of being patched by position.
"""
from __future__ import annotations

from typing import Iterator

from kfp_laptop.errors import UserError

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job")


class ManifestMismatch(UserError):
    """The upstream manifests lack something this project must change: installing them would be half-patched."""

    def __init__(self, missing: list[str]):
        self.missing = missing
        super().__init__(
            "the KFP manifests cannot be patched safely; not found: " + "; ".join(missing),
            "use a supported kfpVersion (see docs/kfp-platform.md) or point kfpManifests at a render of one")


def ident(obj: dict) -> str:
    meta = obj.get("metadata", {})
    return f"{obj.get('kind')}/{meta.get('name')}"


def find_all(objects: list[dict], kind: str, name: str | None = None) -> list[dict]:
    return [o for o in objects if o.get("kind") == kind and (name is None or o["metadata"].get("name") == name)]


def find(objects: list[dict], kind: str, name: str) -> dict:
    """The one object of this kind and name; ManifestMismatch when there is none."""
    found = find_all(objects, kind, name)
    if not found:
        raise ManifestMismatch([f"{kind} {name}"])
    return found[0]


def remove(objects: list[dict], kind: str, name: str) -> None:
    objects[:] = [o for o in objects if not (o.get("kind") == kind and o["metadata"].get("name") == name)]


def pod_spec(workload: dict) -> dict:
    return workload["spec"]["template"]["spec"]


def containers(workload: dict, init: bool = True) -> Iterator[dict]:
    """Main containers, then (optionally) init containers."""
    spec = pod_spec(workload)
    yield from spec.get("containers", [])
    if init:
        yield from spec.get("initContainers", [])


def workloads(objects: list[dict]) -> Iterator[dict]:
    return (o for o in objects if o.get("kind") in WORKLOAD_KINDS)


def container(workload: dict, name: str | None = None) -> dict:
    """A main container by name, or the only/first main container when `name` is None."""
    main = pod_spec(workload).get("containers", [])
    for item in main:
        if name is None or item.get("name") == name:
            return item
    raise ManifestMismatch([f"container {name or '(any)'} in {ident(workload)}"])


def set_env(item: dict, name: str, value: str) -> None:
    """Set a plain env value, replacing any `valueFrom`; appends when absent."""
    env = item.setdefault("env", [])
    for entry in env:
        if entry.get("name") == name:
            entry.pop("valueFrom", None)
            entry["value"] = value
            return
    env.append({"name": name, "value": value})
