"""kind: one control-plane node; NodePorts on 127.0.0.1, containerd reading mirrors from certs.d, dataDir mounted."""
from __future__ import annotations

import shlex

from infra import topology
from infra.cluster.engine import ClusterEngine, published_ports
from infra.cluster.registry_container import RegistrySpec, containerd_hosts_toml

# kind v0.29.0's image for Kubernetes 1.33 (multi-arch); the digest pins the build kind supports.
KIND_NODE_IMAGE = "kindest/node:v1.33.1@sha256:050072256b9a903bd914c0b2866828150cb229cea0efe5892e2b644d5dd3b34f"
CERTS_D = "/etc/containerd/certs.d"
CONTAINERD_CONFIG_PATH_PATCH = f'[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "{CERTS_D}"'


class KindEngine(ClusterEngine):
    binary = "kind"

    @property
    def network(self) -> str:
        return "kind"

    def config_document(self, registry: RegistrySpec) -> dict:
        return {
            "kind": "Cluster",
            "apiVersion": "kind.x-k8s.io/v1alpha4",
            "name": self.config.cluster_name,
            "networking": {"apiServerAddress": "127.0.0.1"},
            "containerdConfigPatches": [CONTAINERD_CONFIG_PATH_PATCH],
            "nodes": [{
                "role": "control-plane",
                "image": KIND_NODE_IMAGE,
                "extraPortMappings": [
                    {"containerPort": p.node_port, "hostPort": p.host_port, "listenAddress": p.listen_address,
                     "protocol": "TCP"} for p in published_ports(self.config)],
                "extraMounts": [{"hostPath": str(self.config.data_dir), "containerPath": topology.NODE_DATA_DIR}],
            }],
        }

    def hosts_toml_path(self, registry: RegistrySpec) -> str:
        return f"{CERTS_D}/{registry.host}/hosts.toml"

    def exists_command(self) -> str:
        return f"kind get clusters 2>/dev/null | grep -qx {shlex.quote(self.config.cluster_name)}"

    def _create(self, config_file: str) -> str:
        return f'kind create cluster --name {shlex.quote(self.config.cluster_name)} --config "{config_file}"'

    def _after_create(self, registry: RegistrySpec) -> list[str]:
        """The kind recipe: write the mirror for localhost:<port> into every node's certs.d."""
        path = self.hosts_toml_path(registry)
        return [
            f"for node in $(kind get nodes --name {shlex.quote(self.config.cluster_name)}); do",
            f'  docker exec "$node" mkdir -p {shlex.quote(path.rsplit("/", 1)[0])}',
            f"  printf '%s' {shlex.quote(containerd_hosts_toml(registry))} "
            f'| docker exec -i "$node" cp /dev/stdin {shlex.quote(path)}',
            "done",
        ]

    def kubeconfig_command(self) -> str:
        return f"kind get kubeconfig --name {shlex.quote(self.config.cluster_name)}"

    def delete_command(self) -> str:
        return f"kind delete cluster --name {shlex.quote(self.config.cluster_name)}\n"
