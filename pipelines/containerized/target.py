"""Where images go: the stack's registry and the cluster's platform, read from stack outputs (never literals)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from infra.config import ARCHES
from kfp_laptop.errors import UserError


@dataclass(frozen=True)
class Target:
    """The registry as both the host and the pods name it (`localhost:<registryPort>`), and the nodes' platform."""

    registry: str
    platform: str

    @classmethod
    def from_outputs(cls, outputs: Mapping) -> "Target":
        registry = outputs.get("registry")
        arch = (outputs.get("cluster") or {}).get("arch")
        if not registry or ":" not in registry:
            raise UserError(f"the stack's `registry` output is missing or has no port (got {registry!r})",
                            "run `inv up` so the stack exports `registry`")
        if arch not in ARCHES:
            raise UserError(f"the stack's `cluster.arch` output is {arch!r}; "
                            f"images can be built for {', '.join(ARCHES)}",
                            "run `inv up` so the stack exports the cluster's arch")
        return cls(registry=registry, platform=f"linux/{arch}")

    @property
    def api_base(self) -> str:
        """The registry's HTTP API as the host reaches it. `localhost` becomes 127.0.0.1: the registry listens on the
        IPv4 loopback only, and macOS resolves `localhost` to ::1 first."""
        host, port = self.registry.rsplit(":", 1)
        return f"http://{'127.0.0.1' if host == 'localhost' else host}:{port}"
