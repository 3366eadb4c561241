"""A stand-in for the stack's registry: the parts of the Docker Registry HTTP API v2 (distribution `registry:2`)
that `inv build-components` uses. `GET /v2/` answers 200 with the API version header; `HEAD /v2/<name>/manifests/<tag>`
answers 200 with a digest for a stored tag and 404 (`MANIFEST_UNKNOWN`) otherwise. Every request's method, path and
Accept header is recorded."""
from __future__ import annotations

from tests.support.http import Reply, Request


class RegistryApi:
    def __init__(self, stored: set[str] | None = None):
        self.stored = stored if stored is not None else set()   # "name:tag"
        self.requests: list[tuple[str, str, str]] = []

    def __call__(self, request: Request) -> Reply:
        self.requests.append((request.method, request.path, request.headers.get("Accept", "")))
        parts = request.path.split("/")
        headers = {"Docker-Distribution-API-Version": "registry/2.0"}
        if request.path == "/v2/":
            return Reply(200, b"{}", headers={**headers, "Docker-Content-Digest": "sha256:" + "0" * 64})
        if request.path.startswith("/v2/") and parts[-2] == "manifests":
            if f"{'/'.join(parts[2:-2])}:{parts[-1]}" in self.stored:
                return Reply(200, b'{"schemaVersion": 2}',
                             headers={**headers, "Docker-Content-Digest": "sha256:" + "0" * 64})
            return Reply(404, b'{"errors": [{"code": "MANIFEST_UNKNOWN"}]}', headers=headers)
        return Reply(404, b"{}", headers=headers)
