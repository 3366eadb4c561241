"""What this laptop is: its default stack name, which cluster engine it has, and whether the tools `inv up` needs exist."""
from __future__ import annotations

import getpass
import platform
import re
import shutil
import socket
import subprocess
from typing import Callable

from infra.cluster.engine import INSTALL_HINTS as CLUSTER_TOOL_HINTS
from infra.config import host_arch
from laptop.errors import UserError

# How to install each tool: the cluster steps' own hints, plus what only the host side needs.
INSTALL_HINTS = {
    **CLUSTER_TOOL_HINTS,
    "kubectl": "install kubectl: `brew install kubectl` or https://kubernetes.io/docs/tasks/tools/",
    "pulumi": "install the Pulumi CLI: `brew install pulumi/tap/pulumi` or `curl -fsSL https://get.pulumi.com | sh`",
}
# Binaries each engine drives on this host (every engine runs the registry container in Docker).
ENGINE_TOOLS = {"kind": ("docker", "kind"), "k3d": ("docker", "k3d"), "existing": ("docker", "kubectl")}


def sanitize_stack_name(text: str) -> str:
    """A Pulumi stack name from free text: lowercase, only [a-z0-9-], no leading/trailing dashes."""
    name = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return name or "laptop"


def stable_host_name(system: Callable[[], str] = platform.system,
                     run: Callable[..., subprocess.CompletedProcess] = subprocess.run) -> str:
    """This laptop's name as its user set it. On macOS `hostname` follows the network (DHCP, VPN, hotspot), which
    would name a different default stack on each network; its LocalHostName (System Settings > Sharing) stays."""
    if system() == "Darwin":
        try:
            answer = run(["scutil", "--get", "LocalHostName"], capture_output=True, text=True, timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            answer = None
        if answer is not None and answer.returncode == 0 and answer.stdout.strip():
            return answer.stdout.strip()
    return socket.gethostname()


def default_stack_name(user: str | None = None, host: str | None = None) -> str:
    """`<user>-<host>` (host without its domain, see `stable_host_name`), so each laptop gets its own stack."""
    user = user if user is not None else getpass.getuser()
    host = (host if host is not None else stable_host_name()).split(".")[0]
    return sanitize_stack_name(f"{user}-{host}")


def detect_engine(which: Callable[[str], str | None] = shutil.which) -> str | None:
    """The engine present on this machine: kind preferred, then k3d; None when neither is installed."""
    return next((engine for engine in ("kind", "k3d") if which(engine)), None)


def require_tools(engine: str, which: Callable[[str], str | None] = shutil.which) -> None:
    """Fail with the install command for the first missing binary this engine needs."""
    for tool in ENGINE_TOOLS[engine]:
        if not which(tool):
            raise UserError(f"`{tool}` is not installed (engine {engine} needs it)", INSTALL_HINTS[tool])


def require_docker_running(run: Callable[..., subprocess.CompletedProcess] = subprocess.run) -> None:
    """`docker info` answers only when the daemon (Docker Desktop, OrbStack, colima) is up."""
    result = run(["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True)
    if result.returncode != 0 and "permission denied" in (result.stderr or "").lower():
        # Linux: the daemon runs, but this user may not open its socket.
        raise UserError("Docker is running but refuses this user (permission denied on its socket)",
                        "add yourself to the docker group: `sudo usermod -aG docker $USER`, then log out and in")
    if result.returncode != 0:
        raise UserError("Docker is installed but not running",
                        "start Docker Desktop / OrbStack / `colima start`, or `sudo systemctl start docker` on Linux")


def docker_arch(run: Callable[..., subprocess.CompletedProcess] = subprocess.run) -> str | None:
    """The arch the nodes run as: the Docker engine's (its VM's on macOS). It can differ from this Python's, e.g. an
    x86_64 Python under Rosetta on Apple Silicon. None when Docker does not answer."""
    try:
        result = run(["docker", "info", "--format", "{{.Architecture}}"], capture_output=True, text=True)
    except OSError:
        return None
    machine = result.stdout.strip() if result.returncode == 0 else ""
    return host_arch(machine) if machine else None


def busy_ports(ports: dict[str, int]) -> dict[str, int]:
    """The settings whose port something on 127.0.0.1 already holds (kind/k3d would fail late with a Docker error)."""
    import socket as sockets

    busy = {}
    for key, port in ports.items():
        with sockets.socket(sockets.AF_INET, sockets.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                busy[key] = port
    return busy
