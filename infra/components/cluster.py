"""Cluster: the stack's Kubernetes cluster and the provider everything else is installed with.

kind/k3d: created and deleted by pulumi-command running the engine's generated steps (`infra.cluster`); `existing`:
nothing is created, the provider targets the chosen kubeconfig context. Either way the kubeconfig is a secret.
"""
from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_command as command
import pulumi_kubernetes as k8s

from infra.cluster.engines import engine_for
from infra.cluster.existing import KubeconfigError, load_existing
from infra.cluster.registry_container import RegistrySpec
from infra.config import StackConfig


@dataclass
class ClusterArgs:
    config: StackConfig
    registry: RegistrySpec   # the nodes mirror it (kind/k3d)


class Cluster(pulumi.ComponentResource):
    """What other components use of the cluster, and nothing of how it is made."""
    provider: k8s.Provider
    kubeconfig: pulumi.Output[str]
    context: str
    cluster_name: str
    network: str | None                 # the nodes' Docker network (kind/k3d); None for `existing`
    created: pulumi.Output[str] | None  # the create step's id: it changes when the cluster is re-created

    def __init__(self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None):
        config = args.config
        if config.engine == "existing":
            try:
                target = load_existing(config.kube_context)
            except KubeconfigError as err:
                raise pulumi.RunError(f"engine existing: {err}") from None
        super().__init__("kfp-laptop:index:Cluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        if config.engine == "existing":
            engine, self.network, self.created = None, None, None
            self.context, self.cluster_name = target.context, target.cluster
            self.kubeconfig = pulumi.Output.secret(target.kubeconfig)
        else:
            engine = engine_for(config)
            self.context, self.cluster_name, self.network = engine.context, config.cluster_name, engine.network
            # One name whatever the engine: switching kind <-> k3d is then a replacement, and delete_before_replace
            # frees the host ports before the other engine takes them. (The name once carried the engine, which made
            # a switch create the new cluster next to the old one; the aliases adopt such stacks.)
            create = command.local.Command(
                f"{name}-create",
                create=engine.create_command(args.registry),
                update=engine.create_command(args.registry),
                delete=engine.delete_command(),
                # stdout is the kubeconfig: never log it, keep it secret in the state, and never hand it to the
                # update/delete steps' environment (pulumi-command's PULUMI_COMMAND_STDOUT, on by default).
                logging=command.local.Logging.STDERR,
                add_previous_output_in_env=False,
                # Engine, ports, mounts or mirrors changed: the cluster must be re-created (its data stays in dataDir).
                triggers=[config.engine, engine.config_yaml(args.registry)],
                opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["stdout"],
                                            delete_before_replace=True,
                                            aliases=[pulumi.Alias(name=f"{name}-{e}") for e in ("kind", "k3d")]))
            self.kubeconfig, self.created = pulumi.Output.secret(create.stdout), create.id
        # A kind/k3d cluster deleted behind Pulumi's back takes its objects with it: drop them from the state instead
        # of failing `pulumi destroy`. Never for `existing`: an unreachable team cluster is not a deleted one.
        self.provider = k8s.Provider(f"{name}-provider", kubeconfig=self.kubeconfig, context=self.context,
                                     delete_unreachable=engine is not None, opts=child)
        self.register_outputs({"kubeconfig": self.kubeconfig, "context": self.context})
