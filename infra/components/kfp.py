"""KfpPlatform: pinned upstream KFP with MinIO, registered in a safe order.

1. cluster-scoped objects (Namespace, CRDs, ClusterRoles, PriorityClass);
2. the artifact-store Secret, from credentials generated per stack (pulumi-random, secret outputs);
3. every namespaced object, KFP and MinIO, each depending on all of 1 and on 2.

All objects are patched (`prepare`) before the program's first registration, so a release that cannot be patched
stops it with one message and nothing half-installed.
"""
from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from infra.config import StackConfig
from infra.manifests.minio import artifact_secret
from infra.manifests.patch import PatchSettings, patch_all
from infra.manifests.provider_policy import managed
from infra.manifests.source import dump, load_upstream
from laptop.errors import UserError


@dataclass(frozen=True)
class KfpObjects:
    """The patched objects to install, split by scope (see `prepare`)."""
    cluster_scoped: list[dict]
    namespaced: list[dict]


def prepare(config: StackConfig) -> KfpObjects:
    """Load and patch upstream KFP; a problem (no render, an unpatchable release) is one `pulumi.RunError`.

    The program calls this before registering anything, so such a problem never leaves a half-built stack.
    """
    try:
        upstream = load_upstream(config.kfp_version, config.kfp_manifests)
        return KfpObjects(*patch_all(upstream, PatchSettings.from_config(config)))
    except UserError as err:
        raise pulumi.RunError(str(err)) from None


@dataclass
class KfpPlatformArgs:
    config: StackConfig
    provider: k8s.Provider | None = None
    objects: KfpObjects | None = None    # from `prepare(config)`; prepared here when not given


def _depend_on(resources: pulumi.Input):
    """A v1 transformation (these also run under mocks) adding an explicit dependency to every object."""
    def transformation(obj: dict, opts: pulumi.ResourceOptions) -> None:
        opts.depends_on = resources
    return transformation


class KfpPlatform(pulumi.ComponentResource):
    access_key: pulumi.Output[str]
    secret_key: pulumi.Output[str]

    def __init__(self, name: str, args: KfpPlatformArgs, opts: pulumi.ResourceOptions | None = None):
        objects = args.objects or prepare(args.config)
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(provider=args.provider))
        super().__init__("kfp-laptop:index:KfpPlatform", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        access = random.RandomPassword(f"{name}-minio-access-key", length=20, special=False, opts=child)
        secret = random.RandomPassword(f"{name}-minio-secret-key", length=40, special=False, opts=child)
        self.access_key = pulumi.Output.secret(access.result)
        self.secret_key = pulumi.Output.secret(secret.result)

        cluster = k8s.yaml.ConfigGroup(f"{name}-cluster-scoped", yaml=[dump(objects.cluster_scoped)], opts=child)
        # The group's children are created once its YAML is decoded: depend on them, not on the group itself.
        cluster_objects = cluster.resources.apply(lambda resources: list(resources.values()))
        credentials = artifact_secret(self.access_key, self.secret_key)
        artifact = k8s.core.v1.Secret(
            f"{name}-artifact-secret", metadata=managed("Secret", credentials["metadata"]), type=credentials["type"],
            string_data=credentials["stringData"],
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=cluster_objects)))
        after_cluster = pulumi.Output.all(cluster_objects, artifact).apply(lambda pair: [*pair[0], pair[1]])
        k8s.yaml.ConfigGroup(f"{name}-namespaced", yaml=[dump(objects.namespaced)],
                             transformations=[_depend_on(after_cluster)], opts=child)
        self.register_outputs({"access_key": self.access_key, "secret_key": self.secret_key})
