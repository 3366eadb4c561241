"""KfpPlatform: pinned upstream KFP with MinIO, registered in a safe order.

1. cluster-scoped objects (Namespace, ClusterRoles, PriorityClass), and the 11 Argo/KFP CRDs;
2. the artifact-store Secrets, from credentials generated per stack (pulumi-random, secret outputs): MinIO's root
   user's, and the bucket-only user's that pipeline pods read (the bucket Job creates that user);
3. every namespaced object, KFP and MinIO, each depending on all of 1 and on 2.

Every group goes to the provider as YAML text (`yaml.v2.ConfigGroup`, expanded by pulumi-kubernetes itself): as
typed resources, the SDK would serialise the CRDs' schemas property by property (about 80 % of the evaluation), and
register each object with its own per-property work (`infra/components/object_group.py`). `depends_on` a group orders
what comes after it behind all of its objects (pulumi/pulumi-kubernetes#2894: ordering across groups is `dependsOn`),
and the provider waits for each CRD to be established. The two Secrets are registered one by one: their values are
generated in the same `pulumi up`.

All objects are patched (`prepare`) before the program's first registration, so a release that cannot be patched
stops it with one message and nothing half-installed.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from infra.components.image_digests import resolve_amd64
from infra.components.kube_object import KubeObject
from infra.components.object_group import object_group
from infra.config import StackConfig
from infra.manifests.images import NEEDS_EMULATION, plan_images
from infra.manifests.minio import artifact_secret
from infra.manifests.patch import PatchSettings, patch_all, patch_upstream
from infra.manifests.provider_policy import managed
from infra.manifests.source import dump_for_machines, load_upstream
from infra.topology import PIPELINE_ARTIFACT_SECRET
from kfp_laptop.errors import UserError

CRD = "CustomResourceDefinition"

@dataclass(frozen=True)
class KfpObjects:
    """The patched objects to install, split by scope (see `prepare`)."""
    cluster_scoped: list[dict]
    namespaced: list[dict]


def prepare(config: StackConfig, resolve: Callable = resolve_amd64) -> KfpObjects:
    """Load and patch upstream KFP; a problem (no render, an unpatchable release) is one `pulumi.RunError`.
    On arm64 the amd64-only images are pinned to their amd64 manifests, whose digests `resolve` asks the registries.

    The program calls this before registering anything, so such a problem never leaves a half-built stack.
    """
    try:
        upstream = load_upstream(config.kfp_version, config.kfp_manifests)
        settings = PatchSettings.from_config(config)
        if config.arch == "arm64":
            emulated = [d.image for d in plan_images(patch_upstream(upstream, settings), config.arch)
                        if d.verdict == NEEDS_EMULATION]
            settings = replace(settings, amd64_digests=tuple(resolve(emulated).items()))
        return KfpObjects(*patch_all(upstream, settings))
    except UserError as err:
        raise pulumi.RunError(str(err)) from None


@dataclass
class KfpPlatformArgs:
    config: StackConfig
    provider: k8s.Provider | None = None
    objects: KfpObjects | None = None    # from `prepare(config)`; prepared here when not given


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

        bucket_access = random.RandomPassword(f"{name}-minio-pipelines-access-key", length=20, special=False,
                                              opts=child)
        bucket_secret = random.RandomPassword(f"{name}-minio-pipelines-secret-key", length=40, special=False,
                                              opts=child)

        crds = [o for o in objects.cluster_scoped if o["kind"] == CRD]
        others = [o for o in objects.cluster_scoped if o["kind"] != CRD]
        definitions = k8s.yaml.v2.ConfigGroup(f"{name}-crds", yaml=dump_for_machines(crds), opts=child)
        cluster = object_group(f"{name}-cluster-scoped", others, child)
        after_cluster = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[definitions, cluster]))
        secrets = [
            KubeObject(f"{name}-{resource}", {**credentials, "metadata": managed("Secret", credentials["metadata"])},
                       opts=after_cluster)
            for resource, credentials in (
                ("artifact-secret", artifact_secret(self.access_key, self.secret_key)),
                ("pipelines-artifact-secret", artifact_secret(pulumi.Output.secret(bucket_access.result),
                                                              pulumi.Output.secret(bucket_secret.result),
                                                              PIPELINE_ARTIFACT_SECRET)))]
        object_group(f"{name}-namespaced", objects.namespaced, pulumi.ResourceOptions.merge(
            child, pulumi.ResourceOptions(depends_on=[definitions, cluster, *secrets])))
        self.register_outputs({"access_key": self.access_key, "secret_key": self.secret_key})
