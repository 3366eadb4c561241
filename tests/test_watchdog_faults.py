"""Fault scenarios: the REAL watchdog loop (`watchdog.loop.run` with the real urllib client and the real /healthz probe)
against an in-process stand-in HTTP server on 127.0.0.1 for the few Kubernetes API endpoints it uses (the
`watchdog_api` fixture, tests/support/kube.py).

The stand-in replaces the API server and the Deployment controller only because this machine has no cluster; each
scenario says which real behaviour it imitates. Intervals are a few milliseconds and every loop is bounded (`checks=`).
"""
from __future__ import annotations

import json
import time

import pytest

from tests.support.kube import NS, watched_pod
from watchdog.decide import Policy
from watchdog.kube import KubeApi, probe_healthz
from watchdog.loop import STATUS_CONFIGMAP, STATUS_KEY, Settings, run
from watchdog.objects import role

FAST = Policy(interval_seconds=0.01, max_backoff_seconds=0.05, cooldown_seconds=0, healthz_failures=2)


def watch(watchdog_api, tmp_path, checks, policy=FAST, sleeps=None, probe=probe_healthz):
    """Run the real loop for `checks` checks; /healthz is probed on the stand-in's port (pods' IP is 127.0.0.1)."""
    settings = Settings(namespace=NS, policy=policy, heartbeat=tmp_path / "heartbeat",
                        healthz={"workflow-controller": (watchdog_api.server.port, "/healthz")})

    def sleep(seconds):
        if sleeps is not None:
            sleeps.append(seconds)
        time.sleep(seconds)

    return run(KubeApi(watchdog_api.server.url, timeout=0.2), settings, checks=checks, sleep=sleep, probe=probe)


def patches(watchdog_api):
    return [p for m, p in watchdog_api.requests if m == "PATCH" and "/deployments/" in p]


def reasons(watchdog_api):
    return [e["reason"] for e in watchdog_api.events]


def test_recovers_a_crash_looping_controller_within_one_check(watchdog_api, tmp_path):
    """Imitates: the workflow-controller exits after a laptop sleep (lost lease) and sits in the kubelet's 5-minute
    CrashLoopBackOff; the watchdog rollout-restarts it and the Deployment controller brings a fresh pod."""
    watchdog_api.pods = [watched_pod("workflow-controller", "old", crash=True), watched_pod("ml-pipeline", "ok")]
    watch(watchdog_api, tmp_path, checks=1)
    assert patches(watchdog_api) == [f"/apis/apps/v1/namespaces/{NS}/deployments/workflow-controller"]
    assert [p["metadata"]["name"] for p in watchdog_api.pods] == ["ml-pipeline-abc12-ok",
                                                                  "workflow-controller-abc12-r1"]
    (event,) = watchdog_api.events
    assert event["reason"] == "WatchdogRestart" and event["involvedObject"]["name"] == "workflow-controller"
    assert event["involvedObject"]["uid"] == "uid-workflow-controller"   # `kubectl describe` matches events by uid
    status = json.loads(watchdog_api.configmaps[STATUS_CONFIGMAP]["data"][STATUS_KEY])
    assert status["ok"] and status["actions"][0]["deployment"] == "workflow-controller"
    assert (tmp_path / "heartbeat").exists()


def test_restarts_a_controller_whose_healthz_keeps_failing(watchdog_api, tmp_path):
    """Imitates: the controller runs and is Ready but stopped reconciling, so Argo's /healthz answers 500."""
    watchdog_api.pods = [watched_pod("workflow-controller", "hung")]
    watchdog_api.healthz_ok = False
    watch(watchdog_api, tmp_path, checks=4)
    assert len(patches(watchdog_api)) == 1          # after healthz_failures=2 checks, then healthy again
    assert watchdog_api.pods[0]["metadata"]["name"].endswith("-r1")


def test_no_action_on_healthy_or_foreign_pods(watchdog_api, tmp_path):
    """Imitates: a healthy KFP install while a user's pipeline step (not a watched Deployment) crash-loops."""
    foreign = watched_pod("wine-tuning-step", "x", crash=True)
    watchdog_api.pods = [watched_pod("workflow-controller", "ok"), watched_pod("ml-pipeline", "ok"), foreign]
    watch(watchdog_api, tmp_path, checks=3)
    assert patches(watchdog_api) == [] and watchdog_api.events == []
    assert {m for m, _ in watchdog_api.requests} == {"GET", "PATCH"}   # pods + its own status ConfigMap only


