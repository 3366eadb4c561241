"""Fault scenarios: the REAL watchdog loop (`watchdog.loop.run` with the real urllib client and the real /healthz probe)
against an in-process stand-in HTTP server on 127.0.0.1 for the few Kubernetes API endpoints it uses.

The stand-in replaces the API server and the Deployment controller only because this machine has no cluster; each
scenario says which real behaviour it imitates. Intervals are a few milliseconds and every loop is bounded (`checks=`).
"""
from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from watchdog.decide import Policy
from watchdog.kube import KubeApi, probe_healthz
from watchdog.loop import STATUS_CONFIGMAP, STATUS_KEY, Settings, run
from watchdog.objects import role

NS = "kubeflow"
FAST = Policy(interval_seconds=0.01, max_backoff_seconds=0.05, cooldown_seconds=0, healthz_failures=2)


def make_pod(deployment: str, suffix: str, *, crash: bool = False, ready: bool = True) -> dict:
    """A pod as the API returns it; `crash` = container in CrashLoopBackOff after many restarts (long back-off)."""
    container = {"name": "main", "image": "img", "restartCount": 7 if crash else 0,
                 "state": {"waiting": {"reason": "CrashLoopBackOff"}} if crash else {"running": {}},
                 "lastState": {"terminated": {"reason": "Error", "exitCode": 1}} if crash else {}}
    return {"metadata": {"name": f"{deployment}-abc12-{suffix}", "namespace": NS, "uid": f"uid-{deployment}-{suffix}",
                         "labels": {"pod-template-hash": "abc12"},
                         "ownerReferences": [{"kind": "ReplicaSet", "name": f"{deployment}-abc12"}]},
            "status": {"phase": "Running", "podIP": "127.0.0.1",
                       "conditions": [{"type": "Ready", "status": "True" if ready and not crash else "False",
                                       "lastTransitionTime": "2026-01-01T00:00:00Z"}],
                       "containerStatuses": [container]}}


class StandIn:
    """The API server's pods/deployments/events/configmaps endpoints, plus a Deployment controller that replaces a
    Deployment's pods when its template is annotated (what `kubectl rollout restart` triggers), plus the controller's
    /healthz. `faults` are served, one per request to `fault_path`, before normal answers: "5xx" or "timeout"."""

    def __init__(self):
        self.pods: list[dict] = []
        self.deployments = {"workflow-controller", "ml-pipeline"}
        self.configmaps = {STATUS_CONFIGMAP: {"data": {}}}
        self.events: list[dict] = []
        self.requests: list[tuple[str, str]] = []
        self.faults: list[str] = []
        self.fault_path = f"/api/v1/namespaces/{NS}/pods"
        self.healthz_ok = True
        self.restart_yields_broken_pod = False
        self.restarts = 0
        self.lock = threading.Lock()

    def restart(self, deployment: str) -> None:
        self.restarts += 1
        self.pods = [p for p in self.pods if not p["metadata"]["name"].startswith(deployment + "-")]
        self.pods.append(make_pod(deployment, f"r{self.restarts}", crash=self.restart_yields_broken_pod))
        self.healthz_ok = True

    def handle(self, method: str, path: str, body: dict | None) -> tuple[int, dict]:
        if path == "/healthz":
            return (200, {}) if self.healthz_ok else (500, {"error": "workflows not reconciled"})
        with self.lock:
            self.requests.append((method, path))
            fault = self.faults.pop(0) if self.faults and path == self.fault_path else None
        if fault == "timeout":
            time.sleep(0.5)
        if fault:
            return 503, {"kind": "Status", "message": "etcdserver: leader changed"}
        with self.lock:
            if (method, path) == ("GET", f"/api/v1/namespaces/{NS}/pods"):
                return 200, {"items": json.loads(json.dumps(self.pods))}
            if (method, path) == ("POST", f"/api/v1/namespaces/{NS}/events"):
                self.events.append(body)
                return 201, body
            if m := re.fullmatch(rf"/apis/apps/v1/namespaces/{NS}/deployments/([\w-]+)", path):
                if method != "PATCH" or m[1] not in self.deployments:
                    return 404, {}
                if "kubectl.kubernetes.io/restartedAt" in body["spec"]["template"]["metadata"]["annotations"]:
                    self.restart(m[1])
                return 200, {"kind": "Deployment", "metadata": {"name": m[1], "uid": f"uid-{m[1]}"}}
            if m := re.fullmatch(rf"/api/v1/namespaces/{NS}/configmaps/([\w-]+)", path):
                if m[1] not in self.configmaps:
                    return 404, {}
                if method == "PATCH":
                    self.configmaps[m[1]]["data"].update(body["data"])
                return 200, self.configmaps[m[1]]
        return 404, {}

    def serve(self, tls=None):
        """Serve on 127.0.0.1 (HTTPS when given an ssl.SSLContext) from a daemon thread; returns the server."""
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                code, payload = standin.handle(self.command, self.path, body)
                data = json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout scenario)

            do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _reply

            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        if tls:
            server.socket = tls.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
        return server


