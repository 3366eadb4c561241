"""LocalRegistry: the Docker registry container on 127.0.0.1:<registryPort>, joined to the cluster's network, and
the KEP-1755 ConfigMap that tells tools where to push. The decisions are in `infra.cluster.registry_container`."""
from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_command as command

from infra.cluster import registry_container as spec_of
from infra.components.cluster import Cluster
from infra.components.kube_object import KubeObject
from infra.manifests.provider_policy import managed


@dataclass
class LocalRegistryArgs:
    spec: spec_of.RegistrySpec
    cluster: Cluster   # its network, its `created` id and its provider


class LocalRegistry(pulumi.ComponentResource):
    host: str   # localhost:<registryPort>, the name on both sides

    def __init__(self, name: str, args: LocalRegistryArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("kfp-laptop:index:LocalRegistry", name, None, opts)
        spec = args.spec
        self.host = spec.host
        start = spec_of.run_command(spec)
        # A changed port, image or data folder needs a new container, not a restart of the old one.
        replace = pulumi.ResourceOptions(parent=self, delete_before_replace=True)
        container = command.local.Command(f"{name}-container", create=start, delete=spec_of.remove_command(spec),
                                          triggers=[start], add_previous_output_in_env=False, opts=replace)
        ready = [container]
        cluster = args.cluster
        if cluster.network is not None:
            # Nodes resolve the registry by container name on the cluster's network (kind/k3d only).
            connect = spec_of.connect_command(spec, cluster.network)
            ready.append(command.local.Command(
                f"{name}-network", create=connect, delete=spec_of.disconnect_command(spec, cluster.network),
                # Input dependencies, not just depends_on (which never replaces a dependent): a re-created cluster
                # has a new network to join (`created` also makes this step wait for the cluster), and a replaced
                # registry container must be connected again.
                triggers=[connect, cluster.created, container.id], add_previous_output_in_env=False,
                opts=pulumi.ResourceOptions.merge(replace, pulumi.ResourceOptions(depends_on=[container]))))
        hosting = spec_of.local_registry_hosting(spec)
        KubeObject(f"{name}-hosting", {**hosting, "metadata": managed("ConfigMap", hosting["metadata"])},
                   opts=pulumi.ResourceOptions(parent=self, provider=cluster.provider, depends_on=ready))
        self.register_outputs({"host": self.host})
