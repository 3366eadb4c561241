"""Ask the registry (Docker Registry HTTP API v2) whether an image tag is already there, so unchanged images are
skipped."""
from __future__ import annotations

import http.client
import urllib.error
import urllib.request

from kfp_laptop.errors import UserError

# Every manifest kind `docker push` / `buildx --push` may store; without them the registry may answer 404 for an index.
MANIFEST_TYPES = ", ".join([
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
])
TIMEOUT_S = 5


def require_registry(api_base: str) -> None:
    """The registry answers its version check (`GET /v2/`), or the user learns the stack is down."""
    try:
        with urllib.request.urlopen(f"{api_base}/v2/", timeout=TIMEOUT_S):
            return
    except urllib.error.HTTPError as err:
        if err.code == 401:   # a registry with auth still answers; pushes will say more
            return
        problem = f"the stack's registry at {api_base} answered HTTP {err.code} to /v2/"
    except (urllib.error.URLError, http.client.HTTPException, OSError) as err:
        problem = f"the stack's registry at {api_base} does not answer ({getattr(err, 'reason', err)})"
    raise UserError(problem, "start the stack with `inv up` (or check it with `inv doctor`), then run this again")


def manifest_exists(api_base: str, repository: str, tag: str) -> bool:
    """True when `repository:tag` is in the registry (HEAD /v2/<name>/manifests/<tag> answers 200)."""
    request = urllib.request.Request(f"{api_base}/v2/{repository}/manifests/{tag}", method="HEAD",
                                     headers={"Accept": MANIFEST_TYPES})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            return response.status == 200
    except urllib.error.HTTPError as err:
        if err.code == 404:
            return False
        raise UserError(f"the registry at {api_base} answered HTTP {err.code} for {repository}:{tag}",
                        "check the registry with `inv doctor`") from None
    # It answered /v2/ a moment ago: it went away or is stuck.
    except (urllib.error.URLError, http.client.HTTPException, OSError) as err:
        raise UserError(f"the registry at {api_base} stopped answering while looking up {repository}:{tag} "
                        f"({getattr(err, 'reason', err)})", "check the registry with `inv doctor`") from None
