"""The watchdog's I/O loop: look at the namespace, let `decide` choose, act, record, repeat.

Every API failure is survived: the check is skipped, the next one comes later (exponential back-off), and the
heartbeat file that the liveness probe reads keeps moving as long as the loop itself is alive.
"""
from __future__ import annotations

import json
import logging
import socket
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from watchdog.decide import Decision, Observation, Policy, RecordEvent, RestartDeployment, State, decide, next_delay
from watchdog.diagnose import diagnose_pod, owner_deployment
from watchdog.kube import COMPONENT, ApiError, KubeApi, probe_healthz

log = logging.getLogger("watchdog")
STATUS_CONFIGMAP = "kfp-watchdog-status"
STATUS_KEY, STATE_KEY = "status.json", "state.json"
HEARTBEAT = "/tmp/watchdog/heartbeat"   # touched after every check; the liveness probe reads it


@dataclass(frozen=True)
class Settings:
    namespace: str
    policy: Policy = field(default_factory=Policy)
    status_configmap: str = STATUS_CONFIGMAP
    heartbeat: Path = Path(HEARTBEAT)
    # Deployments whose pods serve a health endpoint: name -> (port, path). Argo's controller answers on 6060.
    healthz: dict[str, tuple[int, str]] = field(default_factory=lambda: {"workflow-controller": (6060, "/healthz")})


def run(api: KubeApi, settings: Settings, *, checks: int | None = None, clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep, probe: Callable[[str, int, str], bool] = probe_healthz) -> State:
    """Check forever (or `checks` times, for tests); returns the last state."""
    state = load_state(api, settings)
    done = 0
    while checks is None or done < checks:
        state = check_once(api, settings, state, clock(), probe)
        settings.heartbeat.parent.mkdir(parents=True, exist_ok=True)
        settings.heartbeat.touch()
        done += 1
        if checks is None or done < checks:
            sleep(next_delay(settings.policy, state.api_errors))
    return state


def load_state(api: KubeApi, settings: Settings) -> State:
    """The state the previous watchdog pod saved, so its rate limit survives its own restart."""
    try:
        data = api.get_configmap(settings.namespace, settings.status_configmap).get("data") or {}
        return State.from_dict(json.loads(data.get(STATE_KEY, "{}")))
    except (ApiError, ValueError, TypeError, AttributeError) as err:   # unreadable: forget, never crash-loop
        log.warning("starting with empty state: %s", err)
        return State()


def check_once(api: KubeApi, settings: Settings, state: State, now: float,
               probe: Callable[[str, int, str], bool] = probe_healthz) -> State:
    """One check: observe, decide, act, record. Never raises for API trouble."""
    observation = observe(api, settings, now, probe)
    decision = decide(observation, state, settings.policy)
    failed = act(api, settings.namespace, decision, now)
    state = decision.state
    if observation.pods is None or failed:
        log.warning("check incomplete: %s", observation.error or f"{failed} action(s) failed")
    if failed:
        state = replace(state, api_errors=state.api_errors + 1)
    record(api, settings, observation, decision, state)
    return state


def observe(api: KubeApi, settings: Settings, now: float, probe: Callable[[str, int, str], bool]) -> Observation:
    try:
        pods = api.list_pods(settings.namespace)
    except ApiError as err:
        return Observation(now, None, error=str(err))
    healthz = {}
    for pod in pods:
        target = settings.healthz.get(owner_deployment(pod) or "")
        ip = pod.get("status", {}).get("podIP")
        # Only a Ready pod that is not shutting down is expected to answer (diagnose_pod passes terminating pods).
        if target and ip and not pod["metadata"].get("deletionTimestamp") and diagnose_pod(pod) is None:
            healthz[pod["metadata"]["name"]] = probe(ip, *target)
    return Observation(now, pods, healthz)


def act(api: KubeApi, namespace: str, decision: Decision, now: float) -> int:
    """Carry out the actions; returns how many failed (each is logged, none stops the others)."""
    failed = 0
    uids: dict[str, str] = {}     # Deployment -> uid, from the restart's answer, for the Event that reports it
    for action in decision.actions:
        try:
            if isinstance(action, RestartDeployment):
                log.info("restarting deployment %s: pod %s %s", action.deployment, action.pod, action.reason)
                uids[action.deployment] = api.restart_deployment(namespace, action.deployment, now)
            else:
                log.info("event %s on %s/%s: %s", action.reason, action.kind, action.name, action.message)
                if action.kind == "Deployment" and not action.uid:
                    action = replace(action, uid=uids.get(action.name, ""))
                api.create_event(namespace, event_manifest(namespace, action, now))
        except ApiError as err:
            failed += 1
            log.error("action failed: %s", err)
    return failed


def record(api: KubeApi, settings: Settings, observation: Observation, decision: Decision, state: State) -> None:
    """Write the last check and the recent actions into the status ConfigMap (what `inv doctor` shows)."""
    status = {"lastCheck": _stamp(observation.now), "ok": observation.pods is not None, "error": observation.error,
              "problems": decision.problems, "actions": list(state.history), "apiErrors": state.api_errors}
    try:
        api.patch_configmap(settings.namespace, settings.status_configmap,
                            {STATUS_KEY: json.dumps(status), STATE_KEY: json.dumps(state.to_dict())})
    except ApiError as err:
        log.warning("could not record status: %s", err)


def event_manifest(namespace: str, action: RecordEvent, now: float) -> dict:
    """A core/v1 Event on the pod or Deployment, so `kubectl describe` and `kubectl get events` show it."""
    stamp = _stamp(now)
    return {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": f"{action.name}.{int(now * 1e6):x}", "namespace": namespace},
        "involvedObject": {"kind": action.kind, "name": action.name, "namespace": namespace,
                           "apiVersion": "v1" if action.kind == "Pod" else "apps/v1",
                           **({"uid": action.uid} if action.uid else {})},
        "reason": action.reason, "message": action.message[:1024], "type": "Warning" if action.warning else "Normal",
        "source": {"component": COMPONENT}, "reportingComponent": COMPONENT, "reportingInstance": socket.gethostname(),
        "firstTimestamp": stamp, "lastTimestamp": stamp, "count": 1,
    }


def _stamp(now: float) -> str:
    return datetime.fromtimestamp(now, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
