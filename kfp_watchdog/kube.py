"""The few Kubernetes API calls the watchdog makes, over urllib with the pod's service-account token.

Stdlib only (the watchdog runs from a plain Python image). Every call the watchdog makes is a method here, so its Role
can grant exactly these and nothing else. Writes are JSON merge patches (RFC 7386, `application/merge-patch+json`)
that carry `metadata.resourceVersion` when the caller read one: the API server then applies them only if the object
did not change since, and answers 409 Conflict otherwise (optimistic concurrency, kubernetes/kubernetes#63104).
Every answer's `Date` header sets the watchdog's clock (`kfp_watchdog.clock`).
"""
from __future__ import annotations

import http.client
import json
import os
import ssl
import urllib.error
import urllib.request
from pathlib import Path

from kfp_watchdog.clock import ApiClock, http_date, stamp

SERVICE_ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"   # the annotation `kubectl rollout restart` sets
RESTARTS = "kfp-laptop/watchdog-restarts"            # the watchdog's restarts of this Deployment, on the Deployment
COMPONENT = "kfp-laptop-watchdog"
MERGE_PATCH = "application/merge-patch+json"


class ApiError(Exception):
    """The API answered with an error (`status` is its HTTP code), or did not answer (`status` is None)."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class KubeApi:
    """A minimal client: base URL and credentials of the in-cluster API server (or a stand-in, for tests)."""

    def __init__(self, base_url: str, token_file: Path | None = None, ca_file: Path | None = None, timeout: float = 10,
                 clock: ApiClock | None = None):
        self.base_url = base_url.rstrip("/")
        self.token_file = token_file
        self.timeout = timeout
        self.context = ssl.create_default_context(cafile=str(ca_file)) if ca_file else None
        self.clock = clock or ApiClock()

    @classmethod
    def in_cluster(cls, service_account: Path = SERVICE_ACCOUNT) -> KubeApi:
        """The API server the pod's environment names, trusted through the mounted CA, called with the pod's token."""
        host, port = os.environ["KUBERNETES_SERVICE_HOST"], os.environ["KUBERNETES_SERVICE_PORT"]
        host = f"[{host}]" if ":" in host else host
        return cls(f"https://{host}:{port}", service_account / "token", service_account / "ca.crt")

    def list_pods(self, namespace: str) -> list[dict]:
        """The namespace's pods. `items: null` is an empty list (how Go encodes a nil slice); an answer without
        `items`, or with something else there, is not a PodList and raises."""
        path = f"/api/v1/namespaces/{namespace}/pods"
        answer = self._call("GET", path)
        if "items" not in answer or not isinstance(answer["items"], (list, type(None))):
            raise ApiError(f"GET {path}: the answer is not a pod list (no `items` list in it)")
        return [p for p in answer["items"] or [] if isinstance(p, dict)]

    def get_deployment(self, namespace: str, name: str) -> dict | None:
        """The Deployment, or None when it does not exist (404)."""
        return self._get_or_none(f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}")

    def restart_deployment(self, namespace: str, name: str, now: float, resource_version: str | None,
                           restarts: list[str]) -> dict:
        """What `kubectl rollout restart` does (a new template annotation makes the Deployment replace its pods),
        plus the watchdog's record of its restarts in the same write, only if the Deployment is still at
        `resource_version`. Returns the patched Deployment."""
        patch = {"metadata": {"annotations": {RESTARTS: json.dumps(restarts)}},
                 "spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: stamp(now)}}}}}
        if resource_version:
            patch["metadata"]["resourceVersion"] = resource_version
        return self._call("PATCH", f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}?fieldManager={COMPONENT}",
                          patch, MERGE_PATCH)

    def create_event(self, namespace: str, event: dict) -> None:
        self._call("POST", f"/api/v1/namespaces/{namespace}/events", event)

    def get_configmap(self, namespace: str, name: str) -> dict | None:
        """The ConfigMap, or None when it does not exist (404)."""
        return self._get_or_none(f"/api/v1/namespaces/{namespace}/configmaps/{name}")

    def patch_configmap(self, namespace: str, name: str, data: dict[str, str], resource_version: str | None) -> dict:
        """Set keys of `data`, only if the ConfigMap is still at `resource_version` (409 Conflict otherwise)."""
        patch: dict = {"data": data}
        if resource_version:
            patch["metadata"] = {"resourceVersion": resource_version}
        return self._call("PATCH", f"/api/v1/namespaces/{namespace}/configmaps/{name}?fieldManager={COMPONENT}",
                          patch, MERGE_PATCH)

    def _get_or_none(self, path: str) -> dict | None:
        try:
            return self._call("GET", path)
        except ApiError as err:
            if err.status == 404:
                return None
            raise

    def _call(self, method: str, path: str, body: dict | None = None, content_type: str = "application/json") -> dict:
        """One request; the answer must be a JSON object. Every failure, whatever its kind, is an ApiError."""
        headers = {"Accept": "application/json"}
        try:
            if self.token_file:
                headers["Authorization"] = f"Bearer {self.token_file.read_text().strip()}"  # re-read: tokens rotate
            data = None
            if body is not None:
                data, headers["Content-Type"] = json.dumps(body).encode(), content_type
            request = urllib.request.Request(self.base_url + path, data=data, method=method, headers=headers)
            with urllib.request.urlopen(request, timeout=self.timeout, context=self.context) as response:
                self.clock.saw_server_date(http_date(response.headers.get("Date")))
                raw = response.read()
        except urllib.error.HTTPError as err:
            self.clock.saw_server_date(http_date(err.headers.get("Date") if err.headers else None))
            raise ApiError(f"{method} {path}: HTTP {err.code} {_message(err)}", err.code) from None
        except (urllib.error.URLError, http.client.HTTPException, TimeoutError, OSError, ValueError) as err:
            raise ApiError(f"{method} {path}: {type(err).__name__}: {err}") from None
        try:
            answer = json.loads(raw or b"{}")
        except ValueError:
            raise ApiError(f"{method} {path}: the answer is not JSON: {raw[:80]!r}") from None
        if not isinstance(answer, dict):
            raise ApiError(f"{method} {path}: the answer is not a JSON object: {raw[:80]!r}")
        return answer


def _message(err: urllib.error.HTTPError) -> str:
    """The `message` of the API's Status answer, else the start of whatever it sent."""
    try:
        raw = err.read()[:2000]
    except (OSError, http.client.HTTPException):
        return ""
    try:
        status = json.loads(raw)
        if isinstance(status, dict) and isinstance(status.get("message"), str):
            return status["message"][:300]
    except ValueError:
        pass
    return raw[:200].decode(errors="replace")


def probe_healthz(pod_ip: str, port: int, path: str = "/healthz", timeout: float = 5) -> bool:
    """True when the pod's health endpoint answers 2xx within the timeout."""
    host = f"[{pod_ip}]" if ":" in pod_ip else pod_ip
    try:
        with urllib.request.urlopen(f"http://{host}:{port}{path}", timeout=timeout) as response:
            return 200 <= response.status < 300
    except (urllib.error.URLError, http.client.HTTPException, TimeoutError, OSError, ValueError):
        return False
