"""Engine-level defects that the mocks can show (the engine tier, tests/engine/, shows them for real where it can):
who awaits what, when readiness re-runs, how the cluster and registry steps are replaced, what reaches a step's
environment, what a first preview says, and a default stack name that stays put on macOS."""
from __future__ import annotations

import copy
import subprocess

import pulumi
from hypothesis import given
from hypothesis import strategies as st

from infra.manifests.provider_policy import (
    FIELD_MANAGER,
    PATCH_FIELD_MANAGER,
    READINESS_WAITS_FOR,
    REPLACE_UNREADY,
    SKIP_AWAIT,
    objects_digest,
    set_provider_policy,
)
from laptop.host import default_stack_name, stable_host_name
from tests.support.program import commands, config_for, program_run
from tests.support.pulumi_harness import run_program

KINDS = st.sampled_from([*READINESS_WAITS_FOR, "Job", "ConfigMap", "Secret", "Role", "CustomResourceDefinition"])
OBJECTS = st.lists(st.fixed_dictionaries({"kind": KINDS, "metadata": st.fixed_dictionaries(
    {"name": st.text("abc-", min_size=1, max_size=8)})}), max_size=12)


@given(OBJECTS)
def test_the_provider_skips_its_await_exactly_where_readiness_waits_and_replaces_unready_jobs(objects):
    set_provider_policy(objects)
    for obj in objects:
        annotations = obj["metadata"].get("annotations", {})
        assert (annotations.get(SKIP_AWAIT) == "true") == (obj["kind"] in READINESS_WAITS_FOR)
        assert (annotations.get(REPLACE_UNREADY) == "true") == (obj["kind"] == "Job")
        assert annotations[PATCH_FIELD_MANAGER] == FIELD_MANAGER


@given(OBJECTS.filter(bool), st.data())
def test_readiness_trigger_changes_whenever_any_object_changes(objects, data):
    changed = copy.deepcopy(objects)
    target = data.draw(st.sampled_from(changed))
    target["metadata"]["labels"] = {"changed": "yes"}
    assert objects_digest(changed) != objects_digest(objects)
    assert objects_digest(copy.deepcopy(objects)) == objects_digest(objects)


def test_every_kfp_minio_and_watchdog_workload_skips_the_provider_await(kfp_fixture):
    run, _ = program_run("existing", kfp_fixture)
    objects = run.kubernetes_objects()
    waited = [o for o in objects if o["kind"] in READINESS_WAITS_FOR]
    assert len(waited) > 20
    assert all(o["metadata"]["annotations"][SKIP_AWAIT] == "true" for o in waited)
    (job,) = [o for o in objects if o["kind"] == "Job"]
    assert job["metadata"]["annotations"][REPLACE_UNREADY] == "true"
    assert all(o["metadata"]["annotations"][PATCH_FIELD_MANAGER] == FIELD_MANAGER for o in objects), \
        "one field manager for every object: a re-created stack takes its objects back (no SSA conflicts)"
    (readiness,) = [r for r in run.of_type("command:local:Command") if r.name == "readiness-wait"]
    assert len(readiness.inputs["triggers"][0]) == 16, "the objects' digest is the readiness step's first trigger"


def test_the_cluster_step_keeps_one_name_across_engines_and_the_engine_forces_a_replacement(kfp_fixture):
    kind, k3d = (commands(program_run(engine, kfp_fixture)[0]) for engine in ("kind", "k3d"))
    assert "cluster-create" in kind and "cluster-create" in k3d
    assert not any(name.startswith("cluster-") and name != "cluster-create" for name in [*kind, *k3d])
    assert kind["cluster-create"]["triggers"][0] == "kind" and k3d["cluster-create"]["triggers"][0] == "k3d"


def test_a_replaced_registry_container_is_connected_to_the_cluster_network_again(kfp_fixture):
    steps = commands(program_run("kind", kfp_fixture)[0])
    assert "registry-container-id" in steps["registry-network"]["triggers"], "an input dependency, not depends_on"


def test_no_step_gets_the_previous_stdout_in_its_environment(kfp_fixture):
    for engine in ("kind", "k3d", "existing"):
        for name, inputs in commands(program_run(engine, kfp_fixture)[0]).items():
            assert inputs.get("addPreviousOutputInEnv") is False, f"{engine}: {name}"


def test_first_preview_of_a_new_cluster_says_what_will_be_created(kfp_fixture, tmp_path, monkeypatch):
    said: list[str] = []
    monkeypatch.setattr(pulumi.log, "info", lambda message, *a, **k: said.append(message))
    run = run_program(config_for("kind", kfp_fixture, tmp_path / "data"), preview=True)
    assert run.error is None
    (note,) = [m for m in said if "does not exist yet" in m]
    assert "the kind cluster does not exist yet" in note and "KFP 2.17.0" in note
    assert " Deployment" in note and " CustomResourceDefinition" in note


def test_a_preview_with_a_known_kubeconfig_says_nothing_extra(monkeypatch):
    """A cluster that exists already: its kubeconfig is known, the preview lists every object itself."""
    from infra.preview import announce_when_unknown

    said: list[str] = []
    monkeypatch.setattr(pulumi.log, "info", lambda message, *a, **k: said.append(message))

    def main():
        announce_when_unknown(pulumi.Output.from_input("apiVersion: v1"), "the kind cluster does not exist yet")
        return {}

    assert run_program({}, main=main, preview=True).error is None
    assert said == []


@given(st.text(min_size=1, max_size=20).filter(lambda t: t.strip() and "\n" not in t))
def test_on_macos_the_default_stack_follows_the_local_host_name_not_the_network(local_name):
    def scutil(argv, **kwargs):
        assert argv == ["scutil", "--get", "LocalHostName"]
        return subprocess.CompletedProcess(argv, 0, f"{local_name}\n", "")

    assert stable_host_name(system=lambda: "Darwin", run=scutil) == local_name.strip()
    assert default_stack_name("ann", stable_host_name(system=lambda: "Darwin", run=scutil)) == \
        default_stack_name("ann", local_name.strip())


def test_elsewhere_or_without_scutil_the_host_name_is_used(monkeypatch):
    import socket

    monkeypatch.setattr(socket, "gethostname", lambda: "box.example")

    def broken(argv, **kwargs):
        raise OSError("no scutil")

    assert stable_host_name(system=lambda: "Linux", run=broken) == "box.example"
    assert stable_host_name(system=lambda: "Darwin", run=broken) == "box.example"
