"""The watchdog's Kubernetes objects: valid for the cluster's Kubernetes version, runnable from the source ConfigMap
alone (stdlib only, as in the official Python image), hardened, and with a liveness probe that really detects a
stalled loop."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from kfp_watchdog.decide import Policy
from kfp_watchdog.objects import IMAGE, SOURCE_CONFIGMAP, package_sources, watchdog_objects
from tests.support.k8s_schema import schema_errors


@pytest.fixture(scope="module")
def objects():
    return {o["kind"] + "/" + o["metadata"]["name"]: o for o in watchdog_objects("kubeflow", package_sources())}


def test_every_object_passes_kubernetes_validate(objects):
    errors, unchecked = schema_errors(list(objects.values()))
    assert errors == [] and unchecked == []
    assert set(objects) == {"ConfigMap/kfp-watchdog-source", "ConfigMap/kfp-watchdog-status",
                            "ServiceAccount/kfp-watchdog", "Role/kfp-watchdog", "RoleBinding/kfp-watchdog",
                            "Deployment/kfp-watchdog"}


def test_image_is_an_official_python_image_pinned_by_exact_tag(objects):
    (container,) = objects["Deployment/kfp-watchdog"]["spec"]["template"]["spec"]["containers"]
    assert container["image"] == IMAGE and IMAGE.startswith("python:3.") and IMAGE.count(".") >= 2
    assert "latest" not in IMAGE
    from pipelines.packaging import BASE_IMAGE

    assert IMAGE == BASE_IMAGE                    # one pull serves the watchdog and every pipeline task
    assert IMAGE.startswith(f"python:{sys.version_info.major}.{sys.version_info.minor}.")   # what the tests run


def test_pod_runs_unprivileged_with_limits_and_a_liveness_probe(objects):
    spec = objects["Deployment/kfp-watchdog"]["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    assert spec["securityContext"]["runAsNonRoot"] and container["securityContext"]["readOnlyRootFilesystem"]
    assert container["resources"]["limits"]["memory"] and container["livenessProbe"]["exec"]["command"][:3] == [
        "python", "-m", "kfp_watchdog.alive"]
    assert objects["Deployment/kfp-watchdog"]["spec"]["strategy"] == {"type": "Recreate"}


def test_restartable_deployments_agree_between_policy_and_role(objects):
    env = {e["name"]: e.get("value") for e in
           objects["Deployment/kfp-watchdog"]["spec"]["template"]["spec"]["containers"][0]["env"]}
    (patch_rule,) = [r for r in objects["Role/kfp-watchdog"]["rules"] if r["resources"] == ["deployments"]]
    assert env["WATCHDOG_RESTARTABLE"].split(",") == patch_rule["resourceNames"]
    assert Policy.from_env(env).restartable == set(patch_rule["resourceNames"])
    assert "mysql" not in patch_rule["resourceNames"]


def write_source_configmap(objects, tmp_path):
    folder = tmp_path / "kfp_watchdog"
    folder.mkdir()
    for name, text in objects[f"ConfigMap/{SOURCE_CONFIGMAP}"]["data"].items():
        (folder / name).write_text(text)
    return tmp_path


def test_the_source_configmap_alone_runs_with_only_the_standard_library(objects, tmp_path):
    """`-I -S`: no site-packages and no project checkout, like the mounted ConfigMap in a bare python image."""
    root = write_source_configmap(objects, tmp_path)
    code = "import kfp_watchdog.__main__, kfp_watchdog.loop; print(kfp_watchdog.loop.Settings('kubeflow').healthz)"
    script = f"import sys; sys.path.insert(0, {str(root)!r}); {code}"
    result = subprocess.run([sys.executable, "-I", "-S", "-c", script], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "workflow-controller" in result.stdout


def test_liveness_probe_fails_on_a_stale_heartbeat(objects, tmp_path):
    root = write_source_configmap(objects, tmp_path)
    heartbeat = tmp_path / "heartbeat"

    def probe():
        return subprocess.run([sys.executable, "-I", "-S", "-c",
                               f"import sys, runpy; sys.path.insert(0, {str(root)!r}); "
                               f"sys.argv = ['alive', {str(heartbeat)!r}, '60']; "
                               "runpy.run_module('kfp_watchdog.alive', run_name='__main__')"]
                              ).returncode

    assert probe() == 1                       # never written
    heartbeat.touch()                         # an older loop's heartbeat: judged by its modification time
    assert probe() == 0
    stale = time.time() - 120
    os.utime(heartbeat, (stale, stale))
    assert probe() == 1
    heartbeat.write_text(repr(time.monotonic()))   # the loop's own: monotonic, so a stepped node clock is no matter
    os.utime(heartbeat, (stale - 7200, stale - 7200))
    assert probe() == 0
    heartbeat.write_text(repr(time.monotonic() - 120))
    os.utime(heartbeat, None)
    assert probe() == 1


def test_the_events_the_watchdog_posts_are_valid_core_v1_events():
    from kfp_watchdog.decide import RecordEvent
    from kfp_watchdog.loop import event_manifest

    for action in (RecordEvent("Pod", "workflow-controller-abc-x", "ImagePullBackOff", "fix: ...", uid="u-1"),
                   RecordEvent("Deployment", "workflow-controller", "WatchdogRestart", "restarted", warning=False)):
        event = event_manifest("kubeflow", action, 1_800_000_000.0)
        assert schema_errors([event]) == ([], [])
        assert event["type"] == ("Warning" if action.warning else "Normal")
