"""Where images go: the stack's registry and the cluster's platform, read from stack outputs (never literals)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from kfp_laptop.errors import UserError
from laptop.outputs import UP_FIX, StackOutputs


@dataclass(frozen=True)
class Target:
    """The registry as both the host and the pods name it (`localhost:<registryPort>`), and the nodes' platform."""

    registry: str
    platform: str

    @classmethod
    def from_outputs(cls, outputs: StackOutputs | Mapping) -> "Target":
        """From the parsed stack outputs (or raw ones, parsed here for `registry` and `cluster`)."""
        parsed = StackOutputs.of(outputs, ("registry", "cluster"))
        if parsed.registry is None or parsed.cluster is None:
            raise UserError("the stack's outputs lack `registry` or `cluster`", UP_FIX)
        return cls(registry=parsed.registry, platform=f"linux/{parsed.cluster.arch}")

    @property
    def api_base(self) -> str:
        """The registry's HTTP API as the host reaches it. `localhost` becomes 127.0.0.1: the registry listens on the
        IPv4 loopback only, and macOS resolves `localhost` to ::1 first."""
        host, port = self.registry.rsplit(":", 1)
        return f"http://{'127.0.0.1' if host == 'localhost' else host}:{port}"
