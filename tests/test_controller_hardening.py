"""Workflow-controller hardening on the real upstream KFP 2.17.0 render (the `kfp_fixture`)."""
from __future__ import annotations

import pytest

from infra.manifests.controller import CONTROLLER, harden_controller
from infra.manifests.objects import ManifestMismatch
from infra.manifests.source import NAMESPACED_FILE, parse
from tests.support.manifests import assert_hardened, controller_of


@pytest.fixture
def platform(kfp_fixture):
    return parse((kfp_fixture / NAMESPACED_FILE).read_text())


def test_upstream_has_leader_election_and_no_limit(platform):
    """The premise: what upstream ships needs the change (if a release fixes it, this test says so)."""
    _, item = controller_of(platform)
    assert "LEADER_ELECTION_DISABLE" not in {e["name"] for e in item["env"]}
    assert "limits" not in item["resources"]


def test_hardening_the_real_render(platform):
    others = [o for o in platform if o["metadata"]["name"] != CONTROLLER]
    before = [dict(o) for o in others]
    harden_controller(platform)
    assert_hardened(platform)
    assert [o for o in platform if o["metadata"]["name"] != CONTROLLER] == before   # nothing else touched


def test_hardening_is_idempotent_and_keeps_a_bigger_limit(platform):
    _, item = controller_of(platform)
    item["resources"]["limits"] = {"memory": "2Gi"}
    harden_controller(platform)
    harden_controller(platform)
    _, item = controller_of(platform)
    assert item["resources"]["limits"]["memory"] == "2Gi"
    assert [e["name"] for e in item["env"]].count("LEADER_ELECTION_DISABLE") == 1


def test_a_release_without_the_controller_fails_loudly(platform):
    with pytest.raises(ManifestMismatch, match="Deployment workflow-controller"):
        harden_controller([o for o in platform if o["metadata"]["name"] != CONTROLLER])
