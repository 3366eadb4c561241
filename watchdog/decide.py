"""What the watchdog should do about what it saw: observations in, actions out. Pure, so every rule is tested directly.

Only restarts that help are made (a crash loop stuck in long back-off, a pod not Ready for too long, a controller whose
/healthz keeps failing); problems a restart cannot fix (image pulls, repeated OOM kills, missing config, no room on the
node) are explained in an Event with the fix. The watchdog rate-limits itself so it can never become a restart storm.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timezone

from watchdog.diagnose import CONFIG_REASONS, IMAGE_PULL_REASONS, PodProblem, diagnose_pod, owner_deployment

# The KFP 2.x Deployments a restart can safely recover (stateless, or Recreate-strategy single instances).
RESTARTABLE = (
    "workflow-controller", "ml-pipeline", "ml-pipeline-ui", "ml-pipeline-persistenceagent",
    "ml-pipeline-scheduledworkflow", "ml-pipeline-viewer-crd", "ml-pipeline-visualizationserver",
    "metadata-grpc-deployment", "metadata-envoy-deployment", "metadata-writer", "cache-server",
)
# Watched and explained, never restarted: they hold data, and their crashes need a person (disk, credentials).
EXPLAIN_ONLY = ("mysql", "minio")
UNFIXABLE = (*IMAGE_PULL_REASONS, *CONFIG_REASONS, "Unschedulable", "Evicted")
HISTORY_LENGTH = 20


@dataclass(frozen=True)
class Policy:
    """Thresholds. Defaults suit a laptop: act after minutes, not seconds, and at most 3 restarts an hour per
    Deployment."""

    restartable: frozenset[str] = frozenset(RESTARTABLE)
    explain_only: frozenset[str] = frozenset(EXPLAIN_ONLY)
    interval_seconds: float = 30
    not_ready_seconds: float = 300
    crashloop_restarts: int = 5          # the kubelet's back-off reaches its 5-minute cap around here
    healthz_failures: int = 3
    oom_restarts: int = 2
    max_restarts: int = 3
    window_seconds: float = 3600
    cooldown_seconds: float = 180        # give a restarted Deployment time to come up before judging it again
    explain_every_seconds: float = 3600  # repeat an explanation at most this often
    max_backoff_seconds: float = 300

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "Policy":
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
    """One look at the namespace. `pods` is None when the API could not be read (then `error` says why)."""

    now: float                                   # epoch seconds
    pods: list[dict] | None
    healthz: dict[str, bool] = field(default_factory=dict)   # pod name -> /healthz answered OK
    error: str | None = None


@dataclass(frozen=True)
class RestartDeployment:
    deployment: str
    pod: str
    reason: str
    message: str


@dataclass(frozen=True)
class RecordEvent:
    kind: str          # "Pod" or "Deployment": what `kubectl describe` shows it on (it matches events by uid)
    name: str
    reason: str
    message: str
    warning: bool = True
    uid: str = ""


Action = RestartDeployment | RecordEvent


@dataclass(frozen=True)
class State:
    """What the watchdog remembers between checks; saved in its status ConfigMap so a watchdog restart keeps it."""

    restarts: tuple[tuple[float, str], ...] = ()           # (when, deployment) within the rate-limit window
    explained: dict[str, float] = field(default_factory=dict)  # "<name>/<reason>" -> when last explained
    healthz_failures: dict[str, int] = field(default_factory=dict)
    api_errors: int = 0                                    # consecutive failed checks
    history: tuple[dict, ...] = ()                         # the last actions, newest last, for `inv doctor`

    def to_dict(self) -> dict:
        return {"restarts": [list(r) for r in self.restarts], "explained": self.explained,
                "healthz_failures": self.healthz_failures, "api_errors": self.api_errors, "history": list(self.history)}

    @classmethod
    def from_dict(cls, data: dict) -> "State":
        return cls(restarts=tuple((float(at), dep) for at, dep in data.get("restarts", [])),
                   explained=dict(data.get("explained", {})), healthz_failures=dict(data.get("healthz_failures", {})),
                   api_errors=int(data.get("api_errors", 0)), history=tuple(data.get("history", [])))


@dataclass(frozen=True)
class Decision:
    actions: list[Action]
    state: State
    problems: list[dict]    # every watched pod's problem this check, for the status record


def decide(obs: Observation, state: State, policy: Policy) -> Decision:
    """The actions for this check and the state to carry to the next one."""
    if obs.pods is None:
        return Decision([], replace(state, api_errors=state.api_errors + 1), [])
    now = obs.now
    restarts = tuple(r for r in state.restarts if now - r[0] < policy.window_seconds)
    explained = {k: t for k, t in state.explained.items() if now - t < policy.explain_every_seconds}
    failures = {pod: (state.healthz_failures.get(pod, 0) + 1 if not ok else 0) for pod, ok in obs.healthz.items()}
    actions: list[Action] = []
    problems: list[dict] = []
    watched = policy.restartable | policy.explain_only
    for pod in obs.pods:
        deployment = owner_deployment(pod)
        if deployment not in watched:
            continue
        name = pod["metadata"]["name"]
        problem = diagnose_pod(pod) or _healthz_problem(pod, failures.get(name, 0), policy)
        if problem is None:
            continue
        problems.append({"pod": name, "deployment": deployment, "reason": problem.reason, "detail": problem.detail,
                         "fix": problem.fix})
        verdict = _verdict(problem, now, policy)
        why_not = "a restart cannot fix this"
        if verdict == "restart" and deployment not in policy.restartable:
            verdict, why_not = "explain", f"the watchdog never restarts {deployment} (it holds data)"
        if verdict == "explain":
            _explain(actions, explained, now, "Pod", name, problem.reason,
                     f"{problem.detail}. {why_not[0].upper()}{why_not[1:]}; fix: {problem.fix}",
                     pod["metadata"].get("uid", ""))
        elif verdict == "restart":
            restarts = _restart(actions, explained, restarts, now, policy, deployment, name, problem)
    history = state.history + tuple(_describe_action(a, now) for a in actions
                                    if isinstance(a, RestartDeployment) or a.warning)
    new_state = State(restarts=restarts, explained=explained, healthz_failures=failures, api_errors=0,
                      history=history[-HISTORY_LENGTH:])
    return Decision(actions, new_state, problems)


def next_delay(policy: Policy, api_errors: int) -> float:
    """Seconds until the next check: the interval, doubled per consecutive API error up to a cap."""
    if api_errors <= 0:
        return policy.interval_seconds
    return min(policy.interval_seconds * 2 ** api_errors, policy.max_backoff_seconds)


def _healthz_problem(pod: dict, failures: int, policy: Policy) -> PodProblem | None:
    if failures < policy.healthz_failures:
        return None
    meta = pod["metadata"]
    return PodProblem("HealthzFailing", f"/healthz failed {failures} checks in a row (workflows left unreconciled)",
                      f"kubectl -n {meta.get('namespace', 'default')} logs {meta['name']}")


def _verdict(problem: PodProblem, now: float, policy: Policy) -> str:
    """"restart", "explain" or "wait" (a transient state the kubelet or time will settle)."""
    if problem.reason in UNFIXABLE:
        return "explain"
    if problem.reason == "OOMKilled":
        return "explain" if problem.restarts >= policy.oom_restarts else "wait"
    if problem.reason == "CrashLoopBackOff":
        return "restart" if problem.restarts >= policy.crashloop_restarts else "wait"
    if problem.reason == "NotReady":
        since = _epoch(problem.since)
        return "restart" if since is not None and now - since >= policy.not_ready_seconds else "wait"
    if problem.reason == "HealthzFailing":
        return "restart"
    return "wait"


def _restart(actions, explained, restarts, now, policy, deployment, pod, problem) -> tuple:
    """Restart the Deployment unless it was just restarted, or has used up its restarts for the window."""
    mine = [at for at, dep in restarts if dep == deployment]
    if any(a.deployment == deployment for a in actions if isinstance(a, RestartDeployment)):
        return restarts
    if mine and now - max(mine) < policy.cooldown_seconds:
        return restarts
    if len(mine) >= policy.max_restarts:
        _explain(actions, explained, now, "Deployment", deployment, "WatchdogRestartLimit",
                 f"{len(mine)} restarts in the last {int(policy.window_seconds // 60)} minutes did not fix {pod} "
                 f"({problem.reason}: {problem.detail}); the watchdog stops restarting it until the window passes. "
                 f"Look at the cause: {problem.fix}")
        return restarts
    actions.append(RestartDeployment(deployment, pod, problem.reason, problem.detail))
    actions.append(RecordEvent("Deployment", deployment, "WatchdogRestart",
                               f"restarted because pod {pod} was {problem.reason}: {problem.detail}", warning=False))
    return restarts + ((now, deployment),)


def _explain(actions, explained, now, kind, name, reason, message, uid="") -> None:
    key = f"{name}/{reason}"
    if key in explained:
        return
    explained[key] = now
    actions.append(RecordEvent(kind, name, reason, message, warning=True, uid=uid))


def _describe_action(action: Action, now: float) -> dict:
    at = datetime.fromtimestamp(now, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(action, RestartDeployment):
        return {"at": at, "action": "restart", "deployment": action.deployment, "pod": action.pod,
                "reason": action.reason}
    return {"at": at, "action": "event", "object": f"{action.kind}/{action.name}", "reason": action.reason}


def _epoch(stamp: str | None) -> float | None:
    if not stamp:
        return None
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
