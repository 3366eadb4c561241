"""The Pulumi program as a function, so tests can run it under mocks and read its outputs.

Composition only: each piece is a ComponentResource with a typed args class; the decisions live in pure modules.
Order: config (fails before anything) -> cluster -> registry -> KFP + MinIO -> watchdog -> readiness check.
"""
from __future__ import annotations

import pulumi

from infra.config import load


def main() -> dict[str, pulumi.Input]:
    cfg = load()
    from infra.cluster.registry_container import registry_spec
    from infra.components.cluster import Cluster, ClusterArgs
    from infra.components.kfp import KfpPlatform, KfpPlatformArgs, prepare
    from infra.components.local_registry import LocalRegistry, LocalRegistryArgs
    from infra.components.readiness import KfpReadiness, KfpReadinessArgs
    from infra.components.watchdog import Watchdog, WatchdogArgs
    from infra.manifests.provider_policy import objects_digest
    from infra.outputs import stack_outputs
    from infra.preview import announce_when_unknown, pending_objects_note

    kfp_objects = prepare(cfg)  # upstream KFP found and patched before anything is registered
    spec = registry_spec(cfg)
    cluster = Cluster("cluster", ClusterArgs(config=cfg, registry=spec))
    registry = LocalRegistry("registry", LocalRegistryArgs(spec=spec, cluster=cluster))
    kfp = KfpPlatform("kfp", KfpPlatformArgs(config=cfg, provider=cluster.provider, objects=kfp_objects),
                      opts=pulumi.ResourceOptions(depends_on=[registry]))
    watchdog = Watchdog("watchdog", WatchdogArgs(provider=cluster.provider),
                        opts=pulumi.ResourceOptions(depends_on=[kfp]))
    installed = [*kfp_objects.cluster_scoped, *kfp_objects.namespaced, *watchdog.objects]
    if cluster.created is not None:   # a kind/k3d cluster this stack creates (not `existing`)
        announce_when_unknown(cluster.kubeconfig, pending_objects_note(cfg.engine, cfg.kfp_version, installed))
    digest = objects_digest(installed)
    KfpReadiness("readiness", KfpReadinessArgs(config=cfg, cluster=cluster, objects_digest=digest),
                 opts=pulumi.ResourceOptions(depends_on=[kfp, watchdog]))
    return stack_outputs(cfg, cluster=cluster, registry=registry, kfp=kfp)
