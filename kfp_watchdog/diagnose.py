"""Classify what is wrong with one pod, from the pod as the Kubernetes API returns it (a JSON dict).

Pure and stdlib-only: the watchdog (in-cluster), `inv doctor` and the stack's readiness check all reuse it,
so a user sees the same explanation and fix wherever the problem shows up. Any shape is read without raising
(`kfp_watchdog.shape`): a field that is `null` or of the wrong type counts as absent.
"""
from __future__ import annotations

from dataclasses import dataclass

from kfp_watchdog.shape import count, obj, objs, text

IMAGE_PULL_REASONS = ("ImagePullBackOff", "ErrImagePull", "InvalidImageName", "ErrImageNeverPull")
CONFIG_REASONS = ("CreateContainerConfigError", "CreateContainerError", "RunContainerError")
STARTING_REASONS = ("ContainerCreating", "PodInitializing")
# What the node lifecycle controller writes into `status.reason` of pods on a node that stopped answering
# (kubernetes pkg/controller/util/node/controller_utils.go, NodeUnreachablePodReason).
NODE_LOST = "NodeLost"


@dataclass(frozen=True)
class PodProblem:
    """One problem with a pod: a short machine-readable `reason`, what was seen, and the command that helps."""

    reason: str                   # ImagePullBackOff, ErrImagePull, CrashLoopBackOff, OOMKilled, Unschedulable,
                                  # Evicted, NodeNotReady, NotReady, Starting (images pulling, init containers), ...
    detail: str
    fix: str
    container: str | None = None
    restarts: int = 0             # restarts of the container concerned (the pod's highest when none is)
    since: str | None = None      # RFC 3339 time the state began, when the API says (NotReady, Starting, Unschedulable)


def owner_deployment(pod: dict) -> str | None:
    """The Deployment a pod belongs to, from its ReplicaSet owner and pod-template-hash (None for bare pods)."""
    meta = obj(obj(pod).get("metadata"))
    hash_ = text(obj(meta.get("labels")).get("pod-template-hash"))
    for ref in objs(meta.get("ownerReferences")):
        name = text(ref.get("name"))
        if ref.get("kind") == "ReplicaSet" and hash_ and name.endswith(f"-{hash_}") and len(name) > len(hash_) + 1:
            return name[: -len(hash_) - 1]
    return None


def pod_name(pod: dict) -> str:
    return text(obj(obj(pod).get("metadata")).get("name"), "?")


def diagnose_pod(pod: dict) -> PodProblem | None:
    """The pod's most important problem, or None when it is healthy (Ready), finished, or being deleted."""
    meta, status = obj(obj(pod).get("metadata")), obj(obj(pod).get("status"))
    if meta.get("deletionTimestamp") or status.get("phase") == "Succeeded":
        return None
    ns, name = text(meta.get("namespace"), "default"), pod_name(pod)
    statuses = objs(status.get("initContainerStatuses")) + objs(status.get("containerStatuses"))
    for check in (_image_pull, _config_error, _oom_killed, _crash_loop):
        for cs in statuses:
            problem = check(cs, ns, name)
            if problem:
                return problem
    return (_unschedulable(status, ns, name) or _failed(status, ns, name) or _node_not_ready(pod, status)
            or _not_ready(status, statuses, ns, name))


def node_fix(node: str) -> str:
    return (f"the node {node} stopped reporting (on a laptop: Docker paused, out of memory or asleep): "
            f"`kubectl describe node {node}`; restart Docker or the cluster (`inv up`). Restarting the pod cannot help")


def _describe(ns: str, name: str) -> str:
    return f"kubectl -n {ns} describe pod {name}"


def _name(cs: dict) -> str:
    return text(cs.get("name"), "?")


def _waiting(cs: dict) -> dict:
    return obj(obj(cs.get("state")).get("waiting"))


def _last_terminated(cs: dict) -> dict:
    return obj(obj(cs.get("state")).get("terminated")) or obj(obj(cs.get("lastState")).get("terminated"))


def _condition(status: dict, kind: str) -> dict | None:
    return next((c for c in objs(status.get("conditions")) if c.get("type") == kind), None)


def _image_pull(cs: dict, ns: str, name: str) -> PodProblem | None:
    waiting = _waiting(cs)
    if waiting.get("reason") not in IMAGE_PULL_REASONS:
        return None
    return PodProblem(
        waiting["reason"],
        f"container {_name(cs)} cannot pull image {text(cs.get('image'), '?')}: {text(waiting.get('message'))}"
        .rstrip(": "),
        "restarting will not help: check the image name and tag, that the registry is reachable from the cluster "
        "(images from the local registry are named localhost:<registryPort>/...), and on Apple Silicon that the image "
        f"has an arm64 build (`inv image-plan`); then `{_describe(ns, name)}`",
        _name(cs), count(cs.get("restartCount")))


