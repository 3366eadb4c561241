"""The few Kubernetes API calls the watchdog makes, over urllib with the pod's service-account token.

Stdlib only (the watchdog runs from a plain Python image). Every call the watchdog makes is a method here, so its Role
can grant exactly these and nothing else.
"""
from __future__ import annotations

import json
import os
import ssl
import urllib.error
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

SERVICE_ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"   # the annotation `kubectl rollout restart` sets
COMPONENT = "kfp-laptop-watchdog"


class ApiError(Exception):
    """The API answered with an error, or did not answer (timeout, connection refused)."""


class KubeApi:
    """A minimal client: base URL and credentials of the in-cluster API server (or a stand-in, for tests)."""

    def __init__(self, base_url: str, token_file: Path | None = None, ca_file: Path | None = None, timeout: float = 10):
        self.base_url = base_url.rstrip("/")
        self.token_file = token_file
        self.timeout = timeout
        self.context = ssl.create_default_context(cafile=str(ca_file)) if ca_file else None

    @classmethod
    def in_cluster(cls, service_account: Path = SERVICE_ACCOUNT) -> "KubeApi":
        """The API server the pod's environment names, trusted through the mounted CA, called with the pod's token."""
        host, port = os.environ["KUBERNETES_SERVICE_HOST"], os.environ["KUBERNETES_SERVICE_PORT"]
        host = f"[{host}]" if ":" in host else host
        return cls(f"https://{host}:{port}", service_account / "token", service_account / "ca.crt")

    def list_pods(self, namespace: str) -> list[dict]:
        return self._call("GET", f"/api/v1/namespaces/{namespace}/pods")["items"]

    def restart_deployment(self, namespace: str, name: str, now: float) -> str:
        """What `kubectl rollout restart` does: a new template annotation makes the Deployment replace its pods.
        Returns the Deployment's uid (for the Event that reports the restart)."""
        stamp = datetime.fromtimestamp(now, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        patch = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: stamp}}}}}
        answer = self._call("PATCH", f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}", patch,
                            "application/strategic-merge-patch+json")
        return answer.get("metadata", {}).get("uid", "")

    def create_event(self, namespace: str, event: dict) -> None:
        self._call("POST", f"/api/v1/namespaces/{namespace}/events", event)

    def get_configmap(self, namespace: str, name: str) -> dict:
        return self._call("GET", f"/api/v1/namespaces/{namespace}/configmaps/{name}")

    def patch_configmap(self, namespace: str, name: str, data: dict[str, str]) -> None:
        self._call("PATCH", f"/api/v1/namespaces/{namespace}/configmaps/{name}", {"data": data},
                   "application/merge-patch+json")

    def _call(self, method: str, path: str, body: dict | None = None, content_type: str = "application/json") -> dict:
        headers = {"Accept": "application/json"}
        if self.token_file:
            headers["Authorization"] = f"Bearer {self.token_file.read_text().strip()}"  # re-read: tokens rotate
        data = None
        if body is not None:
            data, headers["Content-Type"] = json.dumps(body).encode(), content_type
        request = urllib.request.Request(self.base_url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout, context=self.context) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as err:
            raise ApiError(f"{method} {path}: HTTP {err.code} {err.read()[:200].decode(errors='replace')}") from None
        except (urllib.error.URLError, TimeoutError, OSError, ValueError) as err:
            raise ApiError(f"{method} {path}: {err}") from None


def probe_healthz(pod_ip: str, port: int, path: str = "/healthz", timeout: float = 5) -> bool:
    """True when the pod's health endpoint answers 2xx within the timeout."""
    host = f"[{pod_ip}]" if ":" in pod_ip else pod_ip
    try:
        with urllib.request.urlopen(f"http://{host}:{port}{path}", timeout=timeout) as response:
            return 200 <= response.status < 300
    except (urllib.error.URLError, TimeoutError, OSError, ValueError):
        return False
