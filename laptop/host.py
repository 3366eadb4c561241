"""What this laptop is: its default stack name, which cluster engine it has, and whether the tools `inv up` needs
exist."""
from __future__ import annotations

import getpass
import json
import platform
import re
import shutil
import socket
import subprocess
from dataclasses import dataclass
from typing import Callable

from infra.cluster.shell import INSTALL_HINTS as CLUSTER_TOOL_HINTS
from infra.config import host_arch
from infra.tools import NOT_FOUND, failure, run_tool
from kfp_laptop.errors import UserError

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


TOOL_NAMES = {"docker": "Docker (`docker`)", "kind": "kind", "k3d": "k3d", "kubectl": "kubectl",
              "pulumi": "the Pulumi CLI (`pulumi`)"}


def missing_tools(engine: str | None, which: Callable[[str], str | None] = shutil.which) -> list[str]:
    """Every binary `inv up` needs that is not on PATH: pulumi, then the engine's (kind or k3d when none is chosen
    yet and neither is installed)."""
    missing = [] if which("pulumi") else ["pulumi"]
    if engine is None:
        engine = detect_engine(which)
        if engine is None:
            return [*missing, *(["docker"] if not which("docker") else []), "kind"]
    return [*missing, *(tool for tool in ENGINE_TOOLS[engine] if not which(tool))]


def require_tools(engine: str | None, which: Callable[[str], str | None] = shutil.which) -> None:
    """Fail with every missing binary at once, each with its install command (as `inv doctor` lists them)."""
    missing = missing_tools(engine, which)
    if not missing:
        return
    needs = f" (engine {engine} needs them)" if engine else ""
    names = [TOOL_NAMES[tool] + (" or k3d" if tool == "kind" and engine is None else "") for tool in missing]
    hints = [INSTALL_HINTS[tool] + (f"  (or: {INSTALL_HINTS['k3d']})" if tool == "kind" and engine is None else "")
             for tool in missing]
    raise UserError(f"not installed{needs}: {', '.join(names)}", "; ".join(hints))


@dataclass(frozen=True)
class DockerProbe:
    """What `docker info` said: its JSON when the daemon answered, else the problem and its fix."""
    info: dict | None
    problem: str | None = None
    fix: str | None = None


START_DOCKER = "start Docker Desktop / OrbStack / `colima start`, or `sudo systemctl start docker` on Linux"


def probe_docker(run: Callable[[list[str]], subprocess.CompletedProcess] = run_tool) -> DockerProbe:
    """The one `docker info` of the host side (bounded: a stuck Docker Desktop never answers), as a DockerProbe."""
    result = run(["docker", "info", "--format", "{{json .}}"])
    if result.returncode == NOT_FOUND:
        return DockerProbe(None, "Docker (`docker`) is not installed", INSTALL_HINTS["docker"])
    text = f"{result.stderr or ''} {result.stdout or ''}".lower()
    if result.returncode != 0 and "permission denied" in text:
        # Linux: the daemon runs, but this user may not open its socket.
        return DockerProbe(None, "Docker is running but refuses this user (permission denied on its socket)",
                           "add yourself to the docker group: `sudo usermod -aG docker $USER`, then log out and in")
    if result.returncode != 0:
        return DockerProbe(None, f"Docker is installed but not running: {failure(result)}", START_DOCKER)
    try:
        info = json.loads(result.stdout)
    except ValueError:
        info = None
    if not isinstance(info, dict):
        return DockerProbe(None, f"`docker info` printed something other than JSON: {result.stdout.strip()[:120]!r}",
                           "update the docker CLI (it must support `docker info --format '{{json .}}'`)")
    if info.get("ServerErrors") or not info.get("ServerVersion"):
        errors = info.get("ServerErrors")
        reason = "; ".join(map(str, errors)) if isinstance(errors, list) else "its daemon reports no server version"
        return DockerProbe(None, f"Docker is installed but not running: {reason[:300]}", START_DOCKER)
    return DockerProbe(info)


def require_docker_running(run: Callable[[list[str]], subprocess.CompletedProcess] = run_tool) -> dict:
    """`docker info` answers only when the daemon (Docker Desktop, OrbStack, colima) is up; returns its info."""
    probe = probe_docker(run)
    if probe.info is None:
        raise UserError(probe.problem, probe.fix)
    return probe.info


def docker_arch(run: Callable[[list[str]], subprocess.CompletedProcess] = run_tool) -> str | None:
    """The arch the nodes run as: the Docker engine's (its VM's on macOS). It can differ from this Python's, e.g. an
    x86_64 Python under Rosetta on Apple Silicon. None when Docker does not answer."""
    machine = (probe_docker(run).info or {}).get("Architecture")
    return host_arch(machine) if isinstance(machine, str) and machine else None


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
