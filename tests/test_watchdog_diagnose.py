"""diagnose_pod over pods shaped exactly as the Kubernetes API returns them (JSON dicts)."""
from __future__ import annotations

import functools

import pytest

from kfp_watchdog.diagnose import diagnose_pod, owner_deployment
from tests.support import kube

# A workflow-controller pod (tests.support.kube), started an hour before its Ready condition last changed; no
# container statuses unless a case gives them (a pod not yet scheduled has none).
pod = functools.partial(kube.pod, "workflow-controller", "abcde", template="7c9d8f", containers=[],
                        labels={"app": "workflow-controller"}, start_time="2026-11-28T23:00:00Z")
cs = functools.partial(kube.container, image="quay.io/argoproj/workflow-controller:v4.0.5")


CASES = [
    ("healthy", pod(containers=[cs()]), None),
    ("finished job", pod(phase="Succeeded", ready=False), None),
    ("being deleted", pod(ready=False, deleting=True, containers=[cs("CrashLoopBackOff")]), None),
    ("image pull back-off", pod(ready=False, containers=[cs("ImagePullBackOff", message="not found")]),
     "ImagePullBackOff"),
    ("image pull error", pod(ready=False, containers=[cs("ErrImagePull")]), "ErrImagePull"),
    ("missing secret", pod(ready=False, containers=[cs("CreateContainerConfigError", message="secret x not found")]),
     "CreateContainerConfigError"),
    ("crash loop",
     pod(ready=False, containers=[cs("CrashLoopBackOff", last={"reason": "Error", "exitCode": 1}, restarts=7)]),
     "CrashLoopBackOff"),
    ("crash loop from OOM is OOM",
     pod(ready=False, containers=[cs("CrashLoopBackOff", last={"reason": "OOMKilled", "exitCode": 137}, restarts=4)]),
     "OOMKilled"),
    ("unschedulable",
     pod(phase="Pending", conditions=[{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                                       "message": "0/1 nodes are available: 1 Insufficient memory."}]),
     "Unschedulable"),
    ("evicted",
     pod(phase="Failed", ready=False, reason="Evicted", reason_message="The node was low on resource: memory."),
     "Evicted"),
    ("running, not ready", pod(ready=False, containers=[cs()]), "NotReady"),
    ("pulling images", pod(phase="Pending", ready=False, containers=[cs("ContainerCreating")]), "Starting"),
    ("init containers running", pod(phase="Pending", ready=False, containers=[cs("PodInitializing")]), "Starting"),
]


@pytest.mark.parametrize("pod_json,expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_diagnose_pod(pod_json, expected):
    problem = diagnose_pod(pod_json)
    assert (problem.reason if problem else None) == expected
    if problem:
        assert problem.detail and ("kubectl" in problem.fix or "inv " in problem.fix)


def test_crash_loop_reports_restarts_exit_code_and_the_logs_command():
    crashed = cs("CrashLoopBackOff", last={"reason": "Error", "exitCode": 2}, restarts=9)
    problem = diagnose_pod(pod(ready=False, containers=[crashed]))
    assert problem.restarts == 9 and "exit code 2" in problem.detail
    assert "logs workflow-controller-7c9d8f-abcde -c main --previous" in problem.fix


def test_not_ready_carries_when_it_began():
    assert diagnose_pod(pod(ready=False, containers=[cs()])).since == "2026-11-29T00:00:00Z"


def test_owner_deployment_strips_the_pod_template_hash():
    assert owner_deployment(pod()) == "workflow-controller"
    assert owner_deployment({"metadata": {"name": "bare"}}) is None
