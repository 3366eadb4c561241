"""dataDir ownership: which folders kfp-laptop may claim, what it writes there, and the shell step that claims one.

A folder is claimed (gets the marker) only when kfp-laptop creates it, finds it empty, or finds its own marker there;
`inv down --purge` deletes only the entries listed here, so nothing the project did not write can be lost.
"""
from __future__ import annotations

import shlex
from pathlib import Path

MARKER = ".kfp-laptop-data"
# Everything kfp-laptop writes into dataDir: one folder per stateful server, plus the marker.
MYSQL, MINIO, REGISTRY = "mysql", "minio", "registry"
DATA_FOLDERS = (MYSQL, MINIO, REGISTRY)


def claim_problem(path: Path) -> str | None:
    """Why kfp-laptop may not use `path` as dataDir (None when it may): a folder that already holds anything, without
    our marker, belongs to someone else."""
    if not path.exists():
        return None
    if path.is_symlink() or not path.is_dir():
        return "this path is not a folder of its own (a file or a symbolic link)"
    if (path / MARKER).is_file():
        return None
    try:
        foreign = sorted(entry.name for entry in path.iterdir())
    except OSError as err:
        return f"it cannot be listed ({err.strerror or err})"
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        return f"it already holds files kfp-laptop did not write ({shown})"
    return None


def claim_command(path: Path) -> str:
    """Shell lines that claim `path` (the same rule as `claim_problem`, checked again when the step runs) and leave
    the marker; the step fails with one message naming the folder otherwise."""
    folder = shlex.quote(str(path))
    refusal = shlex.quote(f"kfp-laptop: dataDir {path} already holds files kfp-laptop did not write; choose a new "
                          "or empty folder: pulumi config set kfp-laptop:dataDir PATH")
    return "\n".join([
        f'if [ -e {folder} ] && [ ! -f {folder}/{MARKER} ] && [ -n "$(ls -A {folder} 2>/dev/null || echo x)" ]; then',
        f"  echo {refusal} >&2; exit 1",
        "fi",
        f"mkdir -p {folder}",
        f"touch {folder}/{MARKER}",
    ])
