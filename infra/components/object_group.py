"""A group of plain Kubernetes objects that pulumi-kubernetes expands itself (`yaml.v2.ConfigGroup`).

Provider-side, the SDK sends one string per group instead of registering each object with the SDK's per-property
work, and the program imports no typed module (about 3 s of a 6.8 s evaluation before; docs/performance.md). The
provider orders what is inside a group (namespaces and CRDs first); across groups the order is `depends_on`.

Stacks created when these were v1 groups keep their objects: the children are named `<namespace>/<name>` as the v1
group named them (`resource_prefix=""`), and the group aliases the v1 group's type, which its children inherit
(`inheritedChildAlias`, sdk/go/pulumi/alias.go), so each object keeps its URN instead of being created anew and the
old one deleted, which would delete it in the cluster.
"""
from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from infra.manifests.source import dump_for_machines

V1_GROUP = "kubernetes:yaml:ConfigGroup"


def object_group(name: str, objects: list[dict], opts: pulumi.ResourceOptions) -> k8s.yaml.v2.ConfigGroup:
    return k8s.yaml.v2.ConfigGroup(
        name, yaml=dump_for_machines(objects), resource_prefix="",
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(aliases=[pulumi.Alias(type_=V1_GROUP)])))
