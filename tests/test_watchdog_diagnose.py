"""diagnose_pod over pods shaped exactly as the Kubernetes API returns them (JSON dicts)."""
from __future__ import annotations

import pytest

from watchdog.diagnose import diagnose_pod, owner_deployment


def pod(*, phase="Running", ready=True, statuses=(), conditions=None, deleting=False, reason=None, message=None):
    conds = conditions if conditions is not None else [
        {"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": "2026-11-29T00:00:00Z"}]
    status = {"phase": phase, "conditions": conds, "containerStatuses": list(statuses),
              "startTime": "2026-11-28T23:00:00Z"}
    if reason:
        status.update(reason=reason, message=message)
    meta = {"name": "workflow-controller-7c9d8f-abcde", "namespace": "kubeflow",
            "labels": {"app": "workflow-controller", "pod-template-hash": "7c9d8f"},
            "ownerReferences": [{"kind": "ReplicaSet", "name": "workflow-controller-7c9d8f"}]}
    if deleting:
        meta["deletionTimestamp"] = "2026-11-29T00:01:00Z"
    return {"metadata": meta, "status": status}


def cs(waiting=None, last=None, restarts=0, message=""):
    state = {"waiting": {"reason": waiting, "message": message}} if waiting else {"running": {}}
    return {"name": "main", "image": "quay.io/argoproj/workflow-controller:v4.0.5", "restartCount": restarts,
            "state": state, "lastState": {"terminated": last} if last else {}}


CASES = [
    ("healthy", pod(statuses=[cs()]), None),
    ("finished job", pod(phase="Succeeded", ready=False), None),
    ("being deleted", pod(ready=False, deleting=True, statuses=[cs("CrashLoopBackOff")]), None),
    ("image pull back-off", pod(ready=False, statuses=[cs("ImagePullBackOff", message="not found")]), "ImagePullBackOff"),
    ("image pull error", pod(ready=False, statuses=[cs("ErrImagePull")]), "ErrImagePull"),
    ("missing secret", pod(ready=False, statuses=[cs("CreateContainerConfigError", message="secret x not found")]),
     "CreateContainerConfigError"),
    ("crash loop", pod(ready=False, statuses=[cs("CrashLoopBackOff", last={"reason": "Error", "exitCode": 1}, restarts=7)]),
     "CrashLoopBackOff"),
    ("crash loop from OOM is OOM", pod(ready=False, statuses=[cs("CrashLoopBackOff", last={"reason": "OOMKilled", "exitCode": 137}, restarts=4)]),
     "OOMKilled"),
    ("unschedulable", pod(phase="Pending", conditions=[{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                                                        "message": "0/1 nodes are available: 1 Insufficient memory."}]),
     "Unschedulable"),
    ("evicted", pod(phase="Failed", ready=False, reason="Evicted", message="The node was low on resource: memory."), "Evicted"),
    ("running, not ready", pod(ready=False, statuses=[cs()]), "NotReady"),
    ("pulling images", pod(phase="Pending", ready=False, statuses=[cs("ContainerCreating")]), "Starting"),
    ("init containers running", pod(phase="Pending", ready=False, statuses=[cs("PodInitializing")]), "Starting"),
]


@pytest.mark.parametrize("pod_json,expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_diagnose_pod(pod_json, expected):
    problem = diagnose_pod(pod_json)
    assert (problem.reason if problem else None) == expected
    if problem:
        assert problem.detail and ("kubectl" in problem.fix or "inv " in problem.fix)


def test_crash_loop_reports_restarts_exit_code_and_the_logs_command():
    problem = diagnose_pod(pod(ready=False, statuses=[cs("CrashLoopBackOff", last={"reason": "Error", "exitCode": 2}, restarts=9)]))
    assert problem.restarts == 9 and "exit code 2" in problem.detail
    assert "logs workflow-controller-7c9d8f-abcde -c main --previous" in problem.fix


def test_not_ready_carries_when_it_began():
    assert diagnose_pod(pod(ready=False, statuses=[cs()])).since == "2026-11-29T00:00:00Z"


def test_owner_deployment_strips_the_pod_template_hash():
    assert owner_deployment(pod()) == "workflow-controller"
    assert owner_deployment({"metadata": {"name": "bare"}}) is None
