"""The watchdog's I/O loop: look at the namespace, let `decide` choose, act, record what really happened, repeat.

Every API failure is survived: the check is skipped, the next one comes later (exponential back-off), and the
heartbeat file that the liveness probe reads keeps moving as long as the loop itself is alive.

The restart limit is kept in two records, each written with the API's optimistic concurrency (`resourceVersion`):
the status ConfigMap (merged with whatever another watchdog wrote there; a 409 Conflict re-reads and merges again),
and an annotation on each restarted Deployment, written in the same PATCH as the restart itself. So the limit holds
across the watchdog's own restarts, a deleted status ConfigMap, and two watchdogs racing.
"""
from __future__ import annotations

import itertools
import json
import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from kfp_watchdog.alive import beat
from kfp_watchdog.clock import stamp
from kfp_watchdog.decide import (
    Decision,
    Observation,
    Outcome,
    Policy,
    RecordEvent,
    RestartDeployment,
    admit,
    decide,
    explain_once,
    next_delay,
    posted,
    settle,
)
from kfp_watchdog.diagnose import diagnose_pod, owner_deployment, pod_name
from kfp_watchdog.kube import COMPONENT, RESTARTS, ApiError, KubeApi, probe_healthz
from kfp_watchdog.shape import obj, text
from kfp_watchdog.state import State, merge, restart_times

log = logging.getLogger("watchdog")
STATUS_CONFIGMAP = "kfp-watchdog-status"
STATUS_KEY, STATE_KEY = "status.json", "state.json"
HEARTBEAT = "/tmp/watchdog/heartbeat"   # written after every check; the liveness probe reads it (kfp_watchdog.alive)
WRITE_ATTEMPTS = 3                      # re-read and merge this often when another writer got in first (409)
_EVENT_SEQUENCE = itertools.count()     # keeps Event names unique within one process


@dataclass(frozen=True)
class Settings:
    namespace: str
    policy: Policy = field(default_factory=Policy)
    status_configmap: str = STATUS_CONFIGMAP
    heartbeat: Path = Path(HEARTBEAT)
    # Deployments whose pods serve a health endpoint: name -> (port, path). Argo's controller answers on 6060.
    healthz: dict[str, tuple[int, str]] = field(default_factory=lambda: {"workflow-controller": (6060, "/healthz")})


def run(api: KubeApi, settings: Settings, *, checks: int | None = None, sleep: Callable[[float], None] = time.sleep,
        probe: Callable[[str, int, str], bool] = probe_healthz, wall: Callable[[], float] = time.time) -> State:
    """Check forever (or `checks` times, for tests); returns the last state. Time is `api.clock` (the API server's)."""
    state = load_state(api, settings)
    done = 0
    while checks is None or done < checks:
        try:
            state = check_once(api, settings, state, probe, wall)
            beat(settings.heartbeat, api.clock.monotonic())
        except Exception:   # a bug, not API trouble: logged; a stale heartbeat lets the kubelet restart the pod
            log.exception("check failed")
            state = replace(state, api_errors=state.api_errors + 1)
        done += 1
        if checks is None or done < checks:
            sleep(next_delay(settings.policy, state.api_errors))
    return state


def load_state(api: KubeApi, settings: Settings) -> State:
    """The state the previous watchdog pod saved, so its rate limit survives its own restart."""
    try:
        configmap = api.get_configmap(settings.namespace, settings.status_configmap)
    except ApiError as err:   # unreadable: start empty; the Deployments' own records still hold the limit
        log.warning("starting with empty state: %s", err)
        return State()
    if configmap is None:
        log.warning("status ConfigMap %s is missing; starting with empty state", settings.status_configmap)
        return State()
    return saved_state(configmap)


def saved_state(configmap: dict) -> State:
    raw = obj(obj(configmap).get("data")).get(STATE_KEY)
    try:
        return State.from_dict(json.loads(raw) if isinstance(raw, str) else {})
    except ValueError as err:    # edited by hand: forget it, never crash-loop
        log.warning("saved state is not JSON (%s); starting with empty state", err)
        return State()


