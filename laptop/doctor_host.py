"""`inv doctor` before `up`: is this machine able to run the stack? Docker and its resources, the tools, the host
ports, and on Apple Silicon whether amd64 images can run at all.

Each check runs the real command (or binds the real port); `run` is a parameter only so a missing binary is a result,
not a crash.
"""
from __future__ import annotations

import json
import shutil
import socket
import subprocess
from typing import Callable

from laptop.checks import FAIL, OK, WARN, Check
from laptop.host import INSTALL_HINTS

Runner = Callable[[list[str]], subprocess.CompletedProcess]
GIB = 2**30
# What the stack reserves (about 3 GiB of requests) plus room for pipeline pods and the node itself.
MIN_MEMORY_GIB, GOOD_MEMORY_GIB = 6, 8
MIN_CPUS, GOOD_CPUS = 2, 4
DOCKER_RESOURCES_FIX = ("give Docker more: Docker Desktop > Settings > Resources, `colima start --cpu 4 --memory 8`, "
                        "or OrbStack > Settings > System")
VERSION_COMMANDS = {
    "docker": ["docker", "version", "--format", "{{.Client.Version}}"],
    "kind": ["kind", "version"],
    "k3d": ["k3d", "version"],
    "pulumi": ["pulumi", "version"],
    "kubectl": ["kubectl", "version", "--client"],
}


def run_command(argv: list[str], timeout: float = 60) -> subprocess.CompletedProcess:
    """Run a command; a missing binary or a hang is returned as a failed process (returncode 127 / 124)."""
    if not shutil.which(argv[0]):
        return subprocess.CompletedProcess(argv, 127, "", f"{argv[0]}: not found")
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(argv, 124, "", f"{argv[0]} did not answer within {timeout:.0f} s")


def tool_check(tool: str, needed: bool, run: Runner = run_command) -> Check:
    """Present, with its version; a missing tool the stack needs fails with the install command."""
    result = run(VERSION_COMMANDS[tool])
    if result.returncode == 0:
        first = (result.stdout.strip().splitlines() or ["(no version printed)"])[0]
        return Check(tool, OK, first)
    if result.returncode == 127:
        detail = "not installed" + ("" if needed else " (not needed for this engine)")
        return Check(tool, FAIL if needed else OK, detail, INSTALL_HINTS[tool] if needed else "")
    return Check(tool, FAIL if needed else WARN, _last_line(result), INSTALL_HINTS[tool])


def docker_check(run: Runner = run_command) -> tuple[Check, dict | None]:
    """Docker's daemon answering, and the memory and CPUs its VM gets; also returns `docker info` for later checks."""
    result = run(["docker", "info", "--format", "{{json .}}"])
    if result.returncode == 127:
        return Check("docker engine", FAIL, "docker is not installed", INSTALL_HINTS["docker"]), None
    if result.returncode != 0:
        return Check("docker engine", FAIL, f"not reachable: {_last_line(result)}",
                     "start Docker Desktop / OrbStack / `colima start`, "
                     "or `sudo systemctl start docker` on Linux"), None
    info = json.loads(result.stdout)
    return docker_resources(info), info


def docker_resources(info: dict) -> Check:
    memory, cpus = info.get("MemTotal", 0) / GIB, info.get("NCPU", 0)
    detail = (f"server {info.get('ServerVersion', '?')}, {memory:.1f} GiB memory, {cpus} CPUs, "
              f"{info.get('Architecture', '?')}")
    if memory < MIN_MEMORY_GIB or cpus < MIN_CPUS:
        return Check("docker engine", FAIL, f"{detail}: KFP needs at least {MIN_MEMORY_GIB} GiB and {MIN_CPUS} CPUs",
                     DOCKER_RESOURCES_FIX)
    if memory < GOOD_MEMORY_GIB or cpus < GOOD_CPUS:
        return Check("docker engine", WARN, f"{detail}: runs, but {GOOD_MEMORY_GIB} GiB and {GOOD_CPUS} CPUs leave "
                     "room for pipelines", DOCKER_RESOURCES_FIX)
    return Check("docker engine", OK, detail)


def port_check(name: str, port: int, host: str = "127.0.0.1") -> Check:
    """Free when we can bind it ourselves, exactly as the cluster will have to."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError as err:
            return Check(f"port {port} ({name})", FAIL, f"{host}:{port} is taken: {err.strerror}",
                         f"find the owner with `lsof -nP -iTCP:{port} -sTCP:LISTEN` and stop it, "
                         "or choose another port: "
                         f"`pulumi config set kfp-laptop:{name} <port>`")
    return Check(f"port {port} ({name})", OK, f"{host}:{port} is free")


def emulation_check(image: str, run: Runner = run_command) -> Check:
    """On an arm64 host: can the Docker VM run an amd64 image (needed for KFP images without arm64 builds)?"""
    result = run(["docker", "run", "--rm", "--platform", "linux/amd64", image,
                  "python", "-c", "import platform; print(platform.machine())"])
    machine = result.stdout.strip()
    if result.returncode == 0 and machine == "x86_64":
        return Check("amd64 emulation", OK, f"amd64 containers run (checked with {image})")
    return Check("amd64 emulation", FAIL, f"an amd64 container did not run: {machine or _last_line(result)}",
                 "enable it: Docker Desktop > Settings > General > 'Use Rosetta for x86_64/amd64 emulation', "
                 "`colima start --vm-type vz --vz-rosetta`, or OrbStack (on by default); see `inv image-plan`")


def _last_line(result: subprocess.CompletedProcess) -> str:
    lines = (result.stderr or result.stdout or "").strip().splitlines()
    return lines[-1] if lines else f"exit status {result.returncode}"
