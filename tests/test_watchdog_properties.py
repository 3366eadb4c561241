"""Property-based tests (hypothesis) of the watchdog: its decisions over arbitrary pod, Deployment and saved-state
shapes and clock offsets never raise, its loop survives any answer the API (or something in front of it) gives, and
its restart limit holds whatever happens between checks.

The loop properties run the real loop and client against the stand-in API server (tests/support/kube_api.py, only
because this machine has no cluster) in virtual time. Example counts are fixed per test (`EXAMPLES`), so the suite
stays fast and the closing note can state them.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kfp_watchdog.clock import ApiClock, stamp
from kfp_watchdog.decide import (
    Observation,
    Outcome,
    Policy,
    RecordEvent,
    RestartDeployment,
    admit,
    decide,
    settle,
)
from kfp_watchdog.diagnose import diagnose_pod
from kfp_watchdog.kube import KubeApi
from kfp_watchdog.loop import Settings, check_once, event_manifest, load_state, record
from kfp_watchdog.shape import epoch
from kfp_watchdog.state import State, forget, merge, recent_restarts
from tests.support.kube_api import NS, STATUS_CONFIGMAP, StandIn, VirtualTime, make_pod

EXAMPLES = {"decide": 200, "limit-rule": 500, "clock": 300, "answers": 40, "limit": 150}
NOW = 1_800_000_000.0
PATHS = {"pods": f"/api/v1/namespaces/{NS}/pods",
         "deployment": f"/apis/apps/v1/namespaces/{NS}/deployments/workflow-controller",
         "status": f"/api/v1/namespaces/{NS}/configmaps/{STATUS_CONFIGMAP}",
         "events": f"/api/v1/namespaces/{NS}/events"}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**63, 2**63) | st.floats(allow_nan=True) | st.text(max_size=12)
    | st.sampled_from(["2027-01-15T08:00:00Z", "2099-01-01T00:00:00Z", "1970-01-01T00:00:00Z", "True", "False",
                       "Pending", "Running", "CrashLoopBackOff", "ReplicaSet", "Ready", "ContainersReady"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)


def base_pods() -> list[dict]:
    """Well-formed pods of every kind the watchdog tells apart, to be mutated."""
    crash = make_pod("workflow-controller", "c", crash=True)
    node = make_pod("workflow-controller", "n")
    node["status"]["conditions"][0]["status"] = "False"
    stuck = make_pod("workflow-controller", "t")
    stuck["metadata"].update(deletionTimestamp="2027-01-15T07:00:00Z", deletionGracePeriodSeconds=30)
    pending = make_pod("ml-pipeline", "p", ready=False)
    pending["status"] = {"phase": "Pending", "conditions": [
        {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "no room"}]}
    return [crash, node, stuck, pending, make_pod("mysql", "m", crash=True), make_pod("ml-pipeline", "ok")]


def paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            yield from paths(inner, (*prefix, i))


def put(value, path, new):
    if not path:
        return new
    value[path[0]] = put(value[path[0]], path[1:], new)
    return value


@st.composite
def odd_pods(draw):
    """Real pod shapes with a few fields replaced by anything JSON allows (null, a string, a list, ...)."""
    pods = []
    for pod in draw(st.lists(st.sampled_from(base_pods()), max_size=4)):
        pod = json.loads(json.dumps(pod))
        for _ in range(draw(st.integers(0, 3))):
            pod = put(pod, draw(st.sampled_from(list(paths(pod)))), draw(json_values))
        pods.append(pod)
    return pods + draw(st.lists(json_values, max_size=2))


offsets = st.floats(-10 * 365 * 86400, 100 * 365 * 86400, allow_nan=False)
near = st.floats(-4000, 0) | st.floats(-7200, 7200) | offsets   # recorded times: mostly within a window, some anywhere
saved_states = json_values | st.fixed_dictionaries({
    "restarts": st.lists(st.tuples(near.map(lambda o: NOW + o), st.sampled_from(["workflow-controller", "ml-pipeline"]))
                         .map(list), max_size=6),
    "failures": st.dictionaries(st.sampled_from(["workflow-controller"]),
                                st.tuples(st.integers(0, 40), near.map(lambda o: NOW + o),
                                          st.text(max_size=5)).map(list)),
    "future_seen": st.dictionaries(st.text(max_size=30), near.map(lambda o: NOW + o), max_size=2),
})


@settings(max_examples=EXAMPLES["decide"], deadline=None)
@given(pods=odd_pods(), saved=saved_states, other=saved_states, offset=st.floats(0, 60) | offsets,
       healthz=st.dictionaries(
       st.sampled_from(["workflow-controller-abc12-c", "workflow-controller-abc12-n", "x"]), st.booleans()),
       deployment=json_values, recorded=st.lists(offsets, max_size=4), outcome=st.sampled_from(
       [Outcome(True), Outcome(False, "HTTP 403", 403), Outcome(False, "HTTP 409", 409), Outcome(False, "no answer")]))
def test_decisions_never_raise_and_stay_serialisable(pods, saved, other, offset, healthz, deployment, recorded,
                                                      outcome):
    now = NOW + offset
    state = State.from_dict(saved)
    for pod in pods:
        diagnose_pod(pod)
    policy = Policy()
    decision = decide(Observation(now, pods, healthz, deployments={"workflow-controller": deployment}), state, policy)
    new = decision.state
    for action in decision.actions:
        if isinstance(action, RestartDeployment):        # proposed only within the limit and past the cooldown
            mine = recent_restarts(new, action.deployment, now)
            assert len(mine) < policy.max_restarts and all(now - at >= policy.cooldown_seconds for at in mine)
            new, events, allowed = admit(new, action, [NOW + r for r in recorded], now, policy)
            mine = recent_restarts(new, action.deployment, now)   # now with the Deployment's own record
            assert not allowed or (len(mine) < policy.max_restarts
                                   and all(now - at >= policy.cooldown_seconds for at in mine))
            new, more = settle(new, action, outcome, now, policy)
            events += more
        else:
            events = [action]
        for event in events:
            assert isinstance(event, RecordEvent)
            json.dumps(event_manifest(NS, event, now), allow_nan=False)
    new = forget(merge(new, State.from_dict(other)), now, policy.window_seconds, policy.explain_every_seconds)
    again = State.from_dict(json.loads(json.dumps(new.to_dict())))
    assert again.restarts == new.restarts and all(math.isfinite(at) for at, _ in new.restarts)
    json.dumps(decision.problems)


@settings(max_examples=EXAMPLES["limit-rule"], deadline=None)
@given(saved=st.lists(st.floats(-3 * 3600, 3 * 3600), max_size=6), recorded=st.lists(st.floats(-3 * 3600, 10**9),
                                                                                      max_size=4),
       cooldown=st.sampled_from([0.0, 180.0]), max_restarts=st.integers(1, 4))
def test_a_restart_is_proposed_and_admitted_only_within_the_limit(saved, recorded, cooldown, max_restarts):
    """Restarts saved in the state (`saved`, seconds before now; negative: recorded in the future) and on the
    Deployment (`recorded`, seconds after now up to decades ahead): the controller is restarted only when fewer than
    `max_restarts` of them fall in the last hour and none in the cooldown, a time from the future counting as now."""
    policy = Policy(max_restarts=max_restarts, cooldown_seconds=cooldown)

    def allowed_by(times):
        ages = [max(NOW - t, 0.0) for t in {round(t, 3) for t in times}]
        recent = [a for a in ages if a < policy.window_seconds]
        return len(recent) < max_restarts and all(a >= cooldown for a in recent)

    in_state = [NOW - s for s in saved]
    state = State(restarts=tuple(sorted((round(t, 3), "workflow-controller") for t in set(in_state))))
    decision = decide(Observation(NOW, [make_pod("workflow-controller", "c", crash=True)]), state, policy)
    proposed = [a for a in decision.actions if isinstance(a, RestartDeployment)]
    assert bool(proposed) == allowed_by(in_state)
    if proposed:
        on_deployment = [NOW + r for r in recorded]
        _, _, allowed = admit(decision.state, proposed[0], on_deployment, NOW, policy)
        assert allowed == allowed_by(in_state + on_deployment)


@settings(max_examples=EXAMPLES["clock"], deadline=None)
@given(node_offset=offsets, steps=st.lists(st.tuples(st.floats(0, 7200), st.booleans()), min_size=1, max_size=20))
def test_the_clock_follows_the_api_server_whatever_the_node_says(node_offset, steps):
    """Whatever the node's clock says, once an answer carried a `Date`, now is the API server's time within the
    header's one-second resolution, and never goes backwards."""
    world = VirtualTime(node_offset=node_offset)
    clock = ApiClock(wall=world.node, monotonic=world.monotonic)
    last = None
    for elapsed, answered in steps:
        world.sleep(elapsed)
        if answered:                                    # a `Date` header: whole seconds
            clock.saw_server_date(math.floor(world.server()))
        now = clock.now()
        if clock.source == "api-server":
            assert last is None or now >= last
            assert abs(now - world.server()) <= 2.0
            last = now


