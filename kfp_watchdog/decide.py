"""What the watchdog should do about what it saw: observations in, actions out. Pure, so every rule is tested directly.

Only restarts that help are made (a crash loop stuck in long back-off, a pod not Ready for too long, a controller whose
/healthz keeps failing); problems a restart cannot fix (image pulls, repeated OOM kills, missing config, no room on the
node, a NotReady node, a pod stuck Terminating, a controller that is gone) are explained in an Event with the fix.
The watchdog rate-limits itself so it can never become a restart storm, and a restart counts only once the API
accepted it (`settle`): a refused one is reported and retried with back-off. Times are the API server's clock
(`kfp_watchdog.clock`); what is remembered between checks is `kfp_watchdog.state`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace

from kfp_watchdog.clock import stamp
from kfp_watchdog.diagnose import (
    CONFIG_REASONS,
    IMAGE_PULL_REASONS,
    PodProblem,
    diagnose_pod,
    owner_deployment,
    pod_name,
)
from kfp_watchdog.shape import count, epoch, obj, objs, text
from kfp_watchdog.state import HISTORY_LENGTH, State, forget, recent_restarts

# The KFP 2.x Deployments a restart can safely recover (stateless, or Recreate-strategy single instances).
RESTARTABLE = (
    "workflow-controller", "ml-pipeline", "ml-pipeline-ui", "ml-pipeline-persistenceagent",
    "ml-pipeline-scheduledworkflow", "ml-pipeline-viewer-crd", "ml-pipeline-visualizationserver",
    "metadata-grpc-deployment", "metadata-envoy-deployment", "metadata-writer", "cache-server",
)
# Watched and explained, never restarted: they hold data, and their crashes need a person (disk, credentials).
EXPLAIN_ONLY = ("mysql", "minio")
# Must exist and run a pod; the watchdog reads these Deployments and reports when one is gone or scaled to zero.
REQUIRED = ("workflow-controller",)
UNFIXABLE = (*IMAGE_PULL_REASONS, *CONFIG_REASONS, "Unschedulable", "Evicted", "NodeNotReady", "StuckTerminating",
             "StuckStarting")
RESTART_EVENTS = ("WatchdogRestart", "WatchdogRestartFailed")


@dataclass(frozen=True)
class Policy:
    """Thresholds. Defaults suit a laptop: act after minutes, not seconds, and at most 3 restarts an hour per
    Deployment."""

    restartable: frozenset[str] = frozenset(RESTARTABLE)
    explain_only: frozenset[str] = frozenset(EXPLAIN_ONLY)
    required: frozenset[str] = frozenset(REQUIRED)
    interval_seconds: float = 30
    not_ready_seconds: float = 300
    starting_seconds: float = 900        # image pulls on a slow network take minutes; past this, say so
    terminating_seconds: float = 300     # past the pod's deletion deadline (deletionTimestamp)
    gone_seconds: float = 120            # no pod while the Deployment wants one (a Recreate rollout takes seconds)
    crashloop_restarts: int = 5          # the kubelet's back-off reaches its 5-minute cap around here
    healthz_failures: int = 3
    oom_restarts: int = 2
    max_restarts: int = 3
    window_seconds: float = 3600
    cooldown_seconds: float = 180        # give a restarted Deployment time to come up before judging it again
    explain_every_seconds: float = 3600  # repeat an explanation at most this often
    max_backoff_seconds: float = 300

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Policy:
        """Read `WATCHDOG_<FIELD>` variables (numbers; names as comma-separated lists) over the defaults."""
        env = os.environ if env is None else env
        values = {}
        for f in fields(cls):
            raw = env.get(f"WATCHDOG_{f.name.upper()}")
            if raw is None:
                continue
            values[f.name] = frozenset(filter(None, raw.split(","))) if f.type.startswith("frozenset") else \
                {"int": int, "float": float}[f.type](raw)
        return cls(**values)


@dataclass(frozen=True)
class Observation:
    """One look at the namespace. `pods` is None when the API could not be read (then `error` says why).
    `deployments`: the required Deployments read this check, name -> object, None when the API says it does not
    exist; a name is absent when it could not be read."""

    now: float                                   # epoch seconds, API server time
    pods: list[dict] | None
    healthz: dict[str, bool] = field(default_factory=dict)   # pod name -> /healthz answered OK
    error: str | None = None
    deployments: dict[str, dict | None] = field(default_factory=dict)
    namespace: str = "kubeflow"


@dataclass(frozen=True)
class RestartDeployment:
    deployment: str
    pod: str
    reason: str
    message: str
    fix: str = ""


@dataclass(frozen=True)
class RecordEvent:
    kind: str          # "Pod", "Deployment" or "ConfigMap": what `kubectl describe` shows it on (matched by uid)
    name: str
    reason: str
    message: str
    warning: bool = True
    uid: str = ""


Action = RestartDeployment | RecordEvent


@dataclass(frozen=True)
class Decision:
    actions: list[Action]
    state: State
    problems: list[dict]    # every watched problem this check, for the status record


@dataclass(frozen=True)
class Outcome:
    """What the API did with a restart: `done`, or refused/unanswered with `error` (and its HTTP `status`)."""

    done: bool
    error: str = ""
    status: int | None = None
    uid: str = ""


def decide(obs: Observation, state: State, policy: Policy) -> Decision:
    """The actions for this check and the state to carry to the next one. Restarts are proposed here and only
    recorded by `settle` once the API accepted them."""
    if obs.pods is None:
        return Decision([], replace(state, api_errors=state.api_errors + 1), [])
    now = obs.now
    state = _forget(state, now, policy)
    explained = dict(state.explained)
    first_seen: dict[str, float] = {}
    healthz_failures = {pod: (state.healthz_failures.get(pod, 0) + 1 if not ok else 0)
                        for pod, ok in obs.healthz.items()}
    actions: list[Action] = []
    problems: list[dict] = []
    watched = policy.restartable | policy.explain_only

    def seen_for(key: str, since: float | None) -> float:
        """How long a problem has lasted: from when the API says it began, or (if that is unknown or in the
        future) from when this watchdog first saw it."""
        first_seen[key] = min(state.first_seen.get(key, now), now)
        began = since if since is not None and since <= now else first_seen[key]
        return now - min(began, first_seen[key])

    for pod in obs.pods:
        deployment = owner_deployment(pod)
        if deployment not in watched:
            continue
        name = pod_name(pod)
        problem = diagnose_pod(pod) or _stuck_terminating(pod, now, policy, seen_for) or \
            _healthz_problem(pod, healthz_failures.get(name, 0), policy)
        if problem is None:
            continue
        age = seen_for(f"{name}/{problem.reason}", epoch(problem.since))
        if problem.reason == "Starting" and age >= policy.starting_seconds:
            problem = replace(problem, reason="StuckStarting", detail=f"{problem.detail} for {int(age)} s")
        problems.append({"pod": name, "deployment": deployment, "reason": problem.reason, "detail": problem.detail,
                         "fix": problem.fix})
        verdict = _verdict(problem, age, policy)
        why_not = "a restart cannot fix this"
        if verdict == "restart" and deployment not in policy.restartable:
            verdict, why_not = "explain", f"the watchdog never restarts {deployment} (it holds data)"
        if verdict == "explain":
            _explain(actions, explained, now, "Pod", name, problem.reason,
                     f"{problem.detail}. {why_not[0].upper()}{why_not[1:]}; fix: {problem.fix}",
                     text(obj(obj(pod).get("metadata")).get("uid")))
        elif verdict == "restart":
            _propose_restart(actions, explained, state, now, policy, deployment, name, problem)
    for deployment in sorted(policy.required):
        gone = _gone(deployment, obs, seen_for, policy)
        if gone:
            problems.append({"pod": "", "deployment": deployment, "reason": gone.reason, "detail": gone.detail,
                             "fix": gone.fix})
            _explain(actions, explained, now, "Deployment", deployment, gone.reason, f"{gone.detail}; fix: {gone.fix}")
    new_state = replace(state, explained=explained, healthz_failures=healthz_failures, api_errors=0,
                        first_seen=first_seen)
    return Decision(actions, new_state, problems)


def admit(state: State, action: RestartDeployment, recorded: list[float], now: float,
          policy: Policy) -> tuple[State, list[RecordEvent], bool]:
    """Just before a restart: fold in the restarts recorded on the Deployment itself (they survive a lost status
    ConfigMap and are written by any watchdog), then check the limit and cooldown again. Returns the state, the
    events that say why the restart must not happen (none for a cooldown), and whether it may."""
    merged = _forget(replace(state, restarts=state.restarts + tuple((round(at, 3), action.deployment)
                                                                  for at in recorded)), now, policy)
    blocked = _blocked(merged, action.deployment, now, policy)
    if blocked is None:
        return merged, [], True
    actions: list[Action] = []
    explained = dict(merged.explained)
    if blocked == "limit":
        _limit_event(actions, explained, merged, now, policy, action.deployment, action.pod, action.reason,
                     action.message, action.fix)
    return replace(merged, explained=explained), [a for a in actions if isinstance(a, RecordEvent)], False


def settle(state: State, action: RestartDeployment, outcome: Outcome, now: float,
           policy: Policy) -> tuple[State, list[RecordEvent]]:
    """Record what the API did with a restart, and the event that reports it: a done restart counts for the limit;
    a refused or unanswered one does not (the Deployment's own record shows at the next attempt whether an
    unanswered one happened), is reported as failed and retried with back-off."""
    dep = action.deployment
    if outcome.done:
        entry = {"at": stamp(now), "action": "restart", "deployment": dep, "pod": action.pod, "reason": action.reason}
        failures = {d: f for d, f in state.failures.items() if d != dep}
        event = RecordEvent("Deployment", dep, "WatchdogRestart",
                            f"restarted because pod {action.pod} was {action.reason}: {action.message}",
                            warning=False, uid=outcome.uid)
        return replace(state, restarts=state.restarts + ((round(now, 3), dep),), failures=failures,
                       history=(state.history + (entry,))[-HISTORY_LENGTH:]), [event]
    attempts = state.failures.get(dep, (0, now, ""))[0] + 1
    retry = retry_delay(policy, attempts)
    entry = {"at": stamp(now), "action": "restart-failed", "deployment": dep, "pod": action.pod,
             "reason": action.reason, "error": outcome.error[:300], "attempt": attempts}
    event = RecordEvent("Deployment", dep, "WatchdogRestartFailed",
                        f"could not restart it for pod {action.pod} ({action.reason}): {outcome.error}. "
                        f"{_refusal_hint(outcome.status, dep)} Attempt {attempts}; "
                        f"the next in {int(retry)} s or later.",
                        uid=outcome.uid)
    return replace(state, failures={**state.failures, dep: (attempts, now, outcome.error[:300])},
                   history=(state.history + (entry,))[-HISTORY_LENGTH:]), [event]


def explain_once(state: State, now: float, kind: str, name: str, reason: str,
                 message: str) -> tuple[State, list[RecordEvent]]:
    """A warning Event for something outside the pods (e.g. the status record is gone), at most once per window."""
    actions: list[Action] = []
    explained = dict(state.explained)
    _explain(actions, explained, now, kind, name, reason, message)
    return replace(state, explained=explained), [a for a in actions if isinstance(a, RecordEvent)]


def posted(state: State, event: RecordEvent, ok: bool, now: float) -> State:
    """Record what became of an Event: an explanation the API took goes into the history; one it refused is
    forgotten, so the next check explains again. (A restart's own Event adds nothing: `settle` recorded the
    restart itself.)"""
    if event.reason in RESTART_EVENTS:
        return state
    if not ok:
        key = f"{event.name}/{event.reason}"
        return replace(state, explained={k: t for k, t in state.explained.items() if k != key})
    entry = {"at": stamp(now), "action": "event", "object": f"{event.kind}/{event.name}", "reason": event.reason}
    return replace(state, history=(state.history + (entry,))[-HISTORY_LENGTH:])


def _forget(state: State, now: float, policy: Policy) -> State:
    return forget(state, now, policy.window_seconds, policy.explain_every_seconds)


def next_delay(policy: Policy, api_errors: int) -> float:
    """Seconds until the next check: the interval, doubled per consecutive API error up to a cap."""
    return retry_delay(policy, api_errors) if api_errors > 0 else policy.interval_seconds


def retry_delay(policy: Policy, attempts: int) -> float:
    return min(policy.interval_seconds * 2 ** min(attempts, 32), policy.max_backoff_seconds)


def _blocked(state: State, deployment: str, now: float, policy: Policy) -> str | None:
    """Why the Deployment must not be restarted now: "cooldown", "backoff" (its last restart was refused) or "limit"."""
    mine = recent_restarts(state, deployment, now)
    if mine and now - max(mine) < policy.cooldown_seconds:
        return "cooldown"
    if len(mine) >= policy.max_restarts:
        return "limit"
    refused = state.failures.get(deployment)
    if refused and now - refused[1] < retry_delay(policy, refused[0]):
        return "backoff"
    return None


def _propose_restart(actions, explained, state, now, policy, deployment, pod, problem) -> None:
    if any(a.deployment == deployment for a in actions if isinstance(a, RestartDeployment)):
        return
    blocked = _blocked(state, deployment, now, policy)
    if blocked == "limit":
        _limit_event(actions, explained, state, now, policy, deployment, pod, problem.reason, problem.detail,
                     problem.fix)
    elif blocked is None:
        actions.append(RestartDeployment(deployment, pod, problem.reason, problem.detail, problem.fix))


def _limit_event(actions, explained, state, now, policy, deployment, pod, reason, detail, fix) -> None:
    mine = [at for at, dep in state.restarts if dep == deployment]
    _explain(actions, explained, now, "Deployment", deployment, "WatchdogRestartLimit",
             f"{len(mine)} restarts in the last {int(policy.window_seconds // 60)} minutes did not fix {pod} "
             f"({reason}: {detail}); the watchdog stops restarting it until the window passes. "
             f"Look at the cause: {fix}")


def _refusal_hint(status: int | None, deployment: str) -> str:
    if status == 401:
        return ("The API did not accept the watchdog's token (expired or revoked): "
                "`kubectl -n kubeflow rollout restart deploy/kfp-watchdog` mounts a fresh one.")
    if status == 403:
        return (f"The API refused it: the watchdog's Role must allow `get` and `patch` on deployments/{deployment} "
                "(`inv up` restores the Role).")
    if status == 409:
        return ("Someone else changed the Deployment meanwhile (another watchdog, or `inv up`); "
                "the watchdog re-reads it.")
    if status == 404:
        return "The Deployment is gone; `inv up` restores it."
    if status is None:
        return "The API did not answer; whether it happened shows in the Deployment's record at the next attempt."
    return "The API server is unwell (see `kubectl get --raw /readyz?verbose`)."


def _gone(deployment: str, obs: Observation, seen_for, policy: Policy) -> PodProblem | None:
    """A required Deployment that is missing, scaled to zero, or has had no live pod for a while."""
    ns = obs.namespace
    describe = f"kubectl -n {ns} describe deploy/{deployment}"
    if deployment in obs.deployments and obs.deployments[deployment] is None:
        return PodProblem("DeploymentMissing", f"the Deployment {deployment} does not exist, so nothing runs it",
                          "`inv up` restores it")
    spec = obj(obj(obs.deployments.get(deployment)).get("spec"))
    wanted = spec["replicas"] if isinstance(spec.get("replicas"), int) and not isinstance(spec.get("replicas"), bool) \
        else 1
    if deployment in obs.deployments and wanted == 0:
        return PodProblem("ScaledToZero", f"the Deployment {deployment} is scaled to 0 replicas, so nothing runs it",
                          f"`kubectl -n {ns} scale deploy/{deployment} --replicas=1`")
    live = [p for p in obs.pods or [] if owner_deployment(p) == deployment
            and not obj(obj(p).get("metadata")).get("deletionTimestamp")]
    if live or seen_for(f"{deployment}/ControllerGone", None) < policy.gone_seconds:
        return None
    why = next((text(c.get("message")) for c in objs(obj(obj(obs.deployments.get(deployment)).get("status"))
                                                      .get("conditions"))
                if c.get("type") == "ReplicaFailure" and c.get("status") == "True"), "")
    return PodProblem("ControllerGone", f"no pod of {deployment} is running" + (f": {why}" if why else ""),
                      f"`{describe}` and `kubectl -n {ns} get rs,events`")


def _stuck_terminating(pod: dict, now: float, policy: Policy, seen_for) -> PodProblem | None:
    """A pod still there well past its deletion deadline (its node is gone or NotReady, or a finalizer holds it).
    `deletionTimestamp` is when the grace period ends; a deadline in the future is waited out from first sight."""
    meta = obj(obj(pod).get("metadata"))
    deadline = epoch(meta.get("deletionTimestamp"))
    if not meta.get("deletionTimestamp"):
        return None
    grace = count(meta.get("deletionGracePeriodSeconds"))
    name, ns = pod_name(pod), text(meta.get("namespace"), "default")
    key = f"{name}/StuckTerminating"
    overdue = seen_for(key, deadline) if deadline is not None and deadline <= now else seen_for(key, None) - grace
    if overdue < policy.terminating_seconds:
        return None
    node = text(obj(obj(pod).get("spec")).get("nodeName"), "?")
    finalizers = [text(f) for f in (meta.get("finalizers") if isinstance(meta.get("finalizers"), list) else [])]
    held = f", held by finalizers {', '.join(finalizers)}" if finalizers else ""
    return PodProblem("StuckTerminating", f"still Terminating {int(overdue)} s after its deletion deadline "
                      f"(node {node}{held})",
                      f"`kubectl describe node {node}`: a NotReady node never confirms the deletion; if the node is "
                      f"gone for good, `kubectl -n {ns} delete pod {name} --force --grace-period=0`")


def _healthz_problem(pod: dict, failures: int, policy: Policy) -> PodProblem | None:
    if failures < policy.healthz_failures:
        return None
    meta = obj(obj(pod).get("metadata"))
    return PodProblem("HealthzFailing", f"/healthz failed {failures} checks in a row (workflows left unreconciled)",
                      f"kubectl -n {text(meta.get('namespace'), 'default')} logs {pod_name(pod)}")


def _verdict(problem: PodProblem, age: float, policy: Policy) -> str:
    """"restart", "explain" or "wait" (a transient state the kubelet or time will settle)."""
    if problem.reason in UNFIXABLE:
        return "explain"
    if problem.reason == "OOMKilled":
        return "explain" if problem.restarts >= policy.oom_restarts else "wait"
    if problem.reason == "CrashLoopBackOff":
        return "restart" if problem.restarts >= policy.crashloop_restarts else "wait"
    if problem.reason == "NotReady":
        return "restart" if age >= policy.not_ready_seconds else "wait"
    if problem.reason == "HealthzFailing":
        return "restart"
    return "wait"


def _explain(actions, explained, now, kind, name, reason, message, uid="") -> None:
    key = f"{name}/{reason}"
    if key in explained:
        return
    explained[key] = now
    actions.append(RecordEvent(kind, name, reason, message, warning=True, uid=uid))


