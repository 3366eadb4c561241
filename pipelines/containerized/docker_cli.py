"""The docker CLI, checked before use and driven with argv lists built as plain data."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from infra.tools import run_tool
from kfp_laptop.errors import UserError
from laptop.host import INSTALL_HINTS, require_docker_running


def require_docker() -> bool:
    """Fail with a clear message unless `docker` is on PATH and its daemon answers. Returns whether buildx is there."""
    if shutil.which("docker") is None:
        raise UserError("`docker` is not installed; building component images needs it", INSTALL_HINTS["docker"])
    require_docker_running()
    return run_tool(["docker", "buildx", "version"]).returncode == 0   # hung or missing: build without buildx


def build_commands(ref: str, platform: str, context: Path, buildx: bool) -> list[list[str]]:
    """Commands that build `context` for `platform` into the local engine, then push it as `ref`.

    The push goes through the engine, as in kind's local-registry recipe: a docker-container buildx builder pushing by
    itself would resolve `localhost` inside its own container. `--load` puts the image in the engine whatever the
    builder; `--provenance=false` keeps a plain image manifest, which every containerd pulls."""
    build = (["docker", "buildx", "build", "--platform", platform, "--provenance=false", "--load"] if buildx
             else ["docker", "build", "--platform", platform])
    return [[*build, "--tag", ref, str(context)], ["docker", "push", ref]]


BUILD_SECONDS = 1800   # a first build pulls the base image and installs the pinned packages


def run(argv: list[str], timeout: float = BUILD_SECONDS) -> None:
    """Run one docker command with its output on the terminal; a failure, a kill or a hang past `timeout` becomes
    a UserError naming the command."""
    try:
        result = subprocess.run(argv, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise UserError(f"`{' '.join(argv[:3])} ...` did not finish within {timeout:g} s and was stopped",
                        "check that Docker answers (`docker info`) and has network access, then run "
                        "`inv build-components` again") from None
    except OSError as err:
        raise UserError(f"`{argv[0]}` cannot be run: {err.strerror or err}", INSTALL_HINTS["docker"]) from None
    if result.returncode != 0:
        code = result.returncode
        how = f"was killed (signal {-code})" if code < 0 else f"failed (exit {code})"
        raise UserError(f"`{' '.join(argv[:3])} ...` {how}; docker's output is above",
                        "fix what docker reports, then run `inv build-components` again")
