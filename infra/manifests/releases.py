"""Facts that differ per KFP release, read at the release tags of kubeflow/pipelines (sources named per fact), and
the release a set of manifests really is.

- Multi-arch images: the release workflows before 2.17.0 (.github/workflows/ at 2.14.x, 2.15.0, 2.16.1) build with
  no `platforms`, i.e. linux/amd64 only; 2.17.0's `image-builds-release.yml` adds linux/arm64 to its matrix except for
  kfp-metadata-writer and kfp-inverse-proxy-agent, whose tags are then published as an image index holding amd64
  alone (`buildx imagetools create`). An arm64 node refuses such an index even where the VM could emulate amd64.
- The release a render is: ConfigMap `pipeline-install-config`, key `appVersion` (every release since 2.0), and the
  tag of KFP's own images (`ghcr.io/kubeflow/kfp-*`).
"""
from __future__ import annotations

import re

from kfp_laptop.errors import UserError

MULTI_ARCH_FROM = (2, 17, 0)
ARM64_EXCLUDED = ("kfp-metadata-writer", "kfp-inverse-proxy-agent")   # 2.17.0 image-builds-release.yml `exclude`
KFP_IMAGES = "ghcr.io/kubeflow/"
INSTALL_CONFIG = "pipeline-install-config"
_RELEASE = re.compile(r"(\d+)\.(\d+)\.(\d+)")


def release(text: str) -> tuple[int, int, int] | None:
    """(major, minor, patch) of a release tag like 2.17.0; None for anything else (e.g. `master`)."""
    found = _RELEASE.fullmatch(text or "")
    return tuple(int(part) for part in found.groups()) if found else None


def kfp_image_arm64(name: str, tag: str) -> tuple[bool, str]:
    """(has an arm64 build, why) for KFP's own image `name` (e.g. kfp-api-server) at `tag`."""
    version = release(tag)
    if version is None:
        return False, f"tag {tag} is no KFP release: assumed amd64 only"
    if version < MULTI_ARCH_FROM:
        return False, f"KFP {tag}'s release workflow builds linux/amd64 only (multi-arch starts with 2.17.0)"
    if name in ARM64_EXCLUDED:
        return False, f"excluded from KFP {tag}'s arm64 builds: its tag is an index holding amd64 only"
    return True, f"KFP {tag}'s release workflow builds linux/arm64"


def manifests_version(objects: list[dict]) -> set[str]:
    """Every release the objects name: `appVersion` of pipeline-install-config and the tags of KFP's images."""
    named = set()
    for obj in objects:
        if obj.get("kind") == "ConfigMap" and obj.get("metadata", {}).get("name") == INSTALL_CONFIG:
            if (obj.get("data") or {}).get("appVersion"):
                named.add(str(obj["data"]["appVersion"]))
    for text in _strings(objects):
        if text.startswith(KFP_IMAGES + "kfp-") and ":" in text:
            named.add(text.rsplit(":", 1)[1])
    return named


def _strings(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, str):
        yield value


def require_version(objects: list[dict], version: str, where: str) -> None:
    """UserError unless the objects are KFP `version` and nothing else (`where`: the folder, for the message).
    Objects naming no release at all lack KFP's own workloads, which patching then names as missing."""
    named = manifests_version(objects)
    if not named or named == {version}:
        return
    listed = ", ".join(sorted(named))
    if len(named) > 1:
        raise UserError(f"{where} mixes KFP releases ({listed})", "render it again from one KFP release tag")
    raise UserError(f"{where} holds KFP {listed}, but kfpVersion is {version}",
                    f"run `pulumi config set kfp-laptop:kfpVersion {listed}` (or pass --kfp-version {listed}), "
                    "or point kfpManifests at a render of KFP " + version)
