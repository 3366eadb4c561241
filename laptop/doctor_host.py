"""`inv doctor` before `up`: is this machine able to run the stack? Docker and its resources, the tools, the host
ports, and on Apple Silicon whether amd64 images can run at all.

Each check runs the real command (or binds the real port) through `infra.tools.run_tool`, so a missing, hung or
failing binary is a finding, not a crash; `run` is a parameter only for tests.
"""
from __future__ import annotations

import re
import socket
import subprocess
from typing import Callable

from infra.tools import NOT_FOUND, failure, run_tool
from laptop.checks import FAIL, OK, WARN, Check
from laptop.host import INSTALL_HINTS, probe_docker

Runner = Callable[[list[str]], subprocess.CompletedProcess]
GIB = 2**30
# What the stack reserves (about 3 GiB of requests) plus room for pipeline pods and the node itself.
MIN_MEMORY_GIB, GOOD_MEMORY_GIB = 6, 8
MIN_CPUS, GOOD_CPUS = 2, 4
DOCKER_RESOURCES_FIX = ("give Docker more: Docker Desktop > Settings > Resources, `colima start --cpu 4 --memory 8`, "
                        "or OrbStack > Settings > System")
_VERSION = re.compile(r"v?[0-9]+\.[0-9]+(?:\.[0-9]+)?")
VERSION_COMMANDS = {
    "docker": ["docker", "version", "--format", "{{.Client.Version}}"],
    "kind": ["kind", "version"],
    "k3d": ["k3d", "version"],
    "pulumi": ["pulumi", "version"],
    "kubectl": ["kubectl", "version", "--client"],
}


def tool_check(tool: str, needed: bool, run: Runner = run_tool) -> Check:
    """Present, with a version it can name; a missing tool the stack needs fails with the install command. A tool
    that hangs, is killed, fails or prints no version it can read is named with what it did."""
    result = run(VERSION_COMMANDS[tool])
    if result.returncode == NOT_FOUND:
        detail = "not installed" + ("" if needed else " (not needed for this engine)")
        return Check(tool, FAIL if needed else OK, detail, INSTALL_HINTS[tool] if needed else "")
    if result.returncode != 0:
        return Check(tool, FAIL if needed else WARN, failure(result), INSTALL_HINTS[tool])
    version = _VERSION.search(result.stdout or "")
    if not version:
        printed = (result.stdout or "").strip()[:80]
        return Check(tool, FAIL if needed else WARN, f"`{' '.join(VERSION_COMMANDS[tool][:2])}` printed no version "
                     f"(got {printed!r})", f"reinstall it: {INSTALL_HINTS[tool]}")
    line = next(line for line in result.stdout.splitlines() if version.group(0) in line)
    return Check(tool, OK, line.strip()[:200])


def docker_check(run: Runner = run_tool) -> tuple[Check, dict | None]:
    """Docker's daemon answering, and the memory and CPUs its VM gets; also returns `docker info` for later checks."""
    probe = probe_docker(run)
    if probe.info is None:
        return Check("docker engine", FAIL, probe.problem, probe.fix), None
    return docker_resources(probe.info), probe.info


def _number(info: dict, key: str) -> float:
    """A number from `docker info` (0 when absent or not a number: its format differs between engines)."""
    value = info.get(key)
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


def docker_resources(info: dict) -> Check:
    memory, cpus = _number(info, "MemTotal") / GIB, _number(info, "NCPU")
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


PULL_SECONDS = 180   # the check's image may have to be pulled first


def emulation_check(image: str, run: Runner | None = None) -> Check:
    """On an arm64 host: can the Docker VM run an amd64 image (needed for KFP images without arm64 builds)?"""
    run = run or (lambda argv: run_tool(argv, timeout=PULL_SECONDS))
    result = run(["docker", "run", "--rm", "--platform", "linux/amd64", image,
                  "python", "-c", "import platform; print(platform.machine())"])
    machine = result.stdout.strip()
    if result.returncode == 0 and machine == "x86_64":
        return Check("amd64 emulation", OK, f"amd64 containers run (checked with {image})")
    found = machine if result.returncode == 0 else failure(result)
    return Check("amd64 emulation", FAIL, f"an amd64 container did not run: {found or 'it printed nothing'}",
                 "enable it: Docker Desktop > Settings > General > 'Use Rosetta for x86_64/amd64 emulation', "
                 "`colima start --vm-type vz --vz-rosetta`, or OrbStack (on by default); see `inv image-plan`")
