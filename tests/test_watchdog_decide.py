"""The watchdog's decisions, table-driven over pods shaped as the Kubernetes API returns them."""
from __future__ import annotations

import pytest

from tests.support import kube
from watchdog.decide import Observation, Policy, RecordEvent, State, decide, next_delay

NOW = 1_800_000_000.0        # 2027-01-15T08:00:00Z
POLICY = Policy()


def stamp(seconds_ago: float) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(NOW - seconds_ago, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def pod(*args, not_ready_for: float = 0, **kwargs) -> dict:
    """A pod (tests.support.kube) whose Ready condition last changed `not_ready_for` seconds before NOW."""
    return kube.pod(*args, ready_since=stamp(not_ready_for), **kwargs)


def restarted(deployment="workflow-controller", times=1, ago=600):
    return State(restarts=tuple((NOW - ago - i, deployment) for i in range(times)))


def kinds(actions):
    return [(type(a).__name__, a.reason) for a in actions]


RESTART = [("RestartDeployment", None), ("RecordEvent", "WatchdogRestart")]

CASES = [
    # name, pods, healthz, state, expected (action type, reason)
    ("healthy", [pod()], {"workflow-controller-5f6d-x1": True}, State(), []),
    ("crash loop in long back-off", [pod(ready=False, waiting="CrashLoopBackOff", restarts=6,
                                         last={"reason": "Error", "exitCode": 1})], {}, State(),
     [("RestartDeployment", "CrashLoopBackOff"), ("RecordEvent", "WatchdogRestart")]),
    ("crash loop still in short back-off: the kubelet handles it",
     [pod(ready=False, waiting="CrashLoopBackOff", restarts=2)], {}, State(), []),
    ("not ready beyond threshold", [pod(ready=False, not_ready_for=400)], {}, State(),
     [("RestartDeployment", "NotReady"), ("RecordEvent", "WatchdogRestart")]),
    ("not ready within threshold", [pod(ready=False, not_ready_for=100)], {}, State(), []),
    ("still pulling its image after the threshold: a restart would only start over",
     [pod(ready=False, waiting="ContainerCreating", not_ready_for=900)], {}, State(), []),
    ("healthz failing, third time in a row", [pod()], {"workflow-controller-5f6d-x1": False},
     State(healthz_failures={"workflow-controller-5f6d-x1": 2}),
     [("RestartDeployment", "HealthzFailing"), ("RecordEvent", "WatchdogRestart")]),
    ("healthz failing once", [pod()], {"workflow-controller-5f6d-x1": False}, State(), []),
    ("OOMKilled repeatedly: explained, not restarted",
     [pod(ready=False, waiting="CrashLoopBackOff", restarts=6, last={"reason": "OOMKilled", "exitCode": 137})], {},
     State(),
     [("RecordEvent", "OOMKilled")]),
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


def test_restart_is_remembered_for_the_rate_limit_and_history():
    decision = decide(Observation(NOW, [pod(ready=False, not_ready_for=900)]), State(), POLICY)
    assert decision.state.restarts == ((NOW, "workflow-controller"),)
    assert decision.state.history[-1]["action"] == "restart"
    assert decision.problems[0]["reason"] == "NotReady"


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
