"""`inv down --purge`: delete a stack's dataDir, but only a folder this project created (it carries our marker)."""
from __future__ import annotations

import shutil
from pathlib import Path

from infra.cluster.engine import DATA_DIR_MARKER
from kfp_laptop.errors import UserError


def purge_data_dir(path: Path) -> bool:
    """Delete `path` when it holds the marker the cluster's create step writes; False when there was nothing."""
    if not path.exists():
        return False
    if not (path / DATA_DIR_MARKER).is_file():
        raise UserError(f"refusing to delete {path}: it has no {DATA_DIR_MARKER} marker, "
                        "so kfp-laptop did not create it",
                        f"delete it yourself if you are sure: rm -rf {path}")
    try:
        shutil.rmtree(path)
    except PermissionError as err:
        # On Linux, MySQL and MinIO write as root/their own uid inside the node container.
        raise UserError(f"could not delete {err.filename}: it belongs to a container's user",
                        f"sudo rm -rf {path}") from None
    return True
