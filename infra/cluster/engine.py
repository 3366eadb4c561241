"""The engine interface (ctlptl style): a cluster is a declared object; each engine turns it into its own config file
and the shell steps that create and delete it. The registry is passed into the create step (as ctlptl's
`pkg/cluster` passes it into `Create`); `infra.cluster.engines` picks the engine. The Pulumi layer only runs these
steps (pulumi-command)."""
from __future__ import annotations

import shlex
from abc import ABC, abstractmethod
from dataclasses import dataclass

import yaml

from infra import topology
from infra.cluster.registry_container import RegistrySpec
from infra.cluster.shell import require_binary
from infra.config import StackConfig
from infra.data_dir import claim_command


@dataclass(frozen=True)
class PortMapping:
    """A NodePort published on the host's loopback interface only."""
    what: str
    host_port: int
    node_port: int
    listen_address: str = "127.0.0.1"


def published_ports(config: StackConfig) -> list[PortMapping]:
    """The KFP UI/API and MinIO API/console reach the host through the node; no port-forward to keep alive."""
    return [
        PortMapping("kfp", config.kfp_port, topology.KFP_NODE_PORT),
        PortMapping("minio", config.minio_port, topology.MINIO_API_NODE_PORT),
        PortMapping("minio-console", config.minio_console_port, topology.MINIO_CONSOLE_NODE_PORT),
    ]


class _BlockStyleDumper(yaml.SafeDumper):
    """Multi-line strings (containerd patches, registries.yaml) as readable `|` blocks."""


_BlockStyleDumper.add_representer(str, lambda dumper, text: dumper.represent_scalar(
    "tag:yaml.org,2002:str", text, style="|" if "\n" in text else None))


class ClusterEngine(ABC):
    """One way to run Kubernetes in Docker on a laptop. Subclasses say how; the steps' shape is shared."""

    binary: str

    def __init__(self, config: StackConfig):
        self.config = config

    @property
    def context(self) -> str:
        """The kubeconfig context name both kind and k3d give a cluster: `<engine>-<name>`."""
        return f"{self.binary}-{self.config.cluster_name}"

    @property
    @abstractmethod
    def network(self) -> str:
        """The Docker network the nodes are on; the registry container joins it."""

    @abstractmethod
    def config_document(self, registry: RegistrySpec) -> dict:
        """The engine's own cluster config file, as data, with the nodes mirroring `registry`."""

    @abstractmethod
    def exists_command(self) -> str:
        """Shell test that succeeds when the cluster exists: create adopts it (lost state), `inv up` checks that a
        stack that is up still has it."""

    @abstractmethod
    def _create(self, config_file: str) -> str:
        """Shell command creating the cluster from the config file."""

    def _after_create(self, registry: RegistrySpec) -> list[str]:
        """Shell steps run after the cluster exists (default: none)."""
        return []

    @abstractmethod
    def kubeconfig_command(self) -> str:
        """Shell command printing the cluster's kubeconfig (the create step's only stdout)."""

    @abstractmethod
    def delete_command(self) -> str:
        """Shell command deleting the cluster; dataDir and the registry's data stay."""

    def config_yaml(self, registry: RegistrySpec) -> str:
        return yaml.dump(self.config_document(registry), Dumper=_BlockStyleDumper, sort_keys=False)

    def create_command(self, registry: RegistrySpec) -> str:
        """Idempotent: claims dataDir (see `infra.data_dir`), creates the cluster unless it exists, prints the
        kubeconfig on stdout. The config file's text is one quoted word, so no value in it can end it early."""
        return "\n".join([
            "set -eu",
            require_binary("docker"),
            require_binary(self.binary),
            claim_command(self.config.data_dir),
            f"if ! {self.exists_command()}; then",
            '  config_file="$(mktemp)"',
            f'  printf \'%s\\n\' {shlex.quote(self.config_yaml(registry).rstrip(chr(10)))} > "$config_file"',
            f"  {self._create('$config_file')} >&2",
            '  rm -f "$config_file"',
            "fi",
            *self._after_create(registry),
            self.kubeconfig_command(),
            "",
        ])

