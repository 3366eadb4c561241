"""The watchdog's decisions, table-driven over pods shaped as the Kubernetes API returns them."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kfp_watchdog.decide import (
    Observation,
    Outcome,
    Policy,
    RecordEvent,
    decide,
    next_delay,
    settle,
)
from kfp_watchdog.state import State

NOW = 1_800_000_000.0        # 2027-01-15T08:00:00Z
POLICY = Policy()


def stamp(seconds_ago: float) -> str:
    return datetime.fromtimestamp(NOW - seconds_ago, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def pod(deployment="workflow-controller", *, ready=True, waiting=None, last=None, restarts=0, not_ready_for=0,
        name=None):
    state = {"waiting": {"reason": waiting}} if waiting else {"running": {}}
    return {
        "metadata": {"name": name or f"{deployment}-5f6d-x1", "namespace": "kubeflow",
                     "labels": {"pod-template-hash": "5f6d"},
                     "ownerReferences": [{"kind": "ReplicaSet", "name": f"{deployment}-5f6d"}]},
        "status": {"phase": "Running", "podIP": "10.244.0.7",
                   "conditions": [{"type": "Ready", "status": "True" if ready else "False",
                                   "lastTransitionTime": stamp(not_ready_for)}],
                   "containerStatuses": [{"name": "main", "image": "img", "restartCount": restarts, "state": state,
                                          "lastState": {"terminated": last} if last else {}}]},
    }


def restarted(deployment="workflow-controller", times=1, ago=600):
    return State(restarts=tuple((NOW - ago - i, deployment) for i in range(times)))


def kinds(actions):
    return [(type(a).__name__, a.reason) for a in actions]


RESTART = [("RestartDeployment", None)]     # its Event comes from `settle`, once the API accepted it

CASES = [
    # name, pods, healthz, state, expected (action type, reason)
    ("healthy", [pod()], {"workflow-controller-5f6d-x1": True}, State(), []),
    ("crash loop in long back-off", [pod(ready=False, waiting="CrashLoopBackOff", restarts=6,
                                         last={"reason": "Error", "exitCode": 1})], {}, State(),
     [("RestartDeployment", "CrashLoopBackOff")]),
    ("crash loop still in short back-off: the kubelet handles it",
     [pod(ready=False, waiting="CrashLoopBackOff", restarts=2)], {}, State(), []),
    ("not ready beyond threshold", [pod(ready=False, not_ready_for=400)], {}, State(),
     [("RestartDeployment", "NotReady")]),
    ("not ready within threshold", [pod(ready=False, not_ready_for=100)], {}, State(), []),
    ("still pulling its image after a while: a restart would only start over",
     [pod(ready=False, waiting="ContainerCreating", not_ready_for=600)], {}, State(), []),
    ("still starting after 15 minutes: explained, not restarted",
     [pod(ready=False, waiting="ContainerCreating", not_ready_for=900)], {}, State(),
     [("RecordEvent", "StuckStarting")]),
    ("healthz failing, third time in a row", [pod()], {"workflow-controller-5f6d-x1": False},
     State(healthz_failures={"workflow-controller-5f6d-x1": 2}),
     [("RestartDeployment", "HealthzFailing")]),
    ("healthz failing once", [pod()], {"workflow-controller-5f6d-x1": False}, State(), []),
    ("OOMKilled repeatedly: explained, not restarted",
     [pod(ready=False, waiting="CrashLoopBackOff", restarts=6, last={"reason": "OOMKilled", "exitCode": 137})], {},
     State(), [("RecordEvent", "OOMKilled")]),
    ("OOMKilled once: the kubelet restarts it", [pod(restarts=1, last={"reason": "OOMKilled"})], {}, State(), []),
    ("ImagePullBackOff: explained", [pod(ready=False, waiting="ImagePullBackOff")], {}, State(),
     [("RecordEvent", "ImagePullBackOff")]),
    ("ImagePullBackOff already explained this hour", [pod(ready=False, waiting="ImagePullBackOff")], {},
     State(explained={"workflow-controller-5f6d-x1/ImagePullBackOff": NOW - 60}), []),
    ("rate limit reached: warning instead of a restart", [pod(ready=False, not_ready_for=900)], {},
     restarted(times=3), [("RecordEvent", "WatchdogRestartLimit")]),
    ("old restarts left the window", [pod(ready=False, not_ready_for=900)], {}, restarted(times=3, ago=4000), RESTART),
    ("just restarted: cooldown", [pod(ready=False, not_ready_for=900)], {}, restarted(ago=30), []),
    ("foreign pod crash-looping: ignored",
     [pod("my-pipeline-step", ready=False, waiting="CrashLoopBackOff", restarts=9)], {}, State(), []),
    ("stateful mysql crash-looping: explained, never restarted",
     [pod("mysql", ready=False, waiting="CrashLoopBackOff", restarts=9)], {}, State(),
     [("RecordEvent", "CrashLoopBackOff")]),
    ("two broken pods of one Deployment: one restart",
     [pod(ready=False, not_ready_for=900, name="a"), pod(ready=False, not_ready_for=900, name="b")], {}, State(),
     RESTART),
]


@pytest.mark.parametrize("pods,healthz,state,expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_decide(pods, healthz, state, expected):
    decision = decide(Observation(NOW, pods, healthz), state, POLICY)
    got = kinds(decision.actions)
    assert [t for t, _ in got] == [t for t, _ in expected]
    assert [r for (_, r), (_, e) in zip(got, expected, strict=True) if e] == [e for _, e in expected if e]
    assert decision.state.api_errors == 0


def test_a_restart_is_remembered_only_once_the_api_accepted_it():
    decision = decide(Observation(NOW, [pod(ready=False, not_ready_for=900)]), State(), POLICY)
    (restart,) = decision.actions
    assert decision.state.restarts == () and decision.problems[0]["reason"] == "NotReady"
    done, (event,) = settle(decision.state, restart, Outcome(True, uid="u-1"), NOW, POLICY)
    assert done.restarts == ((NOW, "workflow-controller"),) and done.history[-1]["action"] == "restart"
    assert event.reason == "WatchdogRestart" and not event.warning and event.uid == "u-1"
    refused, (event,) = settle(decision.state, restart, Outcome(False, "HTTP 403 forbidden", 403), NOW, POLICY)
    assert refused.restarts == () and refused.history[-1]["action"] == "restart-failed"
    assert event.reason == "WatchdogRestartFailed" and event.warning and "403" in event.message
    assert refused.failures["workflow-controller"][0] == 1
    # Retried with back-off: not at the next check (30 s), but after twice the interval.
    again = Observation(NOW + 30, [pod(ready=False, not_ready_for=930)])
    assert decide(again, refused, POLICY).actions == []
    later = Observation(NOW + 60, [pod(ready=False, not_ready_for=960)])
    assert kinds(decide(later, refused, POLICY).actions) == [("RestartDeployment", "NotReady")]


def test_a_problem_that_went_away_and_came_back_is_timed_afresh():
    """Also after merging with a saved record that still remembers the first episode."""
    from kfp_watchdog.state import merge

    unknown_since = pod(ready=False)
    unknown_since["status"]["conditions"][0].pop("lastTransitionTime")
    first = decide(Observation(NOW, [unknown_since]), State(), POLICY).state
    healthy = decide(Observation(NOW + 60, [pod()]), first, POLICY).state
    saved = merge(healthy, first)
    assert decide(Observation(NOW + 400, [unknown_since]), saved, POLICY).actions == []
    assert kinds(decide(Observation(NOW + 400, [unknown_since]), first, POLICY).actions) == [
        ("RestartDeployment", "NotReady")]                  # seen NotReady all along: 400 s


def test_explanations_carry_the_fix():
    (event,) = decide(Observation(NOW, [pod(ready=False, waiting="ImagePullBackOff")]), State(), POLICY).actions
    assert isinstance(event, RecordEvent) and event.warning and event.kind == "Pod"
    assert "fix:" in event.message and "inv image-plan" in event.message


def test_api_error_takes_no_action_and_backs_off():
    state = State()
    for expected_errors in (1, 2, 3):
        decision = decide(Observation(NOW, None, error="HTTP 503"), state, POLICY)
        assert decision.actions == [] and decision.state.api_errors == expected_errors
        state = decision.state
    assert [next_delay(POLICY, n) for n in (0, 1, 2, 3, 10)] == [30, 60, 120, 240, 300]
    assert decide(Observation(NOW, [pod()]), state, POLICY).state.api_errors == 0


def test_state_survives_a_round_trip_through_json():
    import json

    state = decide(Observation(NOW, [pod(ready=False, not_ready_for=900)]), State(), POLICY).state
    assert State.from_dict(json.loads(json.dumps(state.to_dict()))) == state


def test_policy_from_environment():
    policy = Policy.from_env({"WATCHDOG_INTERVAL_SECONDS": "0.5", "WATCHDOG_MAX_RESTARTS": "2",
                              "WATCHDOG_RESTARTABLE": "workflow-controller,ml-pipeline"})
    assert policy.interval_seconds == 0.5 and policy.max_restarts == 2
    assert policy.restartable == {"workflow-controller", "ml-pipeline"}


def test_data_stores_are_explained_not_restarted():
    mysql = pod("mysql", ready=False, waiting="CrashLoopBackOff", restarts=9)
    (event,) = decide(Observation(NOW, [mysql]), State(), POLICY).actions
    assert event.kind == "Pod" and "never restarts mysql" in event.message and "logs" in event.message
