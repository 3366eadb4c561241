"""Watchdog: the in-cluster watchdog that keeps the workflow-controller alive (logic in `kfp_watchdog/`, objects in
`kfp_watchdog/objects.py`).

Its status ConfigMap is registered on its own with `ignore_changes=["data"]`: the watchdog writes its last check and
actions there, and a later `pulumi up` must not wipe them.
"""
from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from infra.components.kube_object import KubeObject
from infra.components.object_group import object_group
from infra.manifests.provider_policy import set_provider_policy
from infra.topology import NAMESPACE
from kfp_watchdog.loop import STATUS_CONFIGMAP
from kfp_watchdog.objects import package_sources, watchdog_objects


@dataclass
class WatchdogArgs:
    provider: k8s.Provider | None = None


class Watchdog(pulumi.ComponentResource):
    status_configmap: pulumi.Output[str]
    objects: list[dict]   # what it installs, as plain manifests (the readiness step's trigger covers them)

    def __init__(self, name: str, args: WatchdogArgs, opts: pulumi.ResourceOptions | None = None):
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(provider=args.provider))
        super().__init__("kfp-laptop:index:Watchdog", name, None, opts)
        # Children do not inherit the component's depends_on: pass it on, so nothing is applied before the namespace.
        child = pulumi.ResourceOptions(parent=self, depends_on=opts.depends_on)
        objects = watchdog_objects(NAMESPACE, package_sources())
        set_provider_policy(objects)
        self.objects = objects
        (status,) = [o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == STATUS_CONFIGMAP]
        status_map = KubeObject(f"{name}-status", status, opts=pulumi.ResourceOptions.merge(
            child, pulumi.ResourceOptions(ignore_changes=["data"])))
        object_group(f"{name}-objects", [o for o in objects if o is not status],
                     pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[status_map])))
        self.status_configmap = pulumi.Output.from_input(status["metadata"]["name"])
        self.register_outputs({"status_configmap": self.status_configmap})
