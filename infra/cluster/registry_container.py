"""The local registry: one Docker `registry` container per cluster, bound to 127.0.0.1, data kept under dataDir.

The host pushes to `localhost:<port>`; nodes pull the same name, which their containerd mirrors to the container on
the cluster's Docker network. So one image name works on both sides, on kind and k3d alike.
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

import yaml

from infra.cluster.shell import require_binary
from infra.config import StackConfig
from infra.data_dir import REGISTRY, claim_command

REGISTRY_IMAGE = "registry:2.8.3"   # Docker's official distribution registry, multi-arch
REGISTRY_CONTAINER_PORT = 5000
KEP_1755_NAMESPACE = "kube-public"
KEP_1755_NAME = "local-registry-hosting"


@dataclass(frozen=True)
class RegistrySpec:
    container: str
    host_port: int
    data_dir: Path
    image: str = REGISTRY_IMAGE

    @property
    def host(self) -> str:
        """What the host pushes to and pods name their images with."""
        return f"localhost:{self.host_port}"

    @property
    def endpoint(self) -> str:
        """Where nodes actually pull from: the container, by name, on the cluster's Docker network."""
        return f"http://{self.container}:{REGISTRY_CONTAINER_PORT}"


def registry_spec(config: StackConfig) -> RegistrySpec:
    return RegistrySpec(container=f"{config.cluster_name}-registry", host_port=config.registry_port,
                        data_dir=config.data_dir / REGISTRY)


def containerd_hosts_toml(spec: RegistrySpec) -> str:
    """containerd's mirror file for `localhost:<port>` (read from /etc/containerd/certs.d/<host>/hosts.toml)."""
    return f'[host."{spec.endpoint}"]\n  capabilities = ["pull", "resolve"]\n'


def k3s_registries_yaml(spec: RegistrySpec) -> str:
    """k3s's registries.yaml mirror for `localhost:<port>` (k3d passes it to every node)."""
    return yaml.safe_dump({"mirrors": {spec.host: {"endpoint": [spec.endpoint]}}}, sort_keys=False)


def run_command(spec: RegistrySpec) -> str:
    """Start (or keep) the registry container; published on 127.0.0.1 only, so nothing off the laptop reaches it."""
    name, data = shlex.quote(spec.container), shlex.quote(str(spec.data_dir))
    return "\n".join([
        "set -eu",
        require_binary("docker"),
        claim_command(spec.data_dir.parent),   # it may run before the cluster's create step claims dataDir
        f"mkdir -p {data}",
        f"if [ -z \"$(docker ps -aq --filter {shlex.quote(f'name=^{spec.container}$')})\" ]; then",
        f"  docker run -d --restart=always --name {name} "
        f"-p 127.0.0.1:{spec.host_port}:{REGISTRY_CONTAINER_PORT} -v {data}:/var/lib/registry {spec.image} >&2",
        "else",
        f"  docker start {name} >&2",
        "fi",
        "",
    ])


def remove_command(spec: RegistrySpec) -> str:
    """Remove the container; its data stays under dataDir for the next cluster (`inv down --purge` deletes it)."""
    return f"docker rm -f {shlex.quote(spec.container)} >/dev/null 2>&1 || true\n"


def connect_command(spec: RegistrySpec, network: str) -> str:
    """Attach the registry to the cluster's network so nodes resolve it by container name (idempotent)."""
    name, net = shlex.quote(spec.container), shlex.quote(network)
    return "\n".join([
        "set -eu",
        f"docker network inspect {net} --format '{{{{range .Containers}}}}{{{{.Name}}}} {{{{end}}}}' "
        f"| tr ' ' '\\n' | grep -qx {name} || docker network connect {net} {name}",
        "",
    ])


def disconnect_command(spec: RegistrySpec, network: str) -> str:
    return f"docker network disconnect {shlex.quote(network)} {shlex.quote(spec.container)} >/dev/null 2>&1 || true\n"


def local_registry_hosting(spec: RegistrySpec) -> dict:
    """KEP-1755 ConfigMap: tells tools (Tilt, Skaffold, ctlptl, ...) where to push for this cluster."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": KEP_1755_NAME, "namespace": KEP_1755_NAMESPACE},
        "data": {"localRegistryHosting.v1": yaml.safe_dump(
            {"host": spec.host, "help": "https://kind.sigs.k8s.io/docs/user/local-registry/"}, sort_keys=False)},
    }
