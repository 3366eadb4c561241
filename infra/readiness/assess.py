"""Decide, from one look at the namespace, whether KFP is ready, still coming up, or stuck in a way waiting won't fix.

Pure: Deployments and pods as the Kubernetes API returns them (JSON dicts), whether KFP's API answered, and the
clock. Pod problems are classified by the watchdog's `diagnose_pod`, so `inv up`, `inv doctor` and the watchdog
explain a pod the same way.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from kfp_watchdog.diagnose import IMAGE_PULL_REASONS, PodProblem, diagnose_pod

# Problems that waiting does not cure, and how long one must persist before `pulumi up` gives up early.
# (CrashLoopBackOff is expected while MySQL starts, so it only fails at the deadline.)
HOPELESS = (*IMAGE_PULL_REASONS, "Unschedulable", "OOMKilled", "CreateContainerConfigError")
HOPELESS_AFTER_SECONDS = 240.0
# A malformed image reference never heals (the kubelet will not even try to pull it): fail at the first sight.
HOPELESS_AT_ONCE = ("InvalidImageName",)


@dataclass(frozen=True)
class Verdict:
    done: bool          # stop polling
    ok: bool            # KFP is ready
    message: str        # progress line, or the failure with pods, reasons and fixes


@dataclass
class Tracker:
    """When each (pod, reason) was first seen, so only persistent problems count as hopeless."""
    first_seen: dict[tuple[str, str], float] = field(default_factory=dict)

    def age(self, pod: str, reason: str, now: float) -> float:
        return now - self.first_seen.setdefault((pod, reason), now)


def unavailable_deployments(deployments: list[dict]) -> list[str]:
    """Deployments with fewer available replicas than they want."""
    names = []
    for deployment in deployments:
        wanted = deployment.get("spec", {}).get("replicas", 1)
        available = deployment.get("status", {}).get("availableReplicas") or 0
        if available < wanted:
            names.append(deployment["metadata"]["name"])
    return sorted(names)


def platform_pods(pods: list[dict]) -> list[dict]:
    """The platform's own pods: pipeline-run pods (Argo workflow steps) are the user's, not ours to wait for."""
    return [p for p in pods if "workflows.argoproj.io/workflow" not in p.get("metadata", {}).get("labels", {})]


def pod_problems(pods: list[dict]) -> list[tuple[str, PodProblem]]:
    found = []
    for pod in platform_pods(pods):
        problem = diagnose_pod(pod)
        if problem is not None:
            found.append((pod["metadata"]["name"], problem))
    return found


def failure_message(problems: list[tuple[str, PodProblem]], waiting_for: list[str], endpoint: str) -> str:
    """One message: which pods are not ready, why, and the fix for each."""
    lines = [f"KFP is not ready: {endpoint} does not answer yet."]
    if waiting_for:
        lines.append(f"Deployments not available: {', '.join(waiting_for)}.")
    for pod, problem in problems:
        lines.append(f"- pod {pod}: {problem.reason}: {problem.detail}\n  fix: {problem.fix}")
    if not problems:
        lines.append("No pod reports a problem: the images may still be downloading on a slow network. "
                     "Run `inv up` again to keep waiting, or `inv doctor` to look closer.")
    return "\n".join(lines)


def assess(deployments: list[dict], pods: list[dict], kfp_answers: bool, endpoint: str,
           tracker: Tracker, now: float, deadline: float) -> Verdict:
    waiting_for = unavailable_deployments(deployments)
    if kfp_answers and not waiting_for and deployments:
        return Verdict(True, True, f"KFP answers on {endpoint}; all {len(deployments)} Deployments are available")
    problems = pod_problems(pods)
    hopeless = [(pod, p) for pod, p in problems
                if p.reason in HOPELESS_AT_ONCE
                or p.reason in HOPELESS and tracker.age(pod, p.reason, now) >= HOPELESS_AFTER_SECONDS]
    if hopeless:
        return Verdict(True, False, failure_message(hopeless, waiting_for, endpoint))
    if now >= deadline:
        return Verdict(True, False, failure_message(problems, waiting_for, endpoint))
    pending = ", ".join(waiting_for) if waiting_for else "the KFP API"
    return Verdict(False, False, f"waiting for {pending} ({len(problems)} pod(s) not ready yet)")
