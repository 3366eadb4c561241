"""The docker CLI, checked before use and driven with argv lists built as plain data."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from laptop.errors import UserError
from laptop.host import INSTALL_HINTS, require_docker_running


def require_docker() -> bool:
    """Fail with a clear message unless `docker` is on PATH and its daemon answers. Returns whether buildx is there."""
    if shutil.which("docker") is None:
        raise UserError("`docker` is not installed; building component images needs it", INSTALL_HINTS["docker"])
    require_docker_running()
    return subprocess.run(["docker", "buildx", "version"], capture_output=True, timeout=60).returncode == 0


def build_commands(ref: str, platform: str, context: Path, buildx: bool) -> list[list[str]]:
    """Commands that build `context` for `platform` and push it as `ref`.

    With buildx, one `buildx build --push` (cross-builds where QEMU/Rosetta is set up); `--provenance=false` keeps a
    plain image manifest, which every containerd pulls. Without buildx (e.g. a bare colima), `build` then `push`."""
    if buildx:
        return [["docker", "buildx", "build", "--platform", platform, "--provenance=false", "--tag", ref, "--push",
                 str(context)]]
    return [["docker", "build", "--platform", platform, "--tag", ref, str(context)], ["docker", "push", ref]]


def run(argv: list[str]) -> None:
    """Run one docker command with its output on the terminal; a failure becomes a UserError naming the command."""
    result = subprocess.run(argv)
    if result.returncode != 0:
        raise UserError(f"`{' '.join(argv[:3])} ...` failed (exit {result.returncode}); docker's output is above",
                        "fix what docker reports, then run `inv build-components` again")
