"""The project's real Pulumi program, with the real CLI and the kubernetes provider, on the tier's control plane
(engine `existing`, KFP from the 2.17.0 fixture). Docker is a stand-in on PATH (tests/engine/docker_standin.py: the
registry container is a real process holding 127.0.0.1:<registryPort>); random, command and the python language host
are project-written stand-ins (tests/engine/plugins/: the module proxy serves none of them).

One stack goes through its life in order: preview, up, no-op up, failures and recovery, destroy.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from infra.components.kfp import prepare
from infra.config import from_raw
from infra.topology import NAMESPACE
from kfp_watchdog.objects import NAME as WATCHDOG
from kfp_watchdog.objects import package_sources, watchdog_objects
from pipelines.endpoints import Endpoints
from tests.engine.controlplane import NEVER_READY_IMAGE
from tests.engine.pulumi_cli import ROOT, STANDIN, Stack
from tests.engine.tier.conftest import stack_config

pytestmark = pytest.mark.usefixtures("plane")


def expected_objects(stack) -> set[tuple[str, str, str]]:
    """(kind, namespace, name) of every KFP, MinIO and watchdog object the program installs."""
    raw = {k: v for k, v in stack_config("/unused").items() if k != "dataDir"}
    objects = prepare(from_raw(raw, stack=stack.name))
    found = [*objects.cluster_scoped, *objects.namespaced, *watchdog_objects(NAMESPACE, package_sources())]
    return {(o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]) for o in found}


def objects_in_cluster(plane, kinds: set[str]) -> set[tuple[str, str, str]]:
    items = plane.get_json(",".join(sorted(kinds)), "-A")["items"]
    return {(o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]) for o in items}


@pytest.fixture(scope="module")
def stack(make_stack):
    return make_stack("main")


def test_preview_of_a_fresh_stack_shows_what_will_be_created(stack):
    result = stack.preview()
    assert result.ok, result.out
    assert "kubernetes:apps/v1:Deployment" in result.out and "to create" in result.out, result.out


def test_up_creates_every_object_with_crds_established_first(stack, plane):
    result = stack.up()
    assert result.ok, result.out[-4000:]
    want = expected_objects(stack)
    have = objects_in_cluster(plane, {kind for kind, _, _ in want})
    assert want - have == set()
    crds = plane.get_json("crd")["items"]
    established = [next(c["lastTransitionTime"] for c in crd["status"]["conditions"]
                        if c["type"] == "Established" and c["status"] == "True") for crd in crds]
    assert len(crds) == 11 and len(established) == 11
    # Every CRD was established before any namespaced KFP object was created (the API server's own clock, RFC 3339
    # seconds, which compare as text).
    deployments = plane.get_json("deployment", "-n", NAMESPACE)["items"]
    assert max(established) <= min(d["metadata"]["creationTimestamp"] for d in deployments)


def test_second_up_and_preview_report_no_changes(stack):
    second = stack.up()
    assert second.ok, second.out[-4000:]
    assert "to create" not in second.out and "to update" not in second.out and "to replace" not in second.out, \
        second.out[-4000:]
    preview = stack.preview("--expect-no-changes")
    assert preview.ok, preview.out[-4000:]


def test_a_never_ready_deployment_fails_up_quickly_with_the_readiness_message(stack, plane):
    stack.set("minioImage", NEVER_READY_IMAGE)
    try:
        result = stack.up()
        assert not result.ok
        assert result.seconds < 180, f"took {result.seconds:.0f} s"
        assert "KFP is not ready" in result.out and "InvalidImageName" in result.out, result.out[-4000:]
        assert "pod minio-" in result.out, result.out[-4000:]
    finally:
        stack.set("minioImage", from_raw({}).minio_image)
    again = stack.up()
    assert again.ok, again.out[-4000:]


def fail_new_job(plane, old_uid: str, stop) -> None:
    """Mark the replacement bucket Job failed, as the Job controller does once its pods used up the backoff limit
    (which takes ~10 minutes of back-off for real), before its pod completes (JOB_POD_SECONDS)."""
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    failed = [{"type": kind, "status": "True", "reason": "BackoffLimitExceeded", "lastTransitionTime": now,
               "message": "Job has reached the specified backoff limit"} for kind in ("FailureTarget", "Failed")]
    while not stop.wait(0.5):
        jobs = plane.get_json("job", "-n", NAMESPACE, "-l", "app=minio-bucket")["items"]
        fresh = [j for j in jobs if j["metadata"]["uid"] != old_uid]
        if fresh:
            patch = {"status": {"conditions": failed, "active": 0, "failed": 7, "ready": 0,
                                "startTime": fresh[0]["status"].get("startTime", now)}}
            plane.kubectl("patch", "job", fresh[0]["metadata"]["name"], "-n", NAMESPACE, "--subresource=status",
                          "--type=merge", "-p", json.dumps(patch))
            return


def test_a_failed_bucket_job_does_not_block_the_next_up(stack, plane):
    """The Job fails (as when MinIO does not answer in time); once the cause is gone, the next `up` with nothing
    changed replaces the failed Job (pulumi.com/replaceUnready) instead of waiting on it again."""
    import threading

    (old,) = plane.get_json("job", "-n", NAMESPACE, "-l", "app=minio-bucket")["items"]
    stop = threading.Event()
    failer = threading.Thread(target=fail_new_job, args=(plane, old["metadata"]["uid"], stop))
    failer.start()
    try:
        # The Job is gone from the cluster (as after a TTL clean-up); `up --refresh` creates it again, and it fails.
        # (Not `--replace`: the engine would create the same-named "replacement" first, which server-side apply merges
        # into the existing Job, and then delete that Job.)
        plane.kubectl("delete", "job", "minio-create-bucket", "-n", NAMESPACE, "--wait=true")
        failed = stack.up("--refresh")
        assert not failed.ok and "minio-create-bucket" in failed.out, failed.out[-4000:]
    finally:
        stop.set()
        failer.join()
    again = stack.up()
    assert again.ok, again.out[-4000:]
    jobs = plane.get_json("job", "-n", NAMESPACE, "-l", "app=minio-bucket")["items"]
    assert [j["status"].get("succeeded") for j in jobs] == [1]


def test_the_watchdog_runs_with_its_own_token_has_exactly_its_rbac_and_restarts_a_stuck_controller(stack, plane,
                                                                                                   tmp_path):
    sa = f"system:serviceaccount:{NAMESPACE}:{WATCHDOG}"

    def can(verb: str, what: str) -> bool:
        done = plane.kubectl("auth", "can-i", verb, what, "-n", NAMESPACE, f"--as={sa}", check=False)
        return done.stdout.strip() == "yes"

    allowed = [("list", "pods"), ("patch", "deployments/workflow-controller"), ("create", "events"),
               ("get", "configmaps/kfp-watchdog-status"), ("patch", "configmaps/kfp-watchdog-status")]
    denied = [("delete", "pods"), ("get", "secrets"), ("list", "deployments"), ("patch", "deployments/mysql"),
              ("patch", "deployments/minio"), ("get", "configmaps/kfp-launcher"), ("create", "deployments"),
              ("patch", "configmaps/other")]
    assert [a for a in allowed if not can(*a)] == [] and [d for d in denied if can(*d)] == []

    account = tmp_path / "sa"
    account.mkdir()
    (account / "token").write_text(plane.kubectl("create", "token", WATCHDOG, "-n", NAMESPACE).stdout.strip())
    (account / "ca.crt").write_bytes((plane.workdir / "ca.crt").read_bytes())
    (pod,) = plane.get_json("pods", "-n", NAMESPACE, "-l", "app=workflow-controller")["items"]
    plane.kubectl("patch", "pod", pod["metadata"]["name"], "-n", NAMESPACE, "--subresource=status", "--type=merge",
                  "-p", json.dumps({"status": {"conditions": [{"type": "Ready", "status": "False"}]}}))
    env = dict(os.environ, KUBERNETES_SERVICE_HOST="127.0.0.1", KUBERNETES_SERVICE_PORT="6443",
               WATCHDOG_SERVICE_ACCOUNT=str(account), WATCHDOG_NAMESPACE=NAMESPACE,
               WATCHDOG_HEARTBEAT=str(tmp_path / "heartbeat"), WATCHDOG_INTERVAL_SECONDS="1",
               WATCHDOG_NOT_READY_SECONDS="2", PYTHONPATH=str(ROOT))
    watchdog = subprocess.Popen([sys.executable, "-m", "kfp_watchdog"], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
    try:
        deadline, restarted = time.monotonic() + 60, None
        while time.monotonic() < deadline and not restarted:
            template = plane.get_json("deployment", "workflow-controller", "-n", NAMESPACE)["spec"]["template"]
            restarted = template["metadata"].get("annotations", {}).get("kubectl.kubernetes.io/restartedAt")
            time.sleep(1)
    finally:
        watchdog.terminate()
        log = watchdog.communicate(timeout=15)[0]
    assert restarted, f"no restart within 60 s; watchdog said:\n{log[-3000:]}"
    plane.kubectl("rollout", "status", "deployment/workflow-controller", "-n", NAMESPACE, "--timeout=60s")


def test_lost_state_is_recreated_over_the_same_cluster_by_inv_up_and_inv_down_leaves_nothing(stack, plane, env):
    """The laptop lost its Pulumi state and its registry container (a Docker reset): the same stack name, created
    again through `inv up` (the Automation API), adopts the objects still in the cluster instead of failing with
    AlreadyExists; its outputs feed `Endpoints`; `inv down` removes every object, and a second destroy succeeds."""
    config = stack_config(plane.workdir / "data-again")
    assert stack.pulumi("stack", "rm", "--yes", "--force").ok
    (ROOT / f"Pulumi.{stack.name}.yaml").unlink(missing_ok=True)
    subprocess.run([sys.executable, str(STANDIN), "rm", "-f", "kfp-registry"], env=env, check=False)
    again = Stack(stack.name, env).init(config)
    inv = [sys.executable, "-m", "invoke"]
    up = subprocess.run([*inv, "up", "--stack", again.name, "--yes"], cwd=ROOT, env=env, text=True,
                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=400)
    assert up.returncode == 0, up.stdout[-4000:]
    assert "AlreadyExists" not in up.stdout
    endpoints = Endpoints.from_outputs(again.outputs())
    assert endpoints.kfp.startswith("http://127.0.0.1:") and endpoints.minio_secret_key

    down = subprocess.run([*inv, "down", "--stack", again.name, "--yes"], cwd=ROOT, env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=400)
    assert down.returncode == 0, down.stdout[-4000:]
    want = expected_objects(again)
    left = objects_in_cluster(plane, {kind for kind, _, _ in want}) & want
    assert left == set()
    second = again.destroy()
    assert second.ok, second.out[-4000:]
    plane.recycle_volumes()