@settings(max_examples=EXAMPLES["clock"], deadline=None)
@given(now=st.floats(0, 4e9))
def test_a_written_time_reads_back_as_the_same_record(now):
    """A restart time written on the Deployment and one kept in the state must compare equal, or it counts twice."""
    assert epoch(stamp(now)) == round(now, 3)


def test_an_unreadable_stamp_is_no_time():
    assert epoch("2027-01-15T08:00:00") is None and epoch("9999-99-99") is None and epoch(None) is None


answers = st.tuples(st.sampled_from([200, 201, 204, 400, 401, 403, 404, 409, 410, 422, 429, 500, 502, 503, 504]),
                    json_values.map(lambda v: json.dumps(v, allow_nan=True).encode()) | st.binary(max_size=40))


def standin_world(cluster: StandIn, policy: Policy, node_offset: float = 0.0):
    world = VirtualTime(node_offset=node_offset)
    cluster.clock, cluster.true_time = world.server, lambda: world.t
    settings_ = Settings(namespace=NS, policy=policy, heartbeat=Path("/nonexistent"),
                         healthz={})
    return world, settings_


def process(cluster, world, node_offset: float = 0.0) -> KubeApi:
    """One watchdog process: its own client and clock (the node's clock may be off)."""
    world.node_offset = node_offset
    return KubeApi(cluster.url, timeout=5, clock=ApiClock(wall=world.node, monotonic=world.monotonic))