@pytest.fixture
def cluster():
    standin = StandIn()
    server = standin.serve()
    standin.url = f"http://127.0.0.1:{server.server_address[1]}"
    standin.port = server.server_address[1]
    yield standin
    server.shutdown()
    server.server_close()


def watch(cluster, tmp_path, checks, policy=FAST, sleeps=None, probe=probe_healthz):
    """Run the real loop for `checks` checks; /healthz is probed on the stand-in's port (pods' IP is 127.0.0.1)."""
    settings = Settings(namespace=NS, policy=policy, heartbeat=tmp_path / "heartbeat",
                        healthz={"workflow-controller": (cluster.port, "/healthz")})

    def sleep(seconds):
        if sleeps is not None:
            sleeps.append(seconds)
        time.sleep(seconds)

    return run(KubeApi(cluster.url, timeout=0.2), settings, checks=checks, sleep=sleep, probe=probe)


def patches(cluster):
    return [p for m, p in cluster.requests if m == "PATCH" and "/deployments/" in p]


def reasons(cluster):
    return [e["reason"] for e in cluster.events]


def test_recovers_a_crash_looping_controller_within_one_check(cluster, tmp_path):
    """Imitates: the workflow-controller exits after a laptop sleep (lost lease) and sits in the kubelet's 5-minute
    CrashLoopBackOff; the watchdog rollout-restarts it and the Deployment controller brings a fresh pod."""
    cluster.pods = [make_pod("workflow-controller", "old", crash=True), make_pod("ml-pipeline", "ok")]
    watch(cluster, tmp_path, checks=1)
    assert patches(cluster) == [f"/apis/apps/v1/namespaces/{NS}/deployments/workflow-controller"]
    assert [p["metadata"]["name"] for p in cluster.pods] == ["ml-pipeline-abc12-ok", "workflow-controller-abc12-r1"]
    (event,) = cluster.events
    assert event["reason"] == "WatchdogRestart" and event["involvedObject"]["name"] == "workflow-controller"
    assert event["involvedObject"]["uid"] == "uid-workflow-controller"   # `kubectl describe` matches events by uid
    status = json.loads(cluster.configmaps[STATUS_CONFIGMAP]["data"][STATUS_KEY])
    assert status["ok"] and status["actions"][0]["deployment"] == "workflow-controller"
    assert (tmp_path / "heartbeat").exists()


def test_restarts_a_controller_whose_healthz_keeps_failing(cluster, tmp_path):
    """Imitates: the controller runs and is Ready but stopped reconciling, so Argo's /healthz answers 500."""
    cluster.pods = [make_pod("workflow-controller", "hung")]
    cluster.healthz_ok = False
    watch(cluster, tmp_path, checks=4)
    assert len(patches(cluster)) == 1          # after healthz_failures=2 checks, then healthy again
    assert cluster.pods[0]["metadata"]["name"].endswith("-r1")


def test_no_action_on_healthy_or_foreign_pods(cluster, tmp_path):
    """Imitates: a healthy KFP install while a user's pipeline step (not a watched Deployment) crash-loops."""
    foreign = make_pod("wine-tuning-step", "x", crash=True)
    cluster.pods = [make_pod("workflow-controller", "ok"), make_pod("ml-pipeline", "ok"), foreign]
    watch(cluster, tmp_path, checks=3)
    assert patches(cluster) == [] and cluster.events == []
    assert {m for m, _ in cluster.requests} == {"GET", "PATCH"}   # pods + its own status ConfigMap only


