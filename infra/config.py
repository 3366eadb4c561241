"""Stack configuration: read once from `pulumi.Config`, validated into a frozen dataclass before anything is registered."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class StackConfig:
    engine: str                  # "kind" | "k3d" | "existing"
    cluster_name: str            # DNS label
    kube_context: str | None     # for engine "existing"; None = current context
    arch: str                    # resolved: "amd64" | "arm64" (never "auto")
    kfp_version: str             # e.g. "2.17.0"
    kfp_manifests: Path | None   # pre-rendered upstream folder, or None = render upstream (cached)
    minio_image: str
    kfp_port: int
    minio_port: int
    minio_console_port: int
    registry_port: int
    data_dir: Path

    @property
    def registry(self) -> str:
        """Where the host pushes and pods pull: the same name on both sides."""
        return f"localhost:{self.registry_port}"