@settings(max_examples=EXAMPLES["answers"], deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(faults=st.lists(st.tuples(st.sampled_from(["GET", "PATCH", "POST"]), st.sampled_from(sorted(PATHS)), answers),
                       max_size=8))
def test_the_loop_survives_any_answer(cluster, faults):
    """Any status code with any body (JSON of any shape, or bytes) on any endpoint: a check never raises, and once
    the API answers properly again the watchdog records a good check."""
    cluster.reset()
    cluster.pods = [make_pod("workflow-controller", "c", crash=True)]
    for method, endpoint, answer in faults:
        cluster.fail(method, PATHS[endpoint], answer)
    world, settings_ = standin_world(cluster, Policy())
    api = process(cluster, world)
    state = load_state(api, settings_)
    for _ in range(4):
        state = check_once(api, settings_, state, wall=world.node)
        world.sleep(30)
    cluster.faults.clear()
    check_once(api, settings_, state, wall=world.node)
    assert cluster.status_of()["ok"] is True


checks = st.tuples(st.just("check"), st.sampled_from("ab"), st.integers(1, 3))
steps = st.one_of(
    checks, checks, checks,
    st.tuples(st.just("new-process"), st.sampled_from("ab"), offsets),
    st.tuples(st.just("refuse"), st.sampled_from([403, 409, 500, 503, "lost-answer", "drop"])),
    st.tuples(st.just("lose-status")),
    st.tuples(st.just("restore-status")),
    st.tuples(st.just("sleep"), st.floats(0, 7200)),
    st.tuples(st.just("server-clock-back"), st.floats(0, 86400)),
)


@settings(max_examples=EXAMPLES["limit"], deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(program=st.lists(steps, min_size=1, max_size=16), max_restarts=st.integers(1, 3),
       cooldown=st.sampled_from([0, 180]), future=st.lists(st.floats(0, 10**9), max_size=2))
def test_the_restart_limit_holds_whatever_happens(cluster, program, max_restarts, cooldown, future):
    """A controller that crash-loops for good, and between checks anything: watchdog processes replaced (with any
    node clock), two watchdogs taking turns, refused or unanswered restarts, the status ConfigMap deleted and
    restored, hours passing, the API server's clock stepped back, restart times from the future saved. In no window
    of true time are there more restarts than the limit."""
    cluster.reset()
    cluster.pods = [make_pod("workflow-controller", "c", crash=True)]
    cluster.restart_yields_broken_pod = True
    policy = Policy(max_restarts=max_restarts, cooldown_seconds=cooldown)
    world, settings_ = standin_world(cluster, policy)
    cluster.configmaps[STATUS_CONFIGMAP]["data"]["state.json"] = json.dumps(
        {"restarts": [[NOW + f, "workflow-controller"] for f in future]})
    procs = {}

    def proc(name, node_offset=0.0):
        if name not in procs:
            api = process(cluster, world, node_offset)
            procs[name] = [api, load_state(api, settings_)]
        return procs[name]

    for step in program:
        if step[0] == "check":
            for _ in range(step[2]):
                api, state = proc(step[1])
                procs[step[1]][1] = check_once(api, settings_, state, wall=world.node)
                world.sleep(policy.interval_seconds)
        elif step[0] == "new-process":
            procs.pop(step[1], None)
            proc(step[1], step[2])
        elif step[0] == "refuse":
            cluster.fail("PATCH", PATHS["deployment"], step[1])
        elif step[0] == "lose-status":
            cluster.configmaps.pop(STATUS_CONFIGMAP, None)
        elif step[0] == "restore-status":       # `inv up` recreates it empty
            cluster.configmaps.setdefault(STATUS_CONFIGMAP, {"metadata": {"name": STATUS_CONFIGMAP,
                                                                          "resourceVersion": "1"}, "data": {}})
        elif step[0] == "sleep":
            world.sleep(step[1])
        else:
            world.server_offset -= step[1]
    times = sorted(cluster.restarted_at)
    for i, start in enumerate(times):
        within = [t for t in times[i:] if t - start < policy.window_seconds]
        assert len(within) <= max_restarts, (times, program)


def test_record_merges_with_what_another_watchdog_saved(cluster):
    """The status record is the union of both watchdogs' restarts, written over the version read."""
    world, settings_ = standin_world(cluster, Policy())
    api = process(cluster, world)
    theirs = State(restarts=((NOW - 100, "workflow-controller"),))
    cluster.configmaps[STATUS_CONFIGMAP]["data"]["state.json"] = json.dumps(theirs.to_dict())
    mine = State(restarts=((NOW - 50, "workflow-controller"),))
    merged = record(api, settings_, Observation(NOW, []), [], mine, wall=world.node)
    assert merged.restarts == ((NOW - 100, "workflow-controller"), (NOW - 50, "workflow-controller"))
    saved = State.from_dict(json.loads(cluster.configmaps[STATUS_CONFIGMAP]["data"]["state.json"]))
    assert saved.restarts == merged.restarts
