"""Validate Kubernetes objects against the cluster version's OpenAPI schema (kubernetes-validate, offline)."""
from __future__ import annotations

import kubernetes_validate

from infra.topology import KUBERNETES_VERSION


def schema_errors(objects: list[dict], version: str = KUBERNETES_VERSION,
                  strict: bool = True) -> tuple[list[str], list[str]]:
    """Return (errors, unchecked): one line per invalid object, and the kinds with no schema (custom resources).

    An object of a kind without a schema is *not checkable*, never counted as valid.
    """
    errors, unchecked = [], []
    for obj in objects:
        meta = obj.get("metadata", {})
        ident = f"{obj.get('kind')}/{meta.get('namespace', '-')}/{meta.get('name')}"
        try:
            kubernetes_validate.validate(obj, version, strict=strict)
        except kubernetes_validate.SchemaNotFoundError:
            unchecked.append(ident)
        except kubernetes_validate.ValidationError as err:
            errors.append(f"{ident}: {err.message} at {'/'.join(map(str, err.path))}")
    return errors, unchecked
