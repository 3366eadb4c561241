"""Classify what is wrong with one pod, from the pod as the Kubernetes API returns it (a JSON dict).

Pure and stdlib-only: the watchdog (in-cluster), `inv doctor` and the stack's readiness check all reuse it,
so a user sees the same explanation and fix wherever the problem shows up.
"""
from __future__ import annotations

from dataclasses import dataclass

IMAGE_PULL_REASONS = ("ImagePullBackOff", "ErrImagePull", "InvalidImageName", "ErrImageNeverPull")
CONFIG_REASONS = ("CreateContainerConfigError", "CreateContainerError", "RunContainerError")
STARTING_REASONS = ("ContainerCreating", "PodInitializing")


@dataclass(frozen=True)
class PodProblem:
    """One problem with a pod: a short machine-readable `reason`, what was seen, and the command that helps."""

    reason: str                   # ImagePullBackOff, ErrImagePull, CrashLoopBackOff, OOMKilled, Unschedulable,
                                  # Evicted, NotReady, Starting (images pulling, init containers running), ...
    detail: str
    fix: str
    container: str | None = None
    restarts: int = 0             # restarts of the container concerned (the pod's highest when none is)
    since: str | None = None      # RFC 3339 time the state began, when the API says (NotReady, Starting, Unschedulable)


def owner_deployment(pod: dict) -> str | None:
    """The Deployment a pod belongs to, from its ReplicaSet owner and pod-template-hash (None for bare pods)."""
    meta = pod.get("metadata", {})
    hash_ = meta.get("labels", {}).get("pod-template-hash")
    for ref in meta.get("ownerReferences", []):
        if ref.get("kind") == "ReplicaSet" and hash_ and ref.get("name", "").endswith(f"-{hash_}"):
            return ref["name"][: -len(hash_) - 1]
    return None


def diagnose_pod(pod: dict) -> PodProblem | None:
    """The pod's most important problem, or None when it is healthy (Ready), finished, or being deleted."""
    meta, status = pod.get("metadata", {}), pod.get("status", {})
    if meta.get("deletionTimestamp") or status.get("phase") == "Succeeded":
        return None
    ns, name = meta.get("namespace", "default"), meta.get("name", "?")
    statuses = status.get("initContainerStatuses", []) + status.get("containerStatuses", [])
    for check in (_image_pull, _config_error, _oom_killed, _crash_loop):
        for cs in statuses:
            problem = check(cs, ns, name)
            if problem:
                return problem
    return _unschedulable(status, ns, name) or _failed(status, ns, name) or _not_ready(status, statuses, ns, name)


def _describe(ns: str, name: str) -> str:
    return f"kubectl -n {ns} describe pod {name}"


def _waiting(cs: dict) -> dict:
    return cs.get("state", {}).get("waiting") or {}


def _last_terminated(cs: dict) -> dict:
    return cs.get("state", {}).get("terminated") or cs.get("lastState", {}).get("terminated") or {}


def _image_pull(cs: dict, ns: str, name: str) -> PodProblem | None:
    waiting = _waiting(cs)
    if waiting.get("reason") not in IMAGE_PULL_REASONS:
        return None
    return PodProblem(
        waiting["reason"],
        f"container {cs['name']} cannot pull image {cs.get('image', '?')}: {waiting.get('message', '')}".rstrip(": "),
        "restarting will not help: check the image name and tag, that the registry is reachable from the cluster "
        "(images from the local registry are named localhost:<registryPort>/...), and on Apple Silicon that the image "
        f"has an arm64 build (`inv image-plan`); then `{_describe(ns, name)}`",
        cs["name"], cs.get("restartCount", 0))


def _config_error(cs: dict, ns: str, name: str) -> PodProblem | None:
    waiting = _waiting(cs)
    if waiting.get("reason") not in CONFIG_REASONS:
        return None
    return PodProblem(
        waiting["reason"], f"container {cs['name']}: {waiting.get('message', 'cannot be created')}",
        f"a Secret, ConfigMap or volume it needs is missing or wrong: `{_describe(ns, name)}`, "
        "then `inv up` to restore it",
        cs["name"], cs.get("restartCount", 0))


def _oom_killed(cs: dict, ns: str, name: str) -> PodProblem | None:
    if _last_terminated(cs).get("reason") != "OOMKilled":
        return None
    restarts = cs.get("restartCount", 0)
    return PodProblem(
        "OOMKilled", f"container {cs['name']} was killed for exceeding its memory limit ({restarts} restarts)",
        "give it more memory: raise Docker's memory (Docker Desktop > Settings > Resources) and the container's "
        f"limit, then `inv up`; see `kubectl -n {ns} top pod {name}`",
        cs["name"], restarts)


def _crash_loop(cs: dict, ns: str, name: str) -> PodProblem | None:
    if _waiting(cs).get("reason") != "CrashLoopBackOff":
        return None
    last = _last_terminated(cs)
    exit_info = f", last exit code {last['exitCode']}" if "exitCode" in last else ""
    restarts = cs.get("restartCount", 0)
    return PodProblem(
        "CrashLoopBackOff", f"container {cs['name']} keeps crashing ({restarts} restarts{exit_info})",
        f"read why it exits: `kubectl -n {ns} logs {name} -c {cs['name']} --previous`",
        cs["name"], restarts)


def _unschedulable(status: dict, ns: str, name: str) -> PodProblem | None:
    for cond in status.get("conditions", []):
        if (cond.get("type"), cond.get("status"), cond.get("reason")) == ("PodScheduled", "False", "Unschedulable"):
            return PodProblem(
                "Unschedulable", cond.get("message", "no node can run it"),
                "the cluster lacks CPU or memory for it: give Docker more (Docker Desktop > Settings > Resources), "
                f"then `inv up`; see `{_describe(ns, name)}`", since=cond.get("lastTransitionTime"))
    return None


def _failed(status: dict, ns: str, name: str) -> PodProblem | None:
    if status.get("phase") != "Failed":
        return None
    return PodProblem(
        status.get("reason") or "Failed", status.get("message", "the pod failed"),
        f"its Deployment replaces it; if it recurs (e.g. Evicted for low memory) give Docker more memory; "
        f"`{_describe(ns, name)}`")


def _not_ready(status: dict, statuses: list[dict], ns: str, name: str) -> PodProblem | None:
    """NotReady: running but failing its readiness; Starting: still pulling images or running init containers."""
    ready = next((c for c in status.get("conditions", []) if c.get("type") == "Ready"), None)
    if ready and ready.get("status") == "True":
        return None
    waiting = [f"{cs['name']}: {_waiting(cs)['reason']}" for cs in statuses if _waiting(cs).get("reason")]
    starting = status.get("phase") == "Pending" or any(
        _waiting(cs).get("reason") in STARTING_REASONS for cs in statuses)
    detail = ("starting" if starting else "not Ready") + (f" ({', '.join(waiting)})" if waiting else "")
    return PodProblem(
        "Starting" if starting else "NotReady", detail, f"see its events and probes: `{_describe(ns, name)}`",
        restarts=max((cs.get("restartCount", 0) for cs in statuses), default=0),
        since=(ready or {}).get("lastTransitionTime") or status.get("startTime"))
