"""The stack's secrets passphrase lives in a user-only file outside the repository, never in the environment or a
log."""
from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from infra.config import laptop_home
from kfp_laptop.errors import UserError

PASSPHRASE_ENV = ("PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE")


def passphrase_file() -> Path:
    return laptop_home() / "passphrase"


def ensure_passphrase_file() -> Path:
    """Create the passphrase file (0600, in a 0700 folder) on first use; tighten both modes when they are looser
    (a folder that existed before, created with the user's umask, or loosened by hand)."""
    path = passphrase_file()
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if stat.S_IMODE(path.parent.stat().st_mode) & 0o077:
            path.parent.chmod(0o700)
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(32) + "\n")
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            path.chmod(0o600)
    except OSError as err:
        raise UserError(f"cannot create the stack's secrets passphrase file {path}: {err.strerror or err}",
                        "make its folder writable by you, or set KFP_LAPTOP_HOME to a folder of yours") from None
    return path


def passphrase_env(create: bool) -> dict[str, str]:
    """Environment for the pulumi CLI: the user's own passphrase setting wins; else our file (created if asked)."""
    if any(os.environ.get(name) for name in PASSPHRASE_ENV):
        return {}
    path = ensure_passphrase_file() if create else passphrase_file()
    if not path.is_file():
        raise UserError(f"the stack's secrets passphrase file {path} is missing",
                        "run `inv up` on this laptop first, or set PULUMI_CONFIG_PASSPHRASE_FILE to the file "
                        "that holds the passphrase this stack was created with")
    return {"PULUMI_CONFIG_PASSPHRASE_FILE": str(path)}
