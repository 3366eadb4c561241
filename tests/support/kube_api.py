"""A stand-in Kubernetes API server on 127.0.0.1 for the few endpoints the watchdog uses, shared by its tests.

It stands in for the API server, the Deployment controller and the controller's /healthz only because this machine has
no cluster. Where the watchdog depends on the real server's behaviour it behaves the same way: every write bumps
`metadata.resourceVersion`; a PATCH is a JSON merge patch (RFC 7386) accepted only with a patch content type (415
otherwise) and, when it carries `metadata.resourceVersion`, only if that is still current (409 Conflict with a
Status body otherwise); a missing object is 404; every answer carries a `Date` header, from the stand-in's own `clock`
(`VirtualTime` lets a test run hours of checks in milliseconds). Faults are queued per request (`fail`).
"""
from __future__ import annotations

import copy
import json
import re
import threading
import time
from email.utils import formatdate

import pytest

from tests.support.http import DROP, Reply, Request, StandInServer

NS = "kubeflow"
STATUS_CONFIGMAP = "kfp-watchdog-status"
PATCH_TYPES = ("application/merge-patch+json", "application/strategic-merge-patch+json")
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"


def make_pod(deployment: str, suffix: str, *, crash: bool = False, ready: bool = True) -> dict:
    """A pod as the API returns it; `crash` = container in CrashLoopBackOff after many restarts (long back-off)."""
    container = {"name": "main", "image": "img", "restartCount": 7 if crash else 0, "ready": ready and not crash,
                 "state": {"waiting": {"reason": "CrashLoopBackOff"}} if crash else {"running": {}},
                 "lastState": {"terminated": {"reason": "Error", "exitCode": 1}} if crash else {}}
    ok = "True" if ready and not crash else "False"
    return {"metadata": {"name": f"{deployment}-abc12-{suffix}", "namespace": NS, "uid": f"uid-{deployment}-{suffix}",
                         "labels": {"pod-template-hash": "abc12"},
                         "ownerReferences": [{"kind": "ReplicaSet", "name": f"{deployment}-abc12"}]},
            "spec": {"nodeName": "kfp-laptop-control-plane"},
            "status": {"phase": "Running", "podIP": "127.0.0.1",
                       "conditions": [{"type": "Ready", "status": ok, "lastTransitionTime": "2026-01-01T00:00:00Z"},
                                      {"type": "ContainersReady", "status": ok,
                                       "lastTransitionTime": "2026-01-01T00:00:00Z"}],
                       "containerStatuses": [container]}}


def merge_patch(target, patch):
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


