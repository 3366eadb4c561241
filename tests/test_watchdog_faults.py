"""Fault scenarios: the REAL watchdog loop (`kfp_watchdog.loop.run` with the real urllib client and the real /healthz
probe) against the stand-in API server on 127.0.0.1 (tests/support/kube_api.py; it replaces the API server and the
Deployment controller only because this machine has no cluster). Each scenario says which real behaviour it imitates.

Time is virtual (`VirtualTime`): the API server's `Date`, the node's clock and the monotonic clock move only when the
loop sleeps, so the thresholds are the real defaults and a scenario spanning hours runs in milliseconds.
"""
from __future__ import annotations

import json
import threading

import pytest

from kfp_watchdog.clock import ApiClock
from kfp_watchdog.decide import Policy
from kfp_watchdog.kube import RESTARTS, KubeApi, probe_healthz
from kfp_watchdog.loop import WRITE_ATTEMPTS, Settings, run
from kfp_watchdog.objects import role
from tests.support.kube_api import NS, STATUS_CONFIGMAP, VirtualTime, make_pod

POLICY = Policy(cooldown_seconds=0, healthz_failures=2)
DEPLOY = f"/apis/apps/v1/namespaces/{NS}/deployments/workflow-controller"
PODS = f"/api/v1/namespaces/{NS}/pods"
STATUS = f"/api/v1/namespaces/{NS}/configmaps/{STATUS_CONFIGMAP}"


def watch(cluster, tmp_path, checks, policy=POLICY, world=None, probe=probe_healthz):
    """Run the real loop for `checks` checks in `world`'s time; /healthz is probed on the stand-in's port."""
    world = world or VirtualTime()
    cluster.clock = world.server
    settings = Settings(namespace=NS, policy=policy, heartbeat=tmp_path / "heartbeat",
                        healthz={"workflow-controller": (cluster.port, "/healthz")})
    api = KubeApi(cluster.url, timeout=2, clock=ApiClock(wall=world.node, monotonic=world.monotonic))
    return run(api, settings, checks=checks, sleep=world.sleep, probe=probe, wall=world.node)


def patches(cluster, path=DEPLOY):
    return [p for m, p in cluster.requests if m == "PATCH" and p.split("?")[0] == path]


def reasons(cluster):
    return [e["reason"] for e in cluster.events]


def broken_controller(cluster):
    cluster.pods = [make_pod("workflow-controller", "old", crash=True)]
    cluster.restart_yields_broken_pod = True


def test_recovers_a_crash_looping_controller_within_one_check(cluster, tmp_path):
    """Imitates: the workflow-controller exits after a laptop sleep (lost lease) and sits in the kubelet's 5-minute
    CrashLoopBackOff; the watchdog rollout-restarts it and the Deployment controller brings a fresh pod."""
    cluster.pods = [make_pod("workflow-controller", "old", crash=True), make_pod("ml-pipeline", "ok")]
    watch(cluster, tmp_path, checks=1)
    assert len(patches(cluster)) == 1
    assert [p["metadata"]["name"] for p in cluster.pods] == ["ml-pipeline-abc12-ok", "workflow-controller-abc12-r1"]
    (event,) = cluster.events
    assert event["reason"] == "WatchdogRestart" and event["involvedObject"]["name"] == "workflow-controller"
    assert event["involvedObject"]["uid"] == "uid-workflow-controller"   # `kubectl describe` matches events by uid
    status = cluster.status_of()
    assert status["ok"] and status["actions"][-1]["action"] == "restart" and status["failedRestarts"] == {}
    assert (tmp_path / "heartbeat").exists()
    # The restart and its record are one write on the Deployment itself.
    assert len(json.loads(cluster.deployments["workflow-controller"]["metadata"]["annotations"][RESTARTS])) == 1


def test_writes_are_merge_patches_with_the_version_read(cluster, tmp_path):
    """Imitates the real API server's rules: a PATCH needs a patch content type (415 otherwise), and a
    `metadata.resourceVersion` in it is a precondition."""
    broken_controller(cluster)
    watch(cluster, tmp_path, checks=1)
    assert {t for m, t in cluster.content_types if m == "PATCH"} == {"application/merge-patch+json"}
    assert {t for m, t in cluster.content_types if m == "POST"} == {"application/json"}
    assert all("fieldManager=kfp-laptop-watchdog" in p for m, p in cluster.requests if m == "PATCH")