def check_once(api: KubeApi, settings: Settings, state: State,
               probe: Callable[[str, int, str], bool] = probe_healthz, wall: Callable[[], float] = time.time) -> State:
    """One check: observe, decide, act, record. Never raises for API trouble or odd answers."""
    observation = observe(api, settings, probe)
    decision = decide(observation, state, settings.policy)
    if observation.pods is None:
        log.warning("check skipped: %s", observation.error)
    state = act(api, settings, decision)
    return record(api, settings, observation, decision.problems, state, wall)


def observe(api: KubeApi, settings: Settings, probe: Callable[[str, int, str], bool]) -> Observation:
    try:
        pods = api.list_pods(settings.namespace)
    except ApiError as err:
        return Observation(api.clock.now(), None, error=str(err), namespace=settings.namespace)
    deployments: dict[str, dict | None] = {}
    for name in sorted(settings.policy.required):
        try:
            deployments[name] = api.get_deployment(settings.namespace, name)
        except ApiError as err:
            log.warning("could not read deployment %s: %s", name, err)
    healthz = {}
    for pod in pods:
        target = settings.healthz.get(owner_deployment(pod) or "")
        ip = text(obj(pod.get("status")).get("podIP"))
        # Only a Ready pod that is not shutting down is expected to answer (diagnose_pod passes terminating pods).
        if target and ip and not obj(pod.get("metadata")).get("deletionTimestamp") and diagnose_pod(pod) is None:
            healthz[pod_name(pod)] = probe(ip, *target)
    return Observation(api.clock.now(), pods, healthz, deployments=deployments, namespace=settings.namespace)


def act(api: KubeApi, settings: Settings, decision: Decision) -> State:
    """Carry out the actions; returns the state with what really happened (each failure logged and recorded)."""
    state = decision.state
    for action in decision.actions:
        if isinstance(action, RestartDeployment):
            state, events = restart(api, settings, state, action)
        else:
            events = [action]
        for event in events:
            state = post_event(api, settings.namespace, state, event)
    return state


def restart(api: KubeApi, settings: Settings, state: State,
            action: RestartDeployment) -> tuple[State, list[RecordEvent]]:
    """Read the Deployment, fold in the restarts recorded on it, and restart it only if the limit still allows,
    in one PATCH over the version read that also extends that record. A 409 Conflict (it changed meanwhile, e.g.
    another watchdog restarted it) reads it again and decides again; only a conflict that persists is a failure."""
    ns, policy = settings.namespace, settings.policy
    attempt = 0
    while True:
        attempt += 1
        try:
            deployment = api.get_deployment(ns, action.deployment)
        except ApiError as err:
            log.error("restart of %s not attempted: %s", action.deployment, err)
            return settle(state, action, Outcome(False, f"could not read it: {err}", err.status), api.clock.now(),
                          policy)
        now = api.clock.now()
        if deployment is None:
            return settle(state, action, Outcome(False, "the Deployment does not exist (404)", 404), now, policy)
        meta = obj(deployment.get("metadata"))
        state, refusal, allowed = admit(state, action, restart_times(obj(meta.get("annotations")).get(RESTARTS)),
                                        now, policy)
        mine = [at for at, dep in state.restarts if dep == action.deployment]   # as recorded: records stay comparable
        if not allowed:
            log.info("restart of %s not made: with its own record it has %d recent restart(s)", action.deployment,
                     len(mine))
            return state, refusal
        log.info("restarting deployment %s: pod %s %s", action.deployment, action.pod, action.reason)
        try:
            answer = api.restart_deployment(ns, action.deployment, now, text(meta.get("resourceVersion")) or None,
                                            [stamp(at) for at in sorted(mine)] + [stamp(now)])
        except ApiError as err:
            if err.status == 409 and attempt < WRITE_ATTEMPTS:
                log.info("deployment %s changed meanwhile; reading it again", action.deployment)
                continue
            log.error("restart of %s failed: %s", action.deployment, err)
            return settle(state, action, Outcome(False, str(err), err.status, text(meta.get("uid"))), now, policy)
        uid = text(obj(answer.get("metadata")).get("uid")) or text(meta.get("uid"))
        return settle(state, action, Outcome(True, uid=uid), now, policy)


