"""`inv down --purge`: delete what kfp-laptop wrote into a stack's dataDir (its marker and its data folders, see
`infra.data_dir`), and nothing else: a folder without the marker, or with anything else in it, is refused whole."""
from __future__ import annotations

import shutil
from pathlib import Path

from infra.cluster.registry_container import REGISTRY_IMAGE
from infra.data_dir import DATA_FOLDERS, MARKER
from infra.tools import failure, run_tool
from kfp_laptop.errors import UserError

DOCKER_DELETE_SECONDS = 300
KEEP_FIX = "nothing was deleted; move your own files out of it and run `inv down --purge` again, or keep the folder"


def purgeable(path: Path) -> bool:
    """True when `purge_data_dir(path)` would delete something, False when there is nothing; UserError (before
    anything is destroyed) when `path` holds what kfp-laptop did not write."""
    if not path.exists() and not path.is_symlink():
        return False
    if path.is_symlink() or not path.is_dir():
        raise UserError(f"refusing to delete {path}: it is not a folder kfp-laptop created (a file or a link)",
                        KEEP_FIX)
    if not (path / MARKER).is_file() or (path / MARKER).is_symlink():
        raise UserError(f"refusing to delete {path}: it has no {MARKER} marker, so kfp-laptop did not create it",
                        KEEP_FIX)
    foreign = sorted(entry.name for entry in path.iterdir() if not _ours(entry))
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise UserError(f"refusing to delete {path}: it also holds {shown}, which kfp-laptop did not write", KEEP_FIX)
    return True


def _ours(entry: Path) -> bool:
    if entry.name == MARKER:
        return entry.is_file() and not entry.is_symlink()
    return entry.name in DATA_FOLDERS and entry.is_dir() and not entry.is_symlink()


def purge_data_dir(path: Path) -> bool:
    """Delete kfp-laptop's data folders and marker in `path`, then the folder once empty; False when there was
    nothing. Files the servers wrote as their container's user (Linux) are deleted through a container."""
    if not purgeable(path):
        return False
    folders = [path / name for name in DATA_FOLDERS if (path / name).is_dir()]
    try:
        for folder in folders:
            shutil.rmtree(folder)
    except PermissionError:
        _delete_through_docker(path, [f.name for f in folders if f.exists()])
    (path / MARKER).unlink()
    try:
        path.rmdir()
    except OSError as err:   # something appeared meanwhile: leave it
        raise UserError(f"deleted kfp-laptop's data in {path}, but not the folder: {err.strerror or err}",
                        "look at what is left in it") from None
    return True


def _delete_through_docker(path: Path, names: list[str]) -> None:
    """MySQL and MinIO write as their own uid inside the node container: their files are deleted as that root,
    through a throwaway container of the registry image (already pulled), with only dataDir mounted."""
    argv = ["docker", "run", "--rm", "--entrypoint", "rm", "-v", f"{path}:/data", REGISTRY_IMAGE, "-rf",
            *(f"/data/{name}" for name in names)]
    result = run_tool(argv, timeout=DOCKER_DELETE_SECONDS)
    if result.returncode != 0:
        raise UserError(failure(result), f"{path} holds files that belong to a container's user and only Docker may "
                        "delete them: start Docker, then run `inv down --purge` again")