def test_a_terminating_controller_is_not_probed(watchdog_api, tmp_path):
    """Imitates a rollout: the old pod shuts down (deletionTimestamp set, /healthz gone) while the new one serves."""
    old = watched_pod("workflow-controller", "old")
    old["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    watchdog_api.pods = [old, watched_pod("workflow-controller", "new")]
    probed = []

    def probe(ip, port, path):
        probed.append(ip)
        return probe_healthz(ip, port, path)

    watch(watchdog_api, tmp_path, checks=3, probe=probe)
    assert len(probed) == 3 and patches(watchdog_api) == []     # one probe per check: the new pod only


def test_no_restart_storm_when_restarts_do_not_help(watchdog_api, tmp_path):
    """Imitates: a controller that crashes on every start (e.g. a broken ConfigMap): restarting cannot fix it."""
    watchdog_api.pods = [watched_pod("workflow-controller", "old", crash=True)]
    watchdog_api.restart_yields_broken_pod = True
    policy = Policy(interval_seconds=0.01, max_backoff_seconds=0.05, cooldown_seconds=0, max_restarts=2)
    watch(watchdog_api, tmp_path, checks=10, policy=policy)
    assert len(patches(watchdog_api)) == 2
    assert reasons(watchdog_api).count("WatchdogRestartLimit") == 1
    limit = next(e for e in watchdog_api.events if e["reason"] == "WatchdogRestartLimit")
    assert limit["type"] == "Warning" and "kubectl" in limit["message"]


def test_rate_limit_survives_a_watchdog_restart(watchdog_api, tmp_path):
    """Imitates: the watchdog pod itself is replaced; it reads its saved state back from its status ConfigMap."""
    watchdog_api.pods = [watched_pod("workflow-controller", "old", crash=True)]
    watchdog_api.restart_yields_broken_pod = True
    policy = Policy(interval_seconds=0.01, max_backoff_seconds=0.05, cooldown_seconds=0, max_restarts=2)
    watch(watchdog_api, tmp_path, checks=2, policy=policy)
    watch(watchdog_api, tmp_path, checks=3, policy=policy)
    assert len(patches(watchdog_api)) == 2


def test_survives_5xx_and_timeouts_with_back_off(watchdog_api, tmp_path):
    """Imitates: the API server restarting or overloaded (503 answers, requests hanging past the client timeout)."""
    watchdog_api.pods = [watched_pod("workflow-controller", "old", crash=True)]
    watchdog_api.faults = ["5xx", "timeout", "5xx"]             # the first three checks cannot list pods
    sleeps = []
    state = watch(watchdog_api, tmp_path, checks=5, sleeps=sleeps)
    assert sleeps == [0.02, 0.04, 0.05, 0.01]              # doubled per failed check, capped, then back to normal
    assert len(patches(watchdog_api)) == 1 and watchdog_api.pods[0]["metadata"]["name"].endswith("-r1")
    assert state.api_errors == 0
    status = json.loads(watchdog_api.configmaps[STATUS_CONFIGMAP]["data"][STATUS_KEY])
    assert status["ok"] and status["apiErrors"] == 0


def test_a_failed_restart_is_retried_at_the_next_check(watchdog_api, tmp_path):
    """Imitates: the API server refusing the restart PATCH once (503 during an API server restart)."""
    watchdog_api.pods = [watched_pod("workflow-controller", "old", crash=True)]
    watchdog_api.fault_path = f"/apis/apps/v1/namespaces/{NS}/deployments/workflow-controller"
    watchdog_api.faults = ["5xx"]
    sleeps = []
    watch(watchdog_api, tmp_path, checks=3, sleeps=sleeps)
    assert len(patches(watchdog_api)) == 2 and watchdog_api.pods[0]["metadata"]["name"].endswith("-r1")
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


def test_role_grants_exactly_what_the_loop_uses(watchdog_api, tmp_path):
    """Imitates RBAC: every request the real loop sends must be allowed by the Role, and every grant must be used."""
    broken = watched_pod("ml-pipeline", "pull", ready=False)
    broken["status"]["containerStatuses"][0]["state"] = {"waiting": {"reason": "ImagePullBackOff"}}
    watchdog_api.pods = [watched_pod("workflow-controller", "old", crash=True), broken]
    watch(watchdog_api, tmp_path, checks=2)
    explained = next(e for e in watchdog_api.events if e["reason"] == "ImagePullBackOff")
    assert explained["involvedObject"] == {"kind": "Pod", "name": "ml-pipeline-abc12-pull", "namespace": NS,
                                           "apiVersion": "v1", "uid": "uid-ml-pipeline-pull"}
    rules = role(NS, FAST)["rules"]
    used = {permission(m, p) for m, p in watchdog_api.requests}
    assert [u for u in used if not allowed(rules, *u)] == []
    granted = {(v, g, r) for rule in rules for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"]}
    assert granted == {(v, g, r) for v, g, r, _ in used}
    assert not any(v in ("delete", "update", "*") for v, *_ in granted)


@pytest.mark.parametrize("saved", ["{not json", '["a list"]', '{"restarts": 5}'])
def test_an_unreadable_saved_state_starts_afresh_instead_of_crashing(watchdog_api, tmp_path, saved):
    """Imitates: the status ConfigMap's state.json was edited by hand (or written by another release)."""
    watchdog_api.configmaps[STATUS_CONFIGMAP]["data"]["state.json"] = saved
    watchdog_api.pods = [watched_pod("workflow-controller", "old", crash=True)]
    watch(watchdog_api, tmp_path, checks=1)
    assert len(patches(watchdog_api)) == 1
