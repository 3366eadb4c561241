"""The Watchdog component under `pulumi.runtime.set_mocks` (no Pulumi engine or cluster here); the objects of its
provider-side group are read back from the YAML text it sends: what it registers is what the cluster would get."""
from __future__ import annotations

import pytest

from kfp_watchdog.objects import package_sources, watchdog_objects
from tests.support.k8s_schema import schema_errors
from tests.support.pulumi_harness import run_program


@pytest.fixture(scope="module")
def program():
    def main():
        from infra.components.watchdog import Watchdog, WatchdogArgs

        watchdog = Watchdog("watchdog", WatchdogArgs())
        return {"status_configmap": watchdog.status_configmap}

    run = run_program({}, main=main)
    assert run.error is None, run.error
    return run


def test_registers_every_watchdog_object_once(program):
    registered = sorted((o["kind"], o["metadata"]["name"]) for o in program.kubernetes_objects())
    expected = sorted((o["kind"], o["metadata"]["name"]) for o in watchdog_objects("kubeflow", package_sources()))
    assert registered == expected
    assert program.outputs["status_configmap"] == "kfp-watchdog-status"
    status = program.requests[("kubernetes:core/v1:ConfigMap", "watchdog-status")]
    assert list(status.ignoreChanges) == ["data"], "a later `pulumi up` keeps what the watchdog wrote"
    group = program.named("watchdog-objects")
    assert group.dependencies == ["urn:pulumi:test::kfp-laptop::kfp-laptop:index:Watchdog$"
                                  "kubernetes:core/v1:ConfigMap::watchdog-status"], "its status map exists first"


def test_every_registered_object_passes_kubernetes_validate(program):
    errors, unchecked = schema_errors(program.kubernetes_objects())
    assert errors == [] and unchecked == []


def test_role_is_namespaced_and_grants_no_wildcards(program):
    kinds = {o["kind"] for o in program.kubernetes_objects()}
    assert "ClusterRole" not in kinds and "ClusterRoleBinding" not in kinds
    (role,) = [o for o in program.kubernetes_objects() if o["kind"] == "Role"]
    for rule in role["rules"]:
        assert "*" not in rule["verbs"] + rule["resources"] + rule["apiGroups"]
    named = {r["resources"][0]: r.get("resourceNames") for r in role["rules"]}
    assert named["configmaps"] == ["kfp-watchdog-status"] and "workflow-controller" in named["deployments"]