def post_event(api: KubeApi, namespace: str, state: State, event: RecordEvent) -> State:
    """Post the Event; the state records it only if the API took it."""
    log.info("event %s on %s/%s: %s", event.reason, event.kind, event.name, event.message)
    now = api.clock.now()
    try:
        api.create_event(namespace, event_manifest(namespace, event, now))
    except ApiError as err:
        log.error("could not post event %s: %s", event.reason, err)
        return posted(state, event, False, now)
    return posted(state, event, True, now)


def record(api: KubeApi, settings: Settings, observation: Observation, problems: list[dict], state: State,
           wall: Callable[[], float] = time.time) -> State:
    """Merge this watchdog's state with what is saved in the status ConfigMap and write both back, only over the
    version read (409 Conflict: another writer got in first, so read, merge and write again). Returns the merged
    state. A missing ConfigMap is reported once per window in an Event; the state then lives on in memory."""
    ns, name = settings.namespace, settings.status_configmap
    for _ in range(WRITE_ATTEMPTS):
        try:
            configmap = api.get_configmap(ns, name)
            if configmap is None:
                return _status_missing(api, settings, state)
            state = merge(state, saved_state(configmap))
            status = status_record(observation, problems, state, api, wall)
            api.patch_configmap(ns, name, {STATUS_KEY: json.dumps(status), STATE_KEY: json.dumps(state.to_dict())},
                                text(obj(configmap.get("metadata")).get("resourceVersion")) or None)
            return state
        except ApiError as err:
            if err.status != 409:
                log.warning("could not record status: %s", err)
                return state
            log.info("status ConfigMap changed meanwhile; merging again")
    log.warning("could not record status: it kept changing (%d conflicts)", WRITE_ATTEMPTS)
    return state


def status_record(observation: Observation, problems: list[dict], state: State, api: KubeApi,
                  wall: Callable[[], float]) -> dict:
    """What `inv doctor` reads (laptop/doctor_cluster.py): lastCheck, ok, error, problems, actions, apiErrors;
    plus the restarts the API refused and how far the node's clock is from the API server's."""
    failed = {dep: {"attempts": n, "at": stamp(at), "error": err}
              for dep, (n, at, err) in sorted(state.failures.items())}
    return {"lastCheck": _stamp(observation.now), "ok": observation.pods is not None, "error": observation.error,
            "problems": problems, "actions": list(state.history), "apiErrors": state.api_errors,
            "failedRestarts": failed,
            "clock": {"source": api.clock.source, "nodeAheadSeconds": round(wall() - api.clock.now(), 1)}}


def _status_missing(api: KubeApi, settings: Settings, state: State) -> State:
    name = settings.status_configmap
    log.warning("status ConfigMap %s is missing: status is not recorded", name)
    state, events = explain_once(state, api.clock.now(), "ConfigMap", name, "WatchdogStatusMissing",
                                 f"the watchdog's status ConfigMap {name} is gone, so `inv doctor` cannot show its "
                                 "checks (its restart limit still holds: each restarted Deployment records its "
                                 "restarts too); fix: `inv up` recreates it")
    for event in events:
        state = post_event(api, settings.namespace, state, event)
    return state


def event_manifest(namespace: str, action: RecordEvent, now: float) -> dict:
    """A core/v1 Event on the pod or Deployment, so `kubectl describe` and `kubectl get events` show it."""
    at = _stamp(now)
    return {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": f"{action.name[:200]}.{int(now * 1e6):x}{next(_EVENT_SEQUENCE) % 4096:03x}",
                     "namespace": namespace},
        "involvedObject": {"kind": action.kind, "name": action.name, "namespace": namespace,
                           "apiVersion": "apps/v1" if action.kind == "Deployment" else "v1",
                           **({"uid": action.uid} if action.uid else {})},
        "reason": action.reason, "message": action.message[:1024], "type": "Warning" if action.warning else "Normal",
        "source": {"component": COMPONENT}, "reportingComponent": COMPONENT, "reportingInstance": socket.gethostname(),
        "firstTimestamp": at, "lastTimestamp": at, "count": 1,
    }


def _stamp(now: float) -> str:
    """Seconds-precision RFC 3339, as Event times and `lastCheck` are written."""
    return stamp(now)[:19] + "Z"