def _config_error(cs: dict, ns: str, name: str) -> PodProblem | None:
    waiting = _waiting(cs)
    if waiting.get("reason") not in CONFIG_REASONS:
        return None
    return PodProblem(
        waiting["reason"], f"container {_name(cs)}: {text(waiting.get('message'), 'cannot be created')}",
        f"a Secret, ConfigMap or volume it needs is missing or wrong: `{_describe(ns, name)}`, "
        "then `inv up` to restore it",
        _name(cs), count(cs.get("restartCount")))


def _oom_killed(cs: dict, ns: str, name: str) -> PodProblem | None:
    if _last_terminated(cs).get("reason") != "OOMKilled":
        return None
    restarts = count(cs.get("restartCount"))
    return PodProblem(
        "OOMKilled", f"container {_name(cs)} was killed for exceeding its memory limit ({restarts} restarts)",
        "give it more memory: raise Docker's memory (Docker Desktop > Settings > Resources) and the container's "
        f"limit, then `inv up`; see `kubectl -n {ns} top pod {name}`",
        _name(cs), restarts)


def _crash_loop(cs: dict, ns: str, name: str) -> PodProblem | None:
    if _waiting(cs).get("reason") != "CrashLoopBackOff":
        return None
    last = _last_terminated(cs)
    exit_info = f", last exit code {last['exitCode']}" if isinstance(last.get("exitCode"), int) else ""
    restarts = count(cs.get("restartCount"))
    return PodProblem(
        "CrashLoopBackOff", f"container {_name(cs)} keeps crashing ({restarts} restarts{exit_info})",
        f"read why it exits: `kubectl -n {ns} logs {name} -c {_name(cs)} --previous`",
        _name(cs), restarts)


def _unschedulable(status: dict, ns: str, name: str) -> PodProblem | None:
    cond = _condition(status, "PodScheduled")
    if cond and cond.get("status") == "False" and cond.get("reason") == "Unschedulable":
        return PodProblem(
            "Unschedulable", text(cond.get("message"), "no node can run it"),
            "the cluster lacks CPU or memory for it, or its node is NotReady: give Docker more (Docker Desktop > "
            f"Settings > Resources), then `inv up`; see `{_describe(ns, name)}`",
            since=text(cond.get("lastTransitionTime")) or None)
    return None


def _failed(status: dict, ns: str, name: str) -> PodProblem | None:
    if status.get("phase") != "Failed":
        return None
    return PodProblem(
        text(status.get("reason")) or "Failed", text(status.get("message"), "the pod failed"),
        "its Deployment replaces it; if it recurs (e.g. Evicted for low memory) give Docker more memory; "
        f"`{_describe(ns, name)}`")


def _node_not_ready(pod: dict, status: dict) -> PodProblem | None:
    """The pod's node is NotReady. Read from the pod alone (no cluster-wide Node access): the node lifecycle
    controller flips only the pod's Ready condition to False (MarkPodsNotReady, kubernetes
    pkg/controller/util/node/controller_utils.go), so ContainersReady, which only the kubelet writes, stays True;
    for an unreachable node it also sets `status.reason` NodeLost."""
    ready, containers = _condition(status, "Ready"), _condition(status, "ContainersReady")
    gated = bool(obj(obj(pod).get("spec")).get("readinessGates"))   # then Ready may lag ContainersReady by design
    marked = (not gated and ready is not None and ready.get("status") == "False"
              and obj(containers).get("status") == "True")
    if not marked and status.get("reason") != NODE_LOST:
        return None
    node = text(obj(obj(pod).get("spec")).get("nodeName"), "?")
    return PodProblem("NodeNotReady", f"its node {node} is NotReady (the node controller marked the pod not Ready)",
                      node_fix(node), since=text(obj(ready).get("lastTransitionTime")) or None)


def _not_ready(status: dict, statuses: list[dict], ns: str, name: str) -> PodProblem | None:
    """NotReady: running but failing its readiness; Starting: still pulling images or running init containers."""
    ready = _condition(status, "Ready")
    if ready and ready.get("status") == "True":
        return None
    waiting = [f"{_name(cs)}: {text(_waiting(cs).get('reason'))}" for cs in statuses
               if text(_waiting(cs).get("reason"))]
    starting = status.get("phase") == "Pending" or any(
        _waiting(cs).get("reason") in STARTING_REASONS for cs in statuses)
    detail = ("starting" if starting else "not Ready") + (f" ({', '.join(waiting)})" if waiting else "")
    return PodProblem(
        "Starting" if starting else "NotReady", detail, f"see its events and probes: `{_describe(ns, name)}`",
        restarts=max((count(cs.get("restartCount")) for cs in statuses), default=0),
        since=text(obj(ready).get("lastTransitionTime")) or text(status.get("startTime")) or None)