def test_a_terminating_controller_is_not_probed(cluster, tmp_path):
    """Imitates a rollout: the old pod shuts down (deletionTimestamp set, /healthz gone) while the new one serves."""
    old = make_pod("workflow-controller", "old")
    old["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    cluster.pods = [old, make_pod("workflow-controller", "new")]
    probed = []

    def probe(ip, port, path):
        probed.append(ip)
        return probe_healthz(ip, port, path)

    watch(cluster, tmp_path, checks=3, probe=probe)
    assert len(probed) == 3 and patches(cluster) == []     # one probe per check: the new pod only


def test_no_restart_storm_when_restarts_do_not_help(cluster, tmp_path):
    """Imitates: a controller that crashes on every start (e.g. a broken ConfigMap): restarting cannot fix it."""
    cluster.pods = [make_pod("workflow-controller", "old", crash=True)]
    cluster.restart_yields_broken_pod = True
    policy = Policy(interval_seconds=0.01, max_backoff_seconds=0.05, cooldown_seconds=0, max_restarts=2)
    watch(cluster, tmp_path, checks=10, policy=policy)
    assert len(patches(cluster)) == 2
    assert reasons(cluster).count("WatchdogRestartLimit") == 1
    limit = next(e for e in cluster.events if e["reason"] == "WatchdogRestartLimit")
    assert limit["type"] == "Warning" and "kubectl" in limit["message"]


def test_rate_limit_survives_a_watchdog_restart(cluster, tmp_path):
    """Imitates: the watchdog pod itself is replaced; it reads its saved state back from its status ConfigMap."""
    cluster.pods = [make_pod("workflow-controller", "old", crash=True)]
    cluster.restart_yields_broken_pod = True
    policy = Policy(interval_seconds=0.01, max_backoff_seconds=0.05, cooldown_seconds=0, max_restarts=2)
    watch(cluster, tmp_path, checks=2, policy=policy)
    watch(cluster, tmp_path, checks=3, policy=policy)
    assert len(patches(cluster)) == 2


def test_survives_5xx_and_timeouts_with_back_off(cluster, tmp_path):
    """Imitates: the API server restarting or overloaded (503 answers, requests hanging past the client timeout)."""
    cluster.pods = [make_pod("workflow-controller", "old", crash=True)]
    cluster.faults = ["5xx", "timeout", "5xx"]             # the first three checks cannot list pods
    sleeps = []
    state = watch(cluster, tmp_path, checks=5, sleeps=sleeps)
    assert sleeps == [0.02, 0.04, 0.05, 0.01]              # doubled per failed check, capped, then back to normal
    assert len(patches(cluster)) == 1 and cluster.pods[0]["metadata"]["name"].endswith("-r1")
    assert state.api_errors == 0
    status = json.loads(cluster.configmaps[STATUS_CONFIGMAP]["data"][STATUS_KEY])
    assert status["ok"] and status["apiErrors"] == 0


def test_a_failed_restart_is_retried_at_the_next_check(cluster, tmp_path):
    """Imitates: the API server refusing the restart PATCH once (503 during an API server restart)."""
    cluster.pods = [make_pod("workflow-controller", "old", crash=True)]
    cluster.fault_path = f"/apis/apps/v1/namespaces/{NS}/deployments/workflow-controller"
    cluster.faults = ["5xx"]
    sleeps = []
    watch(cluster, tmp_path, checks=3, sleeps=sleeps)
    assert len(patches(cluster)) == 2 and cluster.pods[0]["metadata"]["name"].endswith("-r1")
    assert sleeps[0] == 0.02                               # the failed action counts as an API error


def permission(method: str, path: str) -> tuple[str, str, str, str | None]:
    """(verb, apiGroup, resource, name) of a request, resolved the way the API server's authorizer does."""
    parts = path.split("?")[0].strip("/").split("/")
    group = "" if parts[0] == "api" else parts[1]
    rest = parts[2:] if parts[0] == "api" else parts[3:]      # namespaces/<ns>/<resource>[/<name>]
    resource, name = rest[2], (rest[3] if len(rest) > 3 else None)
    verb = {"GET": "get" if name else "list", "POST": "create", "PATCH": "patch", "PUT": "update",
            "DELETE": "delete"}[method]
    return verb, group, resource, name


def allowed(rules: list[dict], verb, group, resource, name) -> bool:
    return any(group in r["apiGroups"] and resource in r["resources"] and verb in r["verbs"]
               and ("resourceNames" not in r or name in r["resourceNames"]) for r in rules)


def test_role_grants_exactly_what_the_loop_uses(cluster, tmp_path):
    """Imitates RBAC: every request the real loop sends must be allowed by the Role, and every grant must be used."""
    broken = make_pod("ml-pipeline", "pull", ready=False)
    broken["status"]["containerStatuses"][0]["state"] = {"waiting": {"reason": "ImagePullBackOff"}}
    cluster.pods = [make_pod("workflow-controller", "old", crash=True), broken]
    watch(cluster, tmp_path, checks=2)
    explained = next(e for e in cluster.events if e["reason"] == "ImagePullBackOff")
    assert explained["involvedObject"] == {"kind": "Pod", "name": "ml-pipeline-abc12-pull", "namespace": NS,
                                           "apiVersion": "v1", "uid": "uid-ml-pipeline-pull"}
    rules = role(NS, FAST)["rules"]
    used = {permission(m, p) for m, p in cluster.requests}
    assert [u for u in used if not allowed(rules, *u)] == []
    granted = {(v, g, r) for rule in rules for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"]}
    assert granted == {(v, g, r) for v, g, r, _ in used}
    assert not any(v in ("delete", "update", "*") for v, *_ in granted)


@pytest.mark.parametrize("saved", ["{not json", '["a list"]', '{"restarts": 5}'])
def test_an_unreadable_saved_state_starts_afresh_instead_of_crashing(cluster, tmp_path, saved):
    """Imitates: the status ConfigMap's state.json was edited by hand (or written by another release)."""
    cluster.configmaps[STATUS_CONFIGMAP]["data"]["state.json"] = saved
    cluster.pods = [make_pod("workflow-controller", "old", crash=True)]
    watch(cluster, tmp_path, checks=1)
    assert len(patches(cluster)) == 1
