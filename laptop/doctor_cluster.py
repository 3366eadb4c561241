"""`inv doctor` after `up`: is the stack healthy? Each KFP Deployment ready (with its last failure), the watchdog's
last check and actions, and the endpoints answering.

The evaluation is pure over the API's JSON dicts (tested directly); `read_cluster` is the only part that talks to the
cluster, through the official kubernetes client.
"""
from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from infra.readiness.healthz import healthz_problem
from infra.topology import KFP_HEALTHZ_PATH, NAMESPACE
from kfp_watchdog.diagnose import diagnose_pod, owner_deployment
from kfp_watchdog.loop import STATUS_CONFIGMAP, STATUS_KEY
from kfp_watchdog.objects import NAME as WATCHDOG
from laptop.checks import FAIL, OK, WARN, Check
from laptop.outputs import StackOutputs

WATCHDOG_STALE_SECONDS = 600   # the watchdog checks every 30 s and backs off at most 5 min


@dataclass(frozen=True)
class ClusterView:
    deployments: list[dict]
    pods: list[dict]
    watchdog_status: str | None     # the status ConfigMap's status.json, None when absent


def deployment_checks(deployments: list[dict], pods: list[dict]) -> list[Check]:
    """One check per Deployment: ready or not, why not, and the last time its containers failed."""
    checks = []
    for deployment in sorted(deployments, key=lambda d: d["metadata"]["name"]):
        name = deployment["metadata"]["name"]
        mine = [p for p in pods if owner_deployment(p) == name]
        wanted = deployment.get("spec", {}).get("replicas", 1)
        ready = deployment.get("status", {}).get("readyReplicas") or 0
        history = last_failure(mine)
        problem = next((p for p in map(diagnose_pod, mine) if p), None)
        if ready >= wanted:
            checks.append(Check(f"deploy/{name}", OK, f"{ready}/{wanted} ready" + (f"; {history}" if history else "")))
        elif problem:
            checks.append(Check(f"deploy/{name}", FAIL, f"{ready}/{wanted} ready: {problem.reason}: {problem.detail}"
                                + (f"; {history}" if history else ""), problem.fix))
        else:
            checks.append(Check(f"deploy/{name}", FAIL, f"{ready}/{wanted} ready, no pod reports why",
                                f"kubectl -n {NAMESPACE} describe deploy/{name}"))
    return checks


def last_failure(pods: list[dict]) -> str:
    """The most recent container termination among the pods ("3 restarts, last OOMKilled (exit 137) at ...")."""
    latest, restarts = None, 0
    for pod in pods:
        for status in pod.get("status", {}).get("containerStatuses", []):
            restarts += status.get("restartCount", 0)
            ended = status.get("lastState", {}).get("terminated")
            if ended and (latest is None or ended.get("finishedAt", "") > latest.get("finishedAt", "")):
                latest = ended
    if not latest:
        return ""
    return (f"{restarts} restarts, last {latest.get('reason', 'exit')} (exit {latest.get('exitCode', '?')}) "
            f"at {latest.get('finishedAt', '?')}")


def watchdog_check(status_json: str | None, now: float) -> Check:
    """The watchdog's last check (fresh?) and its recent actions, from its status ConfigMap."""
    logs = f"kubectl -n {NAMESPACE} logs deploy/{WATCHDOG}"
    if not status_json:
        return Check("watchdog", FAIL, "has not recorded any check", f"{logs}; if it is missing, `inv up`")
    try:
        status = read_status(status_json, now)
    except ValueError as err:   # edited by hand, or another release's format
        return Check("watchdog", WARN, f"its status record ({STATUS_CONFIGMAP}/{STATUS_KEY}) is unreadable: {err}",
                     f"`kubectl -n {NAMESPACE} rollout restart deploy/{WATCHDOG}` writes it again; {logs}")
    actions = status["actions"]
    recent = "; ".join(f"{a['at']} {a['action']} {a['target']} ({a['reason']})" for a in actions[-3:]) \
        or "no actions taken"
    age = now - status["lastCheck"]
    detail = f"last check {int(age)} s ago; {recent}"
    if age > WATCHDOG_STALE_SECONDS:
        return Check("watchdog", FAIL, f"{detail}: it stopped checking", f"{logs}; `kubectl -n {NAMESPACE} rollout "
                     f"restart deploy/{WATCHDOG}`")
    if any(a["reason"] == "WatchdogRestartLimit" for a in actions):
        return Check("watchdog", FAIL, f"{detail}: restarting did not help and it gave up",
                     f"`kubectl -n {NAMESPACE} get events --field-selector reason=WatchdogRestartLimit` "
                     "shows the cause")
    refused = status["failedRestarts"]
    if refused:     # restarts the API refused; the watchdog retries them with back-off
        return Check("watchdog", WARN, f"{detail}; the API refused restarting {', '.join(map(str, sorted(refused)))}",
                     f"`kubectl -n {NAMESPACE} get events --field-selector reason=WatchdogRestartFailed` says why")
    if not status["ok"] or status["apiErrors"]:
        return Check("watchdog", WARN, f"{detail}; cannot read the API: {status['error']}", logs)
    return Check("watchdog", OK, detail)