class StandIn:
    """State of the stand-in cluster. `pods` is what a pod list returns; `deployments` and `configmaps` are full
    objects by name. `restart_yields_broken_pod`: each restart brings a pod that crash-loops again."""

    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.revision = 100
        self.pods: list[dict] = []
        self.deployments = {name: self._deployment(name) for name in ("workflow-controller", "ml-pipeline")}
        self.configmaps = {STATUS_CONFIGMAP: {"metadata": {"name": STATUS_CONFIGMAP, "namespace": NS,
                                                           "resourceVersion": self._next()}, "data": {}}}
        self.events: list[dict] = []
        self.requests: list[tuple[str, str]] = []
        self.authorizations: list[tuple[str, str | None]] = []   # (path, Authorization header) of API requests
        self.content_types: list[tuple[str, str]] = []
        self.faults: list[tuple[str, str, object]] = []
        self.healthz_ok = True
        self.restart_yields_broken_pod = False
        self.restarts = 0
        self.clock = time.time        # the API server's clock (the `Date` it sends)
        self.true_time = time.time    # when restarts really happened (`restarted_at`), for limit checks
        self.restarted_at: list[float] = []
        self.hang_seconds = 2.5       # how long a "timeout" fault keeps the client waiting (past its timeout)
        self.send_date = True
        self.race: threading.Barrier | None = None   # GETs of a Deployment wait here for each other (racing watchdogs)
        self.race_reads = 0                           # ... the first this many of them

    def fail(self, method: str, path_pattern: str, *answers) -> None:
        """Queue answers for the next requests matching (method, regex on the path without query): "timeout" (no
        answer in time), "drop" (the connection closes without an answer), "lost-answer" (the request is carried out,
        then the connection closes without an answer), an HTTP code (then a Status body), or (code, body) with body
        bytes (sent as is) or JSON."""
        self.faults += [(method, path_pattern, answer) for answer in answers]

    def status_of(self, name: str = STATUS_CONFIGMAP) -> dict:
        return json.loads(self.configmaps[name]["data"].get("status.json", "{}"))

    def _next(self) -> str:
        self.revision += 1
        return str(self.revision)

    def _deployment(self, name: str) -> dict:
        return {"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": name, "namespace": NS, "uid": f"uid-{name}", "resourceVersion": self._next()},
                "spec": {"replicas": 1, "template": {"metadata": {"labels": {"app": name}}}}}

    def restart(self, deployment: str) -> None:
        self.restarts += 1
        self.restarted_at.append(self.true_time())
        self.pods = [p for p in self.pods if not p["metadata"]["name"].startswith(deployment + "-")]
        self.pods.append(make_pod(deployment, f"r{self.restarts}", crash=self.restart_yields_broken_pod))
        self.healthz_ok = True

    def _fault(self, method: str, path: str):
        for i, (m, pattern, answer) in enumerate(self.faults):
            if m == method and re.fullmatch(pattern, path):
                del self.faults[i]
                return answer
        return None

    def handle(self, method: str, full_path: str, content_type: str, raw: bytes) -> tuple[int, object]:
        path = full_path.split("?")[0]
        if path == "/healthz":
            return (200, {}) if self.healthz_ok else (500, {"error": "workflows not reconciled"})
        with self.lock:
            self.requests.append((method, full_path))
            self.content_types.append((method, content_type))
            fault = self._fault(method, path)
        if fault == "timeout":
            time.sleep(self.hang_seconds)
            return 504, status(504, "Timeout", "the client gave up first")
        if fault in ("drop", "lost-answer"):
            if fault == "lost-answer":
                self._answer(method, path, content_type, raw)
            return 0, DROP
        if isinstance(fault, int):
            return fault, status(fault, {403: "Forbidden", 409: "Conflict"}.get(fault, "InternalError"),
                                 "injected fault")
        if isinstance(fault, tuple):
            return fault
        return self._answer(method, path, content_type, raw)

    def _answer(self, method: str, path: str, content_type: str, raw: bytes) -> tuple[int, object]:
        if method in ("PATCH", "POST", "PUT"):
            if method == "PATCH" and content_type not in PATCH_TYPES:
                return 415, status(415, "UnsupportedMediaType",
                                   f"the body of the request was in an unknown format: {content_type}")
            if method != "PATCH" and content_type != "application/json":
                return 415, status(415, "UnsupportedMediaType", content_type)
            try:
                body = json.loads(raw)
            except ValueError:
                return 400, status(400, "BadRequest", "not JSON")
        else:
            body = None
        if m := re.fullmatch(rf"/apis/apps/v1/namespaces/{NS}/deployments/([\w-]+)", path):
            with self.lock:
                racing = method == "GET" and self.race is not None and self.race_reads > 0
                self.race_reads -= racing
            if racing:
                try:
                    self.race.wait()
                except threading.BrokenBarrierError:
                    pass
            with self.lock:
                return self._object(self.deployments, "deployments", m[1], method, body)
        with self.lock:
            if (method, path) == ("GET", f"/api/v1/namespaces/{NS}/pods"):
                return 200, {"kind": "PodList", "items": copy.deepcopy(self.pods)}
            if (method, path) == ("POST", f"/api/v1/namespaces/{NS}/events"):
                self.events.append(body)
                return 201, body
            if m := re.fullmatch(rf"/api/v1/namespaces/{NS}/configmaps/([\w-]+)", path):
                return self._object(self.configmaps, "configmaps", m[1], method, body)
        return 404, status(404, "NotFound", path)

    def _object(self, store: dict, resource: str, name: str, method: str, patch) -> tuple[int, object]:
        if name not in store:
            return 404, status(404, "NotFound", f'{resource} "{name}" not found')
        current = store[name]
        if method == "GET":
            return 200, copy.deepcopy(current)
        if method != "PATCH":
            return 405, status(405, "MethodNotAllowed", method)
        wanted = (patch.get("metadata") or {}).get("resourceVersion") if isinstance(patch, dict) else None
        if wanted and wanted != current["metadata"]["resourceVersion"]:
            return 409, status(409, "Conflict", f'Operation cannot be fulfilled on {resource} "{name}": the object has '
                               "been modified; please apply your changes to the latest version and try again")
        updated = merge_patch(current, patch)
        updated["metadata"]["resourceVersion"] = self._next()
        store[name] = updated
        if resource == "deployments":
            before = ((current["spec"].get("template") or {}).get("metadata") or {}).get("annotations") or {}
            after = ((updated["spec"].get("template") or {}).get("metadata") or {}).get("annotations") or {}
            if before.get(RESTARTED_AT) != after.get(RESTARTED_AT):
                self.restart(name)
        return 200, copy.deepcopy(updated)

    def serve(self, tls=None) -> StandInServer:
        """Serve on 127.0.0.1 (HTTPS when given an ssl.SSLContext) through tests.support.http; close() stops it."""
        return StandInServer(self.answer, tls)

    def answer(self, request: Request) -> Reply:
        if request.path != "/healthz":
            self.authorizations.append((request.path, request.headers.get("Authorization")))
        code, payload = self.handle(request.method, request.path, request.headers.get("Content-Type", ""),
                                    request.body)
        if payload is DROP:
            return DROP
        headers = {"Date": formatdate(self.clock(), usegmt=True)} if self.send_date else {}
        return Reply(code, payload, headers=headers)


def status(code: int, reason: str, message: str) -> dict:
    """The metav1.Status body the API server answers errors with."""
    return {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message, "reason": reason,
            "code": code}


@pytest.fixture
def cluster():
    """A running stand-in on 127.0.0.1, stopped when the test ends."""
    standin = StandIn()
    server = standin.serve()
    standin.port, standin.url = server.port, server.url
    yield standin
    server.close()


class VirtualTime:
    """Time for a whole stand-in world: true time `t`, the API server's clock (`server`, off by `server_offset`),
    the node's wall clock (`node`, off by `node_offset`) and the process's monotonic clock all move only when the
    watchdog sleeps, so hours of checks run in milliseconds and every interval is exact."""

    def __init__(self, start: float = 1_800_000_000.0, node_offset: float = 0.0):
        self.t, self.mono, self.node_offset, self.server_offset = start, 1000.0, node_offset, 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds
        self.mono += seconds

    def server(self) -> float:
        return self.t + self.server_offset

    def node(self) -> float:
        return self.t + self.node_offset

    def monotonic(self) -> float:
        return self.mono