def test_restarts_a_controller_whose_healthz_keeps_failing(cluster, tmp_path):
    """Imitates: the controller runs and is Ready but stopped reconciling, so Argo's /healthz answers 500."""
    cluster.pods = [make_pod("workflow-controller", "hung")]
    cluster.healthz_ok = False
    watch(cluster, tmp_path, checks=4)
    assert len(patches(cluster)) == 1          # after healthz_failures=2 checks, then healthy again
    assert cluster.pods[0]["metadata"]["name"].endswith("-r1")


def test_no_action_on_healthy_or_foreign_pods(cluster, tmp_path):
    """Imitates: a healthy KFP install while a user's pipeline step (not a watched Deployment) crash-loops."""
    foreign = make_pod("wine-tuning-step", "x", crash=True)
    cluster.pods = [make_pod("workflow-controller", "ok"), make_pod("ml-pipeline", "ok"), foreign]
    watch(cluster, tmp_path, checks=3)
    assert patches(cluster) == [] and cluster.events == []
    assert {p.split("?")[0] for m, p in cluster.requests if m == "PATCH"} == {STATUS}   # only its own record


def test_a_terminating_controller_is_not_probed(cluster, tmp_path):
    """Imitates a rollout: the old pod shuts down (deletionTimestamp set, /healthz gone) while the new one serves."""
    old = make_pod("workflow-controller", "old")
    old["metadata"]["deletionTimestamp"] = "2027-01-15T08:00:30Z"     # its grace period ends in 30 s
    cluster.pods = [old, make_pod("workflow-controller", "new")]
    probed = []

    def probe(ip, port, path):
        probed.append(ip)
        return probe_healthz(ip, port, path)

    watch(cluster, tmp_path, checks=3, probe=probe)
    assert len(probed) == 3 and patches(cluster) == [] and cluster.events == []


def test_no_restart_storm_when_restarts_do_not_help(cluster, tmp_path):
    """Imitates: a controller that crashes on every start (e.g. a broken ConfigMap): restarting cannot fix it."""
    broken_controller(cluster)
    watch(cluster, tmp_path, checks=10, policy=Policy(cooldown_seconds=0, max_restarts=2))
    assert len(patches(cluster)) == 2
    assert reasons(cluster).count("WatchdogRestartLimit") == 1
    limit = next(e for e in cluster.events if e["reason"] == "WatchdogRestartLimit")
    assert limit["type"] == "Warning" and "kubectl" in limit["message"]


def test_rate_limit_survives_a_watchdog_restart(cluster, tmp_path):
    """Imitates: the watchdog pod itself is replaced; it reads its saved state back from its status ConfigMap."""
    broken_controller(cluster)
    world, policy = VirtualTime(), Policy(cooldown_seconds=0, max_restarts=2)
    watch(cluster, tmp_path, checks=2, policy=policy, world=world)
    watch(cluster, tmp_path, checks=3, policy=policy, world=world)
    assert len(patches(cluster)) == 2


def test_rate_limit_survives_a_lost_status_configmap(cluster, tmp_path):
    """Imitates: someone deletes the status ConfigMap and the watchdog pod is replaced: the restarts recorded on the
    Deployment itself still count, and the missing record is reported once."""
    broken_controller(cluster)
    world, policy = VirtualTime(), Policy(cooldown_seconds=0, max_restarts=2)
    watch(cluster, tmp_path, checks=1, policy=policy, world=world)
    del cluster.configmaps[STATUS_CONFIGMAP]
    watch(cluster, tmp_path, checks=1, policy=policy, world=world)
    watch(cluster, tmp_path, checks=4, policy=policy, world=world)         # a fresh pod: no state at all
    assert cluster.restarts == 2
    assert reasons(cluster).count("WatchdogRestartLimit") >= 1
    missing = [e for e in cluster.events if e["reason"] == "WatchdogStatusMissing"]
    assert len(missing) == 2 and "inv up" in missing[0]["message"]     # once per watchdog process and window
    assert missing[0]["involvedObject"]["kind"] == "ConfigMap"


