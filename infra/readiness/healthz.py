"""What KFP's healthz answer means. Through the `ml-pipeline-ui` service (the only way this project reaches KFP) the
UI server answers `/apis/v2beta1/healthz` itself, with HTTP 200 even when the API server behind it is down; only its
JSON field `apiServerReady` tells (kubeflow/pipelines frontend/server/handlers/healthz.ts, same at 2.14.x to 2.17.0).
The API server's own healthz (e.g. through a port-forward to `ml-pipeline`) has no such field but a `commit_sha`.
"""
from __future__ import annotations

import json

from infra import topology

PATH = topology.KFP_HEALTHZ_PATH


def healthz_problem(body: bytes | str) -> str | None:
    """None when a 200 healthz answer says the KFP API server is ready, else what is wrong, for a message."""
    try:
        answer = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError):
        answer = None
    if not isinstance(answer, dict):
        return "its healthz answer is not KFP's JSON (is another program listening on that port?)"
    if "apiServerReady" in answer:
        if answer["apiServerReady"] is True:
            return None
        return "the KFP API server behind the UI is not ready (healthz says apiServerReady: false)"
    if "commit_sha" in answer or "tag_name" in answer:
        return None
    return "its healthz answer says nothing about the KFP API server (no apiServerReady)"
