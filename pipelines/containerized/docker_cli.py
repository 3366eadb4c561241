"""The docker CLI, checked before use and driven with argv lists built as plain data."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from kfp_laptop.errors import UserError
from laptop.host import INSTALL_HINTS, require_docker_running


def require_docker() -> bool:
    """Fail with a clear message unless `docker` is on PATH and its daemon answers. Returns whether buildx is there."""
    if shutil.which("docker") is None:
        raise UserError("`docker` is not installed; building component images needs it", INSTALL_HINTS["docker"])
    require_docker_running()
    return subprocess.run(["docker", "buildx", "version"], capture_output=True, timeout=60).returncode == 0


def build_commands(ref: str, platform: str, context: Path, buildx: bool) -> list[list[str]]:
    """Commands that build `context` for `platform` into the local engine, then push it as `ref`.

    The push goes through the engine, as in kind's local-registry recipe: a docker-container buildx builder pushing by
    itself would resolve `localhost` inside its own container. `--load` puts the image in the engine whatever the
    builder; `--provenance=false` keeps a plain image manifest, which every containerd pulls."""
    build = (["docker", "buildx", "build", "--platform", platform, "--provenance=false", "--load"] if buildx
             else ["docker", "build", "--platform", platform])
    return [[*build, "--tag", ref, str(context)], ["docker", "push", ref]]


def run(argv: list[str]) -> None:
    """Run one docker command with its output on the terminal; a failure becomes a UserError naming the command."""
    result = subprocess.run(argv)
    if result.returncode != 0:
        raise UserError(f"`{' '.join(argv[:3])} ...` failed (exit {result.returncode}); docker's output is above",
                        "fix what docker reports, then run `inv build-components` again")
