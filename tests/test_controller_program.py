"""The hardened workflow-controller and the watchdog as the whole program registers them, under mocks (no Pulumi
engine or cluster here), sharing the program run cached by tests/support/program.py (KFP's YAML decoded for real)."""
from __future__ import annotations

from infra.manifests.controller import CONTROLLER
from kfp_watchdog.decide import Policy
from kfp_watchdog.objects import NAME as WATCHDOG
from tests.support.k8s_schema import schema_errors
from tests.support.manifests import assert_hardened
from tests.support.program import program_run


def test_the_program_installs_the_hardened_controller_and_the_watchdog(kfp_fixture):
    run, _ = program_run("kind", kfp_fixture)
    objects = run.kubernetes_objects()
    assert_hardened(objects)                          # leader election off, one Recreate replica, 1Gi, /healthz probe
    controllers = [o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == CONTROLLER]
    assert len(controllers) == 1
    mine = [o for o in objects if o["metadata"]["name"].startswith(WATCHDOG)]
    assert sorted(o["kind"] for o in mine) == ["ConfigMap", "ConfigMap", "Deployment", "Role", "RoleBinding",
                                               "ServiceAccount"]
    assert schema_errors(mine + controllers) == ([], [])


def test_the_watchdog_may_restart_every_kfp_deployment_it_names(kfp_fixture):
    """Its Role names Deployments by name: each must exist in what the program installs, or the name is dead."""
    run, _ = program_run("kind", kfp_fixture)
    objects = run.kubernetes_objects()
    deployments = {o["metadata"]["name"] for o in objects if o["kind"] == "Deployment"}
    (role,) = [o for o in objects if o["kind"] == "Role" and o["metadata"]["name"] == WATCHDOG]
    (rule,) = [r for r in role["rules"] if r["resources"] == ["deployments"]]
    assert set(rule["resourceNames"]) <= deployments
    assert Policy().explain_only <= deployments      # the stateful ones it only explains exist too
