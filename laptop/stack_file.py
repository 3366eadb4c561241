"""A stack's own settings file, `Pulumi.<stack>.yaml`, read directly (`inv doctor` needs no Pulumi CLI for it)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from infra.config import PROJECT
from kfp_laptop.errors import UserError


def own_settings(path: Path) -> dict[str, Any]:
    """The `kfp-laptop:` keys the file sets (key without prefix -> value; secure values stay `{secure: ...}`),
    {} when there is no file; UserError naming the file when it is not a Pulumi stack settings file."""
    if not path.is_file():
        return {}
    fix = f"correct or delete {path} (then `pulumi config set {PROJECT}:KEY VALUE` writes it again)"
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as err:
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise UserError(f"cannot read {path.name}{where}: {str(err).splitlines()[0]}", fix) from None
    config = (document.get("config") or {}) if isinstance(document, dict) else None
    if not isinstance(config, dict):
        raise UserError(f"{path.name} is not a stack settings file: it must be a mapping whose `config` is a "
                        "mapping of key: value", fix)
    prefix = f"{PROJECT}:"
    return {key[len(prefix):]: value for key, value in config.items() if str(key).startswith(prefix)}