def test_two_racing_watchdogs_restart_once(cluster, tmp_path):
    """Imitates: a second watchdog (a rollout overlapping the old pod, or a copy in another install) reads the same
    Deployment at the same version; the API server lets only the first conditional PATCH through (409 for the other),
    and the loser reads the Deployment again, finds the other's restart in its record, and leaves it alone."""
    broken_controller(cluster)
    cluster.race = threading.Barrier(2, timeout=5)   # both watchdogs read the Deployment at the same version:
    cluster.race_reads = 4                           # in their first check, and just before restarting it
    policy = Policy(interval_seconds=0.01, max_backoff_seconds=0.02, cooldown_seconds=3600)
    errors = []

    def one(folder):
        try:
            settings = Settings(namespace=NS, policy=policy, heartbeat=folder / "heartbeat",
                                healthz={"workflow-controller": (cluster.port, "/healthz")})
            run(KubeApi(cluster.url, timeout=10), settings, checks=8)
        except Exception as err:  # noqa: BLE001 (surfaced below; a thread's exception would otherwise vanish)
            errors.append(err)

    threads = [threading.Thread(target=one, args=(tmp_path / n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == [] and not any(t.is_alive() for t in threads)
    assert cluster.restarts == 1 and len(patches(cluster)) == 2          # the second PATCH got 409 Conflict
    assert reasons(cluster) == ["WatchdogRestart"]
    history = cluster.status_of()["actions"]
    assert [a["action"] for a in history] == ["restart"]                 # one record, though two watchdogs wrote it


def test_a_conflicting_status_write_is_merged_and_written_again(cluster, tmp_path):
    """Imitates: another writer updated the status ConfigMap between the watchdog's read and its write (409)."""
    broken_controller(cluster)
    cluster.fail("PATCH", STATUS, 409)
    watch(cluster, tmp_path, checks=1)
    assert len(patches(cluster, STATUS)) == 2
    assert cluster.status_of()["actions"][-1]["action"] == "restart"


@pytest.mark.parametrize("code", [403, 409, 500, 503])
def test_a_refused_restart_is_reported_as_failed_and_retried_with_back_off(cluster, tmp_path, code):
    """Imitates: the API server refuses the restart PATCH (403 RBAC drift, 409 a concurrent change that persists
    through the re-reads, 5xx overload) twice, then accepts it. Nothing is recorded as done until it is."""
    cluster.pods = [make_pod("workflow-controller", "old", crash=True)]
    per_attempt = WRITE_ATTEMPTS if code == 409 else 1         # a conflict is read again and retried at once
    cluster.fail("PATCH", DEPLOY, *[code] * 2 * per_attempt)
    world = VirtualTime()
    state = watch(cluster, tmp_path, checks=1, world=world)
    assert state.restarts == () and cluster.restarts == 0
    (failed,) = cluster.events
    assert failed["reason"] == "WatchdogRestartFailed" and failed["type"] == "Warning"
    assert str(code) in failed["message"]
    status = cluster.status_of()
    assert status["failedRestarts"]["workflow-controller"]["attempts"] == 1
    assert [a["action"] for a in status["actions"]] == ["restart-failed"]

    watch(cluster, tmp_path, checks=8, world=world)       # attempts 60 s, then 120 s later
    assert cluster.restarts == 1 and len(patches(cluster)) == 2 * per_attempt + 1
    status = cluster.status_of()
    assert [a["action"] for a in status["actions"]].count("restart-failed") == 2
    assert status["actions"][-1]["action"] == "restart" and status["failedRestarts"] == {}
    assert reasons(cluster).count("WatchdogRestartFailed") == 2 and reasons(cluster)[-1] == "WatchdogRestart"


def test_refused_restarts_back_off_exponentially(cluster, tmp_path):
    """Imitates: an API server that refuses every restart (e.g. a Role edited by hand): the retries spread out
    (interval doubled per refusal, capped) instead of hammering it, and each refusal is reported."""
    cluster.pods = [make_pod("workflow-controller", "old", crash=True)]
    cluster.fail("PATCH", DEPLOY, *[403] * 50)
    world = VirtualTime()
    watch(cluster, tmp_path, checks=40, world=world)         # 40 checks of 30 s = 20 minutes
    tried = [a["at"] for a in cluster.status_of()["actions"] if a["action"] == "restart-failed"]
    assert 4 <= len(tried) <= 8 and cluster.restarts == 0
    assert cluster.status_of()["failedRestarts"]["workflow-controller"]["attempts"] == len(tried)


def test_a_lost_answer_is_not_counted_but_the_deployment_record_holds_the_limit(cluster, tmp_path):
    """Imitates: the PATCH reached the API server and was applied, but the connection closed before its answer: the
    watchdog reports it as failed (not counted), and before the next attempt reads the Deployment's record, which
    has it."""
    broken_controller(cluster)
    cluster.fail("PATCH", DEPLOY, "lost-answer", "lost-answer", "lost-answer")
    watch(cluster, tmp_path, checks=8, policy=Policy(cooldown_seconds=0, max_restarts=2))
    assert cluster.restarts == 2
    assert "WatchdogRestartFailed" in reasons(cluster) and "WatchdogRestartLimit" in reasons(cluster)


def test_an_explanation_the_api_refused_is_not_recorded_and_is_tried_again(cluster, tmp_path):
    """Imitates: the API refuses the Event (403: an edited Role; 5xx): the status must not claim it was posted, and
    the next check explains again instead of waiting an hour."""
    pulling = make_pod("ml-pipeline", "pull", ready=False)
    pulling["status"]["containerStatuses"][0]["state"] = {"waiting": {"reason": "ImagePullBackOff"}}
    cluster.pods = [make_pod("workflow-controller", "ok"), pulling]
    cluster.fail("POST", f"/api/v1/namespaces/{NS}/events", 403)
    world = VirtualTime()
    watch(cluster, tmp_path, checks=1, world=world)
    assert cluster.events == [] and cluster.status_of()["actions"] == []
    world.sleep(30)
    watch(cluster, tmp_path, checks=3, world=world)
    assert reasons(cluster) == ["ImagePullBackOff"]
    assert [(a["action"], a["reason"]) for a in cluster.status_of()["actions"]] == [("event", "ImagePullBackOff")]


def test_survives_5xx_and_timeouts_with_back_off(cluster, tmp_path):
    """Imitates: the API server restarting or overloaded (503 answers, requests hanging past the client timeout)."""
    cluster.pods = [make_pod("workflow-controller", "old", crash=True)]
    cluster.fail("GET", PODS, 503, "timeout", 503)             # the first three checks cannot list pods
    world = VirtualTime()
    state = watch(cluster, tmp_path, checks=5, world=world)
    assert world.sleeps == [60, 120, 240, 30]                  # doubled per failed check, then back to normal
    assert len(patches(cluster)) == 1 and cluster.pods[0]["metadata"]["name"].endswith("-r1")
    assert state.api_errors == 0
    status = cluster.status_of()
    assert status["ok"] and status["apiErrors"] == 0


ODD_ANSWERS = {
    "items null": (200, {"kind": "PodList", "items": None}),
    "no items": (200, {"kind": "PodList"}),
    "items not a list": (200, {"items": {"a": 1}}),
    "not JSON": (200, b"<html>proxy error</html>"),
    "empty body": (200, b""),
    "truncated JSON": (200, b'{"items": [{"metadata": '),
    "a JSON list": (200, b"[1, 2]"),
    "pods with null fields": (200, {"items": [{"metadata": None, "status": None}, None, "pod", 7,
                                              {"metadata": {"name": None, "ownerReferences": None}},
                                              {"metadata": {"name": "workflow-controller-abc12-z", "labels": None},
                                               "status": {"conditions": None, "containerStatuses": [None, 3]}}]}),
    "an HTML 502": (502, b"<html>bad gateway</html>"),
}


@pytest.mark.parametrize("answer", list(ODD_ANSWERS.values()), ids=list(ODD_ANSWERS))
def test_odd_answers_never_stop_the_loop(cluster, tmp_path, answer):
    """Imitates: a proxy, an aggregated API or a half-written answer in front of the real one, on every endpoint the
    watchdog reads. The loop goes on; once the API answers properly the controller is recovered."""
    cluster.pods = [make_pod("workflow-controller", "old", crash=True)]
    cluster.fail("GET", PODS, answer, answer)
    cluster.fail("GET", DEPLOY, answer)
    cluster.fail("GET", STATUS, answer, answer)
    watch(cluster, tmp_path, checks=5)
    assert cluster.restarts == 1 and (tmp_path / "heartbeat").exists()
    assert cluster.status_of()["ok"]


@pytest.mark.parametrize("answer", [(200, b"not json"), (200, {"metadata": None}), (201, b"")],
                         ids=["not JSON", "metadata null", "empty"])
def test_an_odd_answer_to_the_restart_is_survived(cluster, tmp_path, answer):
    """Imitates: the restart PATCH answered 2xx with a body that is not a Deployment: it is taken as done only when
    the answer is a JSON object (the API accepted it); otherwise it is reported and the record decides later."""
    cluster.pods = [make_pod("workflow-controller", "old", crash=True)]
    cluster.fail("PATCH", DEPLOY, answer)
    watch(cluster, tmp_path, checks=3)
    assert (tmp_path / "heartbeat").exists() and cluster.status_of()["ok"]


def test_reports_a_deleted_controller_deployment(cluster, tmp_path):
    """Imitates: `kubectl delete deploy/workflow-controller`: no pods, and the API says 404 for the Deployment."""
    del cluster.deployments["workflow-controller"]
    watch(cluster, tmp_path, checks=3)
    (event,) = cluster.events
    assert event["reason"] == "DeploymentMissing" and event["involvedObject"]["kind"] == "Deployment"
    assert "inv up" in event["message"] and patches(cluster) == []
    assert cluster.status_of()["problems"][0]["reason"] == "DeploymentMissing"


def test_reports_a_controller_scaled_to_zero(cluster, tmp_path):
    """Imitates: `kubectl scale deploy/workflow-controller --replicas=0`."""
    cluster.deployments["workflow-controller"]["spec"]["replicas"] = 0
    watch(cluster, tmp_path, checks=2)
    assert reasons(cluster) == ["ScaledToZero"] and "--replicas=1" in cluster.events[0]["message"]


def test_reports_a_controller_with_no_pod_once_it_lasts(cluster, tmp_path):
    """Imitates: the ReplicaSet cannot create the pod (quota, admission webhook): the Deployment wants 1, none exist.
    A moment without a pod (a Recreate rollout) is not reported."""
    cluster.deployments["workflow-controller"]["status"] = {"conditions": [
        {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate", "message": "exceeded quota: pods=0"}]}
    world = VirtualTime()
    watch(cluster, tmp_path, world=world, checks=2)                  # 30 s without a pod: still a rollout, maybe
    assert cluster.events == []
    watch(cluster, tmp_path, world=world, checks=6)
    (event,) = cluster.events
    assert event["reason"] == "ControllerGone" and "exceeded quota" in event["message"]


def test_reports_a_pod_stuck_terminating(cluster, tmp_path):
    """Imitates: the node went away, so the kubelet never confirms the deletion and the pod stays Terminating."""
    old = make_pod("workflow-controller", "old")
    old["metadata"].update(deletionTimestamp="2027-01-15T07:00:00Z", deletionGracePeriodSeconds=30)
    cluster.pods = [old, make_pod("workflow-controller", "new")]
    watch(cluster, tmp_path, checks=2)
    (event,) = cluster.events
    assert event["reason"] == "StuckTerminating" and event["involvedObject"]["kind"] == "Pod"
    assert "--force" in event["message"] and patches(cluster) == []


def test_a_deletion_deadline_in_the_future_is_waited_out_from_first_sight(cluster, tmp_path):
    """Imitates: the API server's clock was stepped back, so a pod's deletionTimestamp lies in the future."""
    old = make_pod("workflow-controller", "old")
    old["metadata"].update(deletionTimestamp="2099-01-01T00:00:00Z", deletionGracePeriodSeconds=30)
    cluster.pods = [old, make_pod("workflow-controller", "new")]
    world = VirtualTime()
    watch(cluster, tmp_path, world=world, checks=5)                  # 2 minutes
    assert cluster.events == []
    watch(cluster, tmp_path, world=world, checks=12)                 # well past grace + 300 s of watching it
    assert reasons(cluster) == ["StuckTerminating"]


def test_reports_an_unschedulable_controller_without_restarting_it(cluster, tmp_path):
    """Imitates: no node has room for the controller (Docker's memory too small)."""
    pod = make_pod("workflow-controller", "p", ready=False)
    pod["status"] = {"phase": "Pending", "conditions": [
        {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
         "message": "0/1 nodes are available: 1 Insufficient memory."}]}
    cluster.pods = [pod]
    watch(cluster, tmp_path, checks=12)
    assert reasons(cluster) == ["Unschedulable"] and patches(cluster) == []
    assert "Insufficient memory" in cluster.events[0]["message"]


def test_reports_a_controller_pending_for_too_long(cluster, tmp_path):
    """Imitates: the controller's pod stays ContainerCreating (a volume that never mounts, a stuck image pull)."""
    pod = make_pod("workflow-controller", "p", ready=False)
    pod["status"]["phase"] = "Pending"
    pod["status"]["containerStatuses"][0]["state"] = {"waiting": {"reason": "ContainerCreating"}}
    pod["status"]["conditions"][0]["lastTransitionTime"] = "2027-01-15T08:00:00Z"
    cluster.pods = [pod]
    world = VirtualTime()
    watch(cluster, tmp_path, world=world, checks=20)                 # 10 minutes: image pulls may take that long
    assert cluster.events == []
    watch(cluster, tmp_path, world=world, checks=20)
    assert reasons(cluster) == ["StuckStarting"] and patches(cluster) == []


def test_reports_a_controller_on_a_not_ready_node_without_restarting_it(cluster, tmp_path):
    """Imitates: the node stops reporting; the node lifecycle controller flips the pod's Ready condition to False
    (ContainersReady stays True, only the kubelet writes it). A restart could not help: the new pod needs a node."""
    pod = make_pod("workflow-controller", "p")
    pod["status"]["conditions"][0].update(status="False", lastTransitionTime="2027-01-15T07:00:00Z")
    cluster.pods = [pod]
    watch(cluster, tmp_path, checks=15)
    assert reasons(cluster) == ["NodeNotReady"] and patches(cluster) == []
    assert "kfp-laptop-control-plane" in cluster.events[0]["message"]
    assert cluster.status_of()["problems"][0]["reason"] == "NodeNotReady"


@pytest.mark.parametrize("node_offset", [-86400.0, -300.0, 0.0, 3600.0, 86400 * 365])
def test_decisions_do_not_depend_on_the_node_clock(cluster, tmp_path, node_offset):
    """Imitates: the node's clock is behind or ahead (a laptop VM after sleep): the API server's own times decide.
    The controller has been NotReady 200 s by the API server's clock, so it is restarted after 100 s more, not
    sooner and not later, whatever the node thinks."""
    pod = make_pod("workflow-controller", "p")
    pod["status"]["conditions"][0].update(status="False", lastTransitionTime="2027-01-15T07:56:40Z")
    pod["status"]["conditions"][1]["status"] = "False"
    cluster.pods = [pod]
    world = VirtualTime(node_offset=node_offset)
    watch(cluster, tmp_path, checks=3, world=world)     # 200, 230, 260 s
    assert patches(cluster) == []
    world.sleep(30)
    watch(cluster, tmp_path, checks=2, world=world)     # a new watchdog process: 290, 320 s
    assert len(patches(cluster)) == 1
    clock = cluster.status_of()["clock"]
    assert clock["source"] == "api-server" and abs(clock["nodeAheadSeconds"] - node_offset) <= 1.5


def test_saved_restart_times_in_the_future_count_as_now(cluster, tmp_path):
    """Imitates: restart times from the future in the saved state and on the Deployment (a hand edit, a clock that
    was ahead): they hold the limit for one window from now, not until that future date."""
    broken_controller(cluster)
    future = ["2099-01-01T00:00:00.000Z", "2099-06-01T00:00:00.000Z", "2098-01-01T00:00:00.000Z"]
    cluster.deployments["workflow-controller"]["metadata"]["annotations"] = {RESTARTS: json.dumps(future)}
    cluster.configmaps[STATUS_CONFIGMAP]["data"]["state.json"] = json.dumps(
        {"restarts": [[4_070_908_800.0, "workflow-controller"]]})
    world = VirtualTime()
    watch(cluster, tmp_path, checks=10, world=world)
    assert cluster.restarts == 0 and "WatchdogRestartLimit" in reasons(cluster)
    world.sleep(3600)
    watch(cluster, tmp_path, checks=1, world=world)
    assert cluster.restarts == 1


def test_without_a_date_header_time_is_the_monotonic_clock(cluster, tmp_path):
    """Imitates: an API (or proxy) that sends no `Date`, on a node whose clock is a day behind: intervals still come
    from the monotonic clock, and the status says which clock was used."""
    cluster.send_date = False
    pod = make_pod("workflow-controller", "p")
    pod["status"]["conditions"][0].update(status="False", lastTransitionTime="2027-01-15T07:59:00Z")
    pod["status"]["conditions"][1]["status"] = "False"
    cluster.pods = [pod]
    world = VirtualTime(node_offset=-86400)
    watch(cluster, tmp_path, checks=10, world=world)    # 5 minutes of watching: lastTransitionTime is "in the future"
    assert patches(cluster) == []
    watch(cluster, tmp_path, checks=2, world=world)
    assert len(patches(cluster)) == 1 and cluster.status_of()["clock"]["source"] == "node"


def permission(method: str, path: str) -> tuple[str, str, str, str | None]:
    """(verb, apiGroup, resource, name) of a request, resolved the way the API server's authorizer does."""
    parts = path.split("?")[0].strip("/").split("/")
    group = "" if parts[0] == "api" else parts[1]
    rest = parts[2:] if parts[0] == "api" else parts[3:]      # namespaces/<ns>/<resource>[/<name>]
    resource, name = rest[2], (rest[3] if len(rest) > 3 else None)
    verb = {"GET": "get" if name else "list", "POST": "create", "PATCH": "patch", "PUT": "update",
            "DELETE": "delete"}[method]
    return verb, group, resource, name


def allowed(rules: list[dict], verb, group, resource, name) -> bool:
    return any(group in r["apiGroups"] and resource in r["resources"] and verb in r["verbs"]
               and ("resourceNames" not in r or name in r["resourceNames"]) for r in rules)


def test_role_grants_exactly_what_the_loop_uses(cluster, tmp_path):
    """Imitates RBAC: every request the real loop sends must be allowed by the Role, and every grant must be used."""
    broken = make_pod("ml-pipeline", "pull", ready=False)
    broken["status"]["containerStatuses"][0]["state"] = {"waiting": {"reason": "ImagePullBackOff"}}
    cluster.pods = [make_pod("workflow-controller", "old", crash=True), broken]
    watch(cluster, tmp_path, checks=2)
    explained = next(e for e in cluster.events if e["reason"] == "ImagePullBackOff")
    assert explained["involvedObject"] == {"kind": "Pod", "name": "ml-pipeline-abc12-pull", "namespace": NS,
                                           "apiVersion": "v1", "uid": "uid-ml-pipeline-pull"}
    rules = role(NS, POLICY)["rules"]
    used = {permission(m, p) for m, p in cluster.requests}
    assert [u for u in used if not allowed(rules, *u)] == []
    granted = {(v, g, r) for rule in rules for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"]}
    assert granted == {(v, g, r) for v, g, r, _ in used}
    assert not any(v in ("delete", "update", "*") for v, *_ in granted)
    assert not any(r == "nodes" for _, _, r in granted)      # NotReady nodes are read from the pods


@pytest.mark.parametrize("saved", ["{not json", '["a list"]', '{"restarts": 5}', "null", '{"restarts": [[null, 1]]}'])
def test_an_unreadable_saved_state_starts_afresh_instead_of_crashing(cluster, tmp_path, saved):
    """Imitates: the status ConfigMap's state.json was edited by hand (or written by another release)."""
    cluster.configmaps[STATUS_CONFIGMAP]["data"]["state.json"] = saved
    cluster.pods = [make_pod("workflow-controller", "old", crash=True)]
    watch(cluster, tmp_path, checks=1)
    assert len(patches(cluster)) == 1
