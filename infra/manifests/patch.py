"""The single entry point from upstream KFP objects to what this project installs.

`patch_all` works on a deep copy and only returns when every step found what it changes, so a release it cannot
patch fails as a whole (`ManifestMismatch`, naming what is missing) before anything is registered.
"""
from __future__ import annotations

import copy
from collections import Counter
from dataclasses import dataclass

from infra.config import StackConfig
from infra.manifests.access import confine_pipeline_pods, drop_unused_tokens, expose, network_policies
from infra.manifests.controller import harden_controller
from infra.manifests.images import apply_plan, pin_amd64, plan_images
from infra.manifests.minio import mentions_seaweedfs, wire_minio
from infra.manifests.objects import ManifestMismatch
from infra.manifests.provider_policy import set_provider_policy
from infra.manifests.sizing import add_probes, size_for_laptop
from infra.manifests.source import UpstreamManifests
from infra.manifests.storage import persist


@dataclass(frozen=True)
class PatchSettings:
    """The part of the stack config that shapes the objects (no host ports: those live in the cluster's config)."""
    arch: str
    engine: str
    minio_image: str
    amd64_digests: tuple[tuple[str, str], ...] = ()   # (image, digest of its amd64 manifest), see images.pin_amd64

    @classmethod
    def from_config(cls, config: StackConfig) -> "PatchSettings":
        return cls(arch=config.arch, engine=config.engine, minio_image=config.minio_image)


def _key(obj: dict) -> tuple[str, str, str]:
    return obj["kind"], obj["metadata"].get("namespace", ""), obj["metadata"]["name"]


def split_by_scope(objects: list[dict]) -> tuple[list[dict], list[dict]]:
    """(cluster-scoped, namespaced): kustomize sets a namespace on every namespaced object, so its absence marks the
    cluster-scoped ones (Namespace, CRDs, ClusterRoles, PriorityClass), which must exist before the rest."""
    cluster = [o for o in objects if not o["metadata"].get("namespace")]
    namespaced = [o for o in objects if o["metadata"].get("namespace")]
    return cluster, namespaced


def patch_upstream(upstream: UpstreamManifests, settings: PatchSettings) -> list[dict]:
    """Every change except the image plan (whose decisions `inv image-plan` shows against upstream's images)."""
    objects = copy.deepcopy(upstream.cluster_scoped + upstream.platform)
    wire_minio(objects, settings.minio_image)
    persist(objects, settings.engine)
    size_for_laptop(objects)
    add_probes(objects)
    expose(objects, settings.engine)
    drop_unused_tokens(objects)
    confine_pipeline_pods(objects)
    # Workflow-controller hardening (infra/manifests/controller.py) is called here: after sizing, so its
    # own settings for that Deployment win; before the image plan, so any image it adds is planned too.
    harden_controller(objects)
    network_policies(objects)  # last: admits the ports the containers finally declare
    return objects


def patch_all(upstream: UpstreamManifests, settings: PatchSettings) -> tuple[list[dict], list[dict]]:
    """Upstream objects -> (cluster-scoped, namespaced) objects to install, every change applied."""
    objects = patch_upstream(upstream, settings)
    apply_plan(objects, pin_amd64(plan_images(objects, settings.arch), dict(settings.amd64_digests)))
    leftovers = mentions_seaweedfs(objects)
    if leftovers:
        raise ManifestMismatch([f"a way to move {', '.join(leftovers)} off SeaweedFS"])
    twice = [key for key, count in Counter(_key(o) for o in objects).items() if count > 1]
    if twice:
        raise ManifestMismatch([f"a single {' '.join(key)} (defined twice after patching)" for key in twice])
    set_provider_policy(objects)
    return split_by_scope(objects)
