"""The project's real Pulumi program, with the real CLI and the kubernetes provider, on the tier's control plane
(engine `existing`, KFP from the 2.17.0 fixture). Docker is a stand-in on PATH (tests/engine/docker_standin.py: the
registry container is a real process holding 127.0.0.1:<registryPort>); random, command and the python language host
are project-written stand-ins (tests/engine/plugins/: the module proxy serves none of them).

One stack goes through its life in order: preview, up, no-op up, failures and recovery, destroy.
"""
from __future__ import annotations

import json

import pytest

from infra.components.kfp import prepare
from infra.config import from_raw
from infra.topology import NAMESPACE
from tests.engine.controlplane import NEVER_READY_IMAGE
from tests.engine.tier.conftest import stack_config
from watchdog.objects import package_sources, watchdog_objects

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


def test_up_creates_every_object_with_crds_established_first(stack, plane, tmp_path):
    events = tmp_path / "events.jsonl"
    result = stack.up("--event-log", str(events))
    assert result.ok, result.out[-4000:]
    want = expected_objects(stack)
    have = objects_in_cluster(plane, {kind for kind, _, _ in want})
    assert want - have == set()
    crds = plane.get_json("crd")["items"]
    assert len(crds) == 11 and all(
        any(c["type"] == "Established" and c["status"] == "True" for c in crd["status"]["conditions"]) for crd in crds)
    # Every CRD's create finished before any namespaced KFP object was created.
    order = [json.loads(line) for line in events.read_text().splitlines() if line.strip()]
    done_crds = [i for i, e in enumerate(order)
                 if "CustomResourceDefinition" in e.get("resOutputsEvent", {}).get("metadata", {}).get("type", "")]
    first_namespaced = min(i for i, e in enumerate(order)
                           if e.get("resourcePreEvent", {}).get("metadata", {}).get("type", "")
                           == "kubernetes:apps/v1:Deployment")
    assert len(done_crds) == 11 and max(done_crds) < first_namespaced


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
