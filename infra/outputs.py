"""Every stack output of the contract, built in one place: `pipelines` and the tasks learn endpoints only from these."""
from __future__ import annotations

from typing import TYPE_CHECKING

import pulumi

from infra import topology
from infra.config import StackConfig

if TYPE_CHECKING:
    from infra.components.cluster import Cluster
    from infra.components.kfp import KfpPlatform
    from infra.components.local_registry import LocalRegistry


def host_endpoints(config: StackConfig) -> dict[str, str]:
    """The loopback URLs the cluster publishes (kind/k3d) or `inv port-forward` serves (existing)."""
    return {
        "kfp_endpoint": f"http://127.0.0.1:{config.kfp_port}",
        "minio_endpoint": f"http://127.0.0.1:{config.minio_port}",
        "minio_console": f"http://127.0.0.1:{config.minio_console_port}",
    }


def stack_outputs(config: StackConfig, *, cluster: "Cluster", registry: "LocalRegistry",
                  kfp: "KfpPlatform") -> dict[str, pulumi.Input]:
    """The contract's outputs; credentials and the kubeconfig are secrets."""
    return {
        **host_endpoints(config),
        "kfp_version": config.kfp_version,
        "minio_access_key": pulumi.Output.secret(kfp.access_key),
        "minio_secret_key": pulumi.Output.secret(kfp.secret_key),
        "pipeline_root": topology.PIPELINE_ROOT,
        "registry": registry.host,
        "cluster": {"engine": config.engine, "name": cluster.cluster_name, "context": cluster.context,
                    "arch": config.arch},
        "kubeconfig": pulumi.Output.secret(cluster.kubeconfig),
    }
