"""KfpReadiness: the last step of `pulumi up`, which returns only when KFP answers on kfp_endpoint, or fails naming
the pods that are not ready, why, and the fix (`python -m infra.readiness`, run by pulumi-command)."""
from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass

import pulumi
import pulumi_command as command

from infra.components.cluster import Cluster
from infra.config import PROJECT_ROOT, StackConfig
from infra.outputs import host_endpoints

TIMEOUT_SECONDS = 1200   # a first bring-up downloads about 3 GB of images


def readiness_command(config: StackConfig, python: str = sys.executable) -> str:
    """The check, with the program's own interpreter (the project's .venv, where `infra` and `kubernetes` live)."""
    args = [python, "-m", "infra.readiness", "--endpoint", host_endpoints(config)["kfp_endpoint"],
            "--timeout", str(TIMEOUT_SECONDS)]
    if config.engine == "existing":
        args.append("--service-proxy")   # no host port there until `inv port-forward` runs
    return shlex.join(args)


@dataclass
class KfpReadinessArgs:
    config: StackConfig
    cluster: Cluster
    objects_digest: str = ""   # `infra.manifests.provider_policy.objects_digest` of everything it waits for


class KfpReadiness(pulumi.ComponentResource):
    def __init__(self, name: str, args: KfpReadinessArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("kfp-laptop:index:KfpReadiness", name, None, opts)
        check = readiness_command(args.config)
        config = args.config
        command.local.Command(
            f"{name}-wait", create=check, update=check, dir=str(PROJECT_ROOT),
            stdin=args.cluster.kubeconfig,   # never in the environment, where every child process sees it
            logging=command.local.Logging.STDERR, add_previous_output_in_env=False,
            # Check again whenever what it checks changes: the objects (the provider skips their await) or the cluster.
            triggers=[args.objects_digest, config.kfp_port, args.cluster.context],
            opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({})
