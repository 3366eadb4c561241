"""One image to build, as plain data: its build context, platform and content-derived tag."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Mapping

REPOSITORY_PREFIX = "kfp-laptop"
TAG_LENGTH = 16


def content_tag(files: Mapping[str, str], platform: str) -> str:
    """A tag that changes exactly when the build context or the platform does, so an unchanged image is not rebuilt.

    The platform is part of it: an arm64 image must never satisfy an amd64 cluster under the same tag."""
    digest = hashlib.sha256(platform.encode())
    for path in sorted(files):
        digest.update(b"\0" + path.encode() + b"\0" + files[path].encode())
    return digest.hexdigest()[:TAG_LENGTH]


@dataclass(frozen=True)
class ImageBuild:
    """`files` is the whole build context (relative path -> text), Dockerfile included."""

    name: str
    registry: str
    platform: str
    files: Mapping[str, str] = field(repr=False)

    @property
    def repository(self) -> str:
        return f"{REPOSITORY_PREFIX}/{self.name}"

    @property
    def tag(self) -> str:
        return content_tag(self.files, self.platform)

    @property
    def ref(self) -> str:
        return f"{self.registry}/{self.repository}:{self.tag}"
