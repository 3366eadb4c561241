"""k3d: one k3s server; ports through k3d's load balancer on 127.0.0.1, a k3s registries.yaml mirror, dataDir volume."""
from __future__ import annotations

import shlex

from infra import topology
from infra.cluster.engine import ClusterEngine, published_ports
from infra.cluster.registry_container import RegistrySpec, k3s_registries_yaml

K3S_IMAGE = "rancher/k3s:v1.33.4-k3s1"   # Kubernetes 1.33, multi-arch


class K3dEngine(ClusterEngine):
    binary = "k3d"

    @property
    def network(self) -> str:
        """k3d's own name for the cluster's network. Not set in the config: k3d treats a named network as external
        and leaves it behind on `k3d cluster delete`."""
        return f"k3d-{self.config.cluster_name}"

    def config_document(self, registry: RegistrySpec) -> dict:
        return {
            "apiVersion": "k3d.io/v1alpha5",
            "kind": "Simple",
            "metadata": {"name": self.config.cluster_name},
            "servers": 1,
            "agents": 0,
            "image": K3S_IMAGE,
            "kubeAPI": {"hostIP": "127.0.0.1"},
            "ports": [{"port": f"{p.listen_address}:{p.host_port}:{p.node_port}", "nodeFilters": ["loadbalancer"]}
                      for p in published_ports(self.config)],
            "volumes": [{"volume": f"{self.config.data_dir}:{topology.NODE_DATA_DIR}", "nodeFilters": ["server:*"]}],
            "registries": {"config": k3s_registries_yaml(registry)},
            "options": {
                # KFP brings its own ingress story (NodePorts); k3s's Traefik would only take memory.
                "k3s": {"extraArgs": [{"arg": "--disable=traefik", "nodeFilters": ["server:*"]}]},
                "kubeconfig": {"updateDefaultKubeconfig": True, "switchCurrentContext": False},
            },
        }

    def exists_command(self) -> str:
        return f"k3d cluster get {shlex.quote(self.config.cluster_name)} >/dev/null 2>&1"

    def _create(self, config_file: str) -> str:
        return f'k3d cluster create --config "{config_file}"'

    def kubeconfig_command(self) -> str:
        return f"k3d kubeconfig get {shlex.quote(self.config.cluster_name)}"

    def delete_command(self) -> str:
        return f"k3d cluster delete {shlex.quote(self.config.cluster_name)}\n"
