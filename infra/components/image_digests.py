"""The digest of an image's linux/amd64 manifest, asked of its registry (OCI distribution API, anonymous pull token):
what an arm64 node must be given for an image whose tag is an index without an arm64 entry (`images.pin_amd64`).
Runs on the host while `pulumi up`/`preview` prepares the objects, bounded by a timeout per request.
"""
from __future__ import annotations

import hashlib
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from typing import Callable, Iterable

from kfp_laptop.errors import UserError

TIMEOUT_SECONDS = 15.0
ACCEPT = ", ".join(("application/vnd.oci.image.index.v1+json",
                    "application/vnd.docker.distribution.manifest.list.v2+json",
                    "application/vnd.oci.image.manifest.v1+json",
                    "application/vnd.docker.distribution.manifest.v2+json"))
INDEX_TYPES = ("application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json")
_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')


def reference(image: str) -> tuple[str, str, str]:
    """(registry host, repository, tag) of an image reference, Docker Hub's defaults filled in."""
    name, _, tag = image.rpartition(":") if ":" in image.rsplit("/", 1)[-1] else (image, "", "latest")
    first, _, rest = name.partition("/")
    if not rest or ("." not in first and ":" not in first and first != "localhost"):
        first, rest = "registry-1.docker.io", name if "/" in name else f"library/{name}"
    return first, rest, tag or "latest"


def _base(host: str) -> str:
    plain = host.startswith(("127.0.0.1", "localhost"))
    return f"{'http' if plain else 'https'}://{host}"


def _get(url: str, headers: dict, timeout: float, opener: Callable) -> tuple[bytes, dict]:
    with opener(urllib.request.Request(url, headers=headers), timeout=timeout) as response:
        return response.read(), dict(response.headers)


def _token(challenge: str, timeout: float, opener: Callable) -> str:
    fields = dict(_CHALLENGE.findall(challenge))
    realm = fields.pop("realm", "")
    if not challenge.lower().startswith("bearer") or not realm:
        raise ValueError(f"unsupported auth challenge {challenge!r}")
    body, _ = _get(f"{realm}?{urllib.parse.urlencode(fields)}", {}, timeout, opener)
    answer = json.loads(body)
    return answer.get("token") or answer["access_token"]


def amd64_digest(image: str, timeout: float = TIMEOUT_SECONDS, opener: Callable = urllib.request.urlopen) -> str:
    """sha256:... of the linux/amd64 manifest `image` names (its index's entry, or the manifest itself)."""
    host, repository, tag = reference(image)
    url = f"{_base(host)}/v2/{repository}/manifests/{tag}"
    headers = {"Accept": ACCEPT}
    try:
        body, answer = _get(url, headers, timeout, opener)
    except urllib.error.HTTPError as err:
        if err.code != 401:
            raise
        headers["Authorization"] = f"Bearer {_token(err.headers.get('WWW-Authenticate', ''), timeout, opener)}"
        body, answer = _get(url, headers, timeout, opener)
    manifest = json.loads(body)
    if manifest.get("mediaType") in INDEX_TYPES or "manifests" in manifest:
        for entry in manifest.get("manifests") or []:
            platform = entry.get("platform") or {}
            if platform.get("os") == "linux" and platform.get("architecture") == "amd64":
                return entry["digest"]
        raise ValueError("its index has no linux/amd64 manifest")
    return answer.get("Docker-Content-Digest") or "sha256:" + hashlib.sha256(body).hexdigest()


def resolve_amd64(images: Iterable[str], timeout: float = TIMEOUT_SECONDS,
                  opener: Callable = urllib.request.urlopen) -> dict[str, str]:
    """image -> amd64 manifest digest for each image; one UserError naming the first that cannot be resolved."""
    digests = {}
    for image in dict.fromkeys(images):
        try:
            digests[image] = amd64_digest(image, timeout, opener)
        except (urllib.error.URLError, OSError, ValueError, KeyError, TypeError) as err:
            reason = getattr(err, "reason", None) or err
            raise UserError(f"cannot find the amd64 manifest of {image} (needed on arm64, where its tag cannot be "
                            f"pulled): {reason}",
                            "connect to the network once for `inv up` (the registry is asked for the digest), "
                            "or set kfp-laptop:arch amd64 on an amd64 host") from None
    return digests