CLOCK_SKEW_SECONDS = 300   # a lastCheck further in the future than this is not a clock difference


def read_status(text: str, now: float) -> dict[str, Any]:
    """The watchdog's status record, checked field by field: `lastCheck` as a timestamp, each action with its
    time, action, target and reason as text; ValueError naming the first field that is not so."""
    try:
        status = json.loads(text)
    except ValueError as err:
        raise ValueError(f"not JSON ({err})") from None
    if not isinstance(status, dict):
        raise ValueError(f"a JSON {type(status).__name__}, not an object")
    last = status.get("lastCheck")
    try:
        when = datetime.fromisoformat(str(last).replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"`lastCheck` is {last!r:.60}, not an ISO time") from None
    if when.tzinfo is None:
        raise ValueError(f"`lastCheck` is {last!r:.60}, a time without its zone")
    if when.timestamp() > now + CLOCK_SKEW_SECONDS:
        raise ValueError(f"`lastCheck` is {last!r:.60}, in the future")
    actions = status.get("actions", [])
    if not isinstance(actions, list):
        raise ValueError(f"`actions` is {type(actions).__name__}, not a list")
    checked = []
    for i, action in enumerate(actions):
        if not isinstance(action, dict):
            raise ValueError(f"`actions[{i}]` is {type(action).__name__}, not an object")
        target = action.get("deployment") or action.get("object")
        fields = {"at": action.get("at"), "action": action.get("action"), "reason": action.get("reason"),
                  "target": target}
        bad = next((key for key, value in fields.items() if not isinstance(value, str)), None)
        if bad:
            name = "deployment" if bad == "target" else bad
            raise ValueError(f"`actions[{i}].{name}` is {fields[bad]!r:.60}, not text")
        checked.append(fields)
    ok, errors, error = status.get("ok", True), status.get("apiErrors", 0), status.get("error")
    if not isinstance(ok, bool):
        raise ValueError(f"`ok` is {ok!r:.60}, not true or false")
    if isinstance(errors, bool) or not isinstance(errors, int):
        raise ValueError(f"`apiErrors` is {errors!r:.60}, not a count")
    failed = status.get("failedRestarts", {})
    if not isinstance(failed, dict):
        raise ValueError(f"`failedRestarts` is {failed!r:.60}, not an object")
    return {"lastCheck": when.timestamp(), "actions": checked, "ok": ok, "apiErrors": errors, "failedRestarts": failed,
            "error": str(error)[:300] if error is not None else None}


def endpoints(outputs: StackOutputs) -> dict[str, str]:
    """The health URL of every endpoint the stack publishes on the host."""
    return {
        "KFP API": f"{outputs.kfp_endpoint}/{KFP_HEALTHZ_PATH}",
        "MinIO": f"{outputs.minio_endpoint}/minio/health/live",
        "registry": f"http://{outputs.registry}/v2/",
    }


def endpoint_checks(outputs: StackOutputs, get: Callable[[str], str | None] = None) -> list[Check]:
    """Each endpoint answering; the fix depends on how the ports reach the host (NodePort vs port-forward)."""
    engine = outputs.cluster.engine
    fix = ("`inv port-forward` (engine existing publishes nothing by itself)" if engine == "existing"
           else f"`kubectl -n {NAMESPACE} get pods` for what is down; `inv up` re-creates what is missing")
    checks = []
    for name, url in endpoints(outputs).items():
        problem = (get or (kfp_api_problem if name == "KFP API" else http_problem))(url)
        checks.append(Check(f"endpoint {name}", FAIL if problem else OK, f"{url}: {problem or 'answers'}",
                            fix if problem else ""))
    return checks


def http_problem(url: str, timeout: float = 5, judge: Callable[[bytes], str | None] = lambda body: None) -> str | None:
    """None when the URL answers 2xx/3xx (and `judge` finds nothing wrong with the body), else what went wrong."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return judge(response.read())
    except urllib.error.HTTPError as err:
        return f"HTTP {err.code}"
    except (urllib.error.URLError, http.client.HTTPException, OSError) as err:
        return f"no answer ({getattr(err, 'reason', err)})"


def kfp_api_problem(url: str) -> str | None:
    """The KFP API's healthz through the UI server: a 200 counts only if it says the API server is ready."""
    return http_problem(url, judge=healthz_problem)


def read_cluster(kubeconfig: str, context: str | None) -> ClusterView:
    """Deployments, pods and the watchdog's status ConfigMap of the KFP namespace, as the API's JSON dicts."""
    import yaml
    from kubernetes import client, config

    api_client = config.new_client_from_config_dict(yaml.safe_load(kubeconfig), context=context)
    plain = api_client.sanitize_for_serialization
    apps, core = client.AppsV1Api(api_client), client.CoreV1Api(api_client)
    deployments = plain(apps.list_namespaced_deployment(NAMESPACE, _request_timeout=10))["items"]
    pods = plain(core.list_namespaced_pod(NAMESPACE, _request_timeout=10))["items"]
    try:
        data = core.read_namespaced_config_map(STATUS_CONFIGMAP, NAMESPACE, _request_timeout=10).data or {}
    except client.ApiException as err:
        if err.status != 404:
            raise
        data = {}
    return ClusterView(deployments, pods, data.get(STATUS_KEY))
