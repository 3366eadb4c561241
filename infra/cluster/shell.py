"""Shell helpers every generated step shares (cluster and registry alike), in a module of their own as kind keeps its
shared helpers in `pkg/cluster/internal`: the engines and the registry import this, never each other."""
from __future__ import annotations

import shlex

INSTALL_HINTS = {
    "docker": "install and start Docker Desktop, OrbStack or colima (macOS) or Docker Engine (Linux)",
    "kind": "install kind (brew install kind, or https://kind.sigs.k8s.io/docs/user/quick-start/#installation)",
    "k3d": "install k3d (brew install k3d, or https://k3d.io/#installation)",
}


def require_binary(binary: str) -> str:
    """Shell guard: a missing binary fails the step with the install hint instead of `command not found`."""
    message = shlex.quote(f"kfp-laptop: `{binary}` is not installed or not on PATH: {INSTALL_HINTS[binary]}")
    return f"command -v {binary} >/dev/null 2>&1 || {{ echo {message} >&2; exit 127; }}"
