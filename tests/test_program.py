"""The composed program under mocks (see test_program_runs): what each engine would run, which provider every
Kubernetes object goes through, and that a bad config registers nothing. Mocks stand in for the Pulumi engine and
providers only; the kind/k3d configs are checked by parsing the very text the create step would hand to kind/k3d."""
from __future__ import annotations

import re
import shlex
import tomllib

import pulumi
import pytest
import yaml

from infra import topology
from tests.support.k8s_schema import schema_errors
from tests.support.program import PORTS, commands, config_for, program_run
from tests.support.pulumi_harness import SECRET_SIG, run_program


def heredoc_config(script: str) -> dict:
    """The cluster config the create step writes for kind/k3d (one quoted word for printf), parsed as they would."""
    start = script.find("printf '%s\\n' ")
    assert start >= 0, "create step writes no cluster config"
    words = shlex.shlex(script[start:], posix=True)
    words.whitespace_split = True
    return yaml.safe_load([next(words) for _ in range(3)][2])


def test_kind_config_publishes_configured_ports_on_loopback_mirrors_registry_and_mounts_data(kfp_fixture):
    run, config = program_run("kind", kfp_fixture)
    create = commands(run)["cluster-create"]["create"]
    kind = heredoc_config(create)
    (node,) = kind["nodes"]
    assert kind["networking"]["apiServerAddress"] == "127.0.0.1"
    assert {(m["listenAddress"], m["hostPort"], m["containerPort"]) for m in node["extraPortMappings"]} == {
        ("127.0.0.1", 18080, topology.KFP_NODE_PORT), ("127.0.0.1", 19000, topology.MINIO_API_NODE_PORT),
        ("127.0.0.1", 19001, topology.MINIO_CONSOLE_NODE_PORT)}
    assert node["extraMounts"] == [{"hostPath": config["dataDir"], "containerPath": topology.NODE_DATA_DIR}]
    patch = tomllib.loads(kind["containerdConfigPatches"][0])
    assert patch["plugins"]["io.containerd.grpc.v1.cri"]["registry"]["config_path"] == "/etc/containerd/certs.d"
    # The mirror file for localhost:<registryPort> goes to every node, pointing at the registry container.
    assert "/etc/containerd/certs.d/localhost:15001/hosts.toml" in create
    assert '[host."http://kfp-registry:5000"]' in create


def test_k3d_config_publishes_configured_ports_on_loopback_mirrors_registry_and_mounts_data(kfp_fixture):
    run, config = program_run("k3d", kfp_fixture)
    k3d = heredoc_config(commands(run)["cluster-create"]["create"])
    assert k3d["kubeAPI"]["hostIP"] == "127.0.0.1"
    assert sorted(p["port"] for p in k3d["ports"]) == sorted([
        f"127.0.0.1:18080:{topology.KFP_NODE_PORT}", f"127.0.0.1:19000:{topology.MINIO_API_NODE_PORT}",
        f"127.0.0.1:19001:{topology.MINIO_CONSOLE_NODE_PORT}"])
    assert [v["volume"] for v in k3d["volumes"]] == [f"{config['dataDir']}:{topology.NODE_DATA_DIR}"]
    mirrors = yaml.safe_load(k3d["registries"]["config"])["mirrors"]
    assert mirrors == {"localhost:15001": {"endpoint": ["http://kfp-registry:5000"]}}


@pytest.mark.parametrize("engine,network", [("kind", "kind"), ("k3d", "k3d-kfp")])
def test_cluster_is_deleted_by_destroy_and_its_kubeconfig_is_a_secret(engine, network, kfp_fixture):
    run, _ = program_run(engine, kfp_fixture)
    steps = commands(run)
    cluster = steps["cluster-create"]
    assert cluster["delete"].startswith(f"{engine} ") and "delete" in cluster["delete"]
    assert cluster["logging"] == "stderr", "the kubeconfig (stdout) must never be logged"
    (provider,) = run.of_type("pulumi:providers:kubernetes")
    assert SECRET_SIG in provider.inputs["kubeconfig"] and provider.inputs["context"] == f"{engine}-kfp"
    assert str(provider.inputs["deleteUnreachable"]).lower() == "true", \
        "`inv down` works even if the cluster was deleted by hand"
    assert network in steps["registry-network"]["create"]


@pytest.mark.parametrize("engine", ["kind", "k3d", "existing"])
def test_every_kubernetes_object_goes_through_the_stacks_provider(engine, kfp_fixture):
    run, _ = program_run(engine, kfp_fixture)
    registered = [r for r in run.resources if r.typ.startswith("kubernetes:")]   # groups and single objects
    assert len(run.kubernetes_objects()) > 50
    assert {r.provider.split("::")[-2] for r in registered} == {"cluster-provider"}


@pytest.mark.parametrize("engine", ["kind", "k3d", "existing"])
def test_registry_is_loopback_only_keeps_data_in_data_dir_and_is_announced(engine, kfp_fixture):
    run, config = program_run(engine, kfp_fixture)
    start = commands(run)["registry-container"]["create"]
    (docker_run,) = [line for line in start.splitlines() if "docker run" in line]
    assert re.findall(r" -p (\S+)", docker_run) == ["127.0.0.1:15001:5000"], "published on loopback only"
    assert f"-v {config['dataDir']}/registry:/var/lib/registry" in start
    (hosting,) = [o for o in run.kubernetes_objects() if o["metadata"]["name"] == "local-registry-hosting"]
    assert hosting["metadata"]["namespace"] == "kube-public"
    assert yaml.safe_load(hosting["data"]["localRegistryHosting.v1"])["host"] == "localhost:15001"
    errors, unchecked = schema_errors([hosting])
    assert errors == [] and unchecked == []


def test_existing_creates_no_cluster_and_targets_only_the_current_context(kfp_fixture):
    run, _ = program_run("existing", kfp_fixture)
    assert set(commands(run)) == {"registry-container", "readiness-wait"}
    (provider,) = run.of_type("pulumi:providers:kubernetes")
    assert provider.inputs["context"] == "team"
    assert str(provider.inputs.get("deleteUnreachable")).lower() == "false", \
        "an unreachable team cluster keeps its state"
    kubeconfig = yaml.safe_load(provider.inputs["kubeconfig"]["value"])
    assert [c["name"] for c in kubeconfig["contexts"]] == ["team"]
    assert [c["name"] for c in kubeconfig["clusters"]] == ["team-cluster"]
    assert run.outputs["cluster"] == {"engine": "existing", "name": "team-cluster", "context": "team",
                                      "arch": run.outputs["cluster"]["arch"]}


@pytest.mark.parametrize("engine", ["kind", "k3d", "existing"])
def test_up_ends_with_the_readiness_check_on_kfp_endpoint(engine, kfp_fixture):
    run, _ = program_run(engine, kfp_fixture)
    wait = commands(run)["readiness-wait"]
    assert "-m infra.readiness --endpoint http://127.0.0.1:18080" in wait["create"]
    assert ("--service-proxy" in wait["create"]) == (engine == "existing")
    assert SECRET_SIG in wait["stdin"], "the kubeconfig handed to the check stays secret"
    assert all(not inputs.get("environment") for inputs in commands(run).values()), \
        "no pulumi-command step gets an environment of its own (the kubeconfig goes to stdin)"


BAD_CONFIGS = [
    ({"engine": "docker"}, "kfp-laptop:engine = 'docker'", "kind, k3d, existing"),
    ({"kfpPort": "70000"}, "kfp-laptop:kfpPort = '70000'", "between 1024 and 65535"),
    ({"registryPort": "0"}, "kfp-laptop:registryPort = '0'", "between 1024 and 65535"),
    ({"minioConsolePort": PORTS["kfpPort"]}, "kfp-laptop:minioConsolePort = 18080",
     "already used by kfp-laptop:kfpPort"),
    ({"clusterName": "My_Cluster"}, "kfp-laptop:clusterName = 'My_Cluster'", "DNS label"),
    ({"arch": "x86"}, "kfp-laptop:arch = 'x86'", "auto, amd64, arm64"),
    ({"kfpManifests": "/nonexistent-kfp-render"}, "kfp-laptop:kfpManifests = '/nonexistent-kfp-render'",
     "missing: cluster-scoped-resources.yaml, platform-agnostic.yaml"),
    ({"engine": "existing", "kubeContext": "nope"}, "context 'nope' is not in the kubeconfig", "contexts: other, team"),
]


@pytest.mark.parametrize("override,names,allowed", BAD_CONFIGS, ids=[next(iter(c[0])) + str(i) for i, c in
                                                                       enumerate(BAD_CONFIGS)])
def test_bad_config_fails_with_one_message_before_any_resource(tmp_path, monkeypatch, kfp_fixture, override, names,
                                                              allowed):
    from tests.support.program import existing_kubeconfig

    monkeypatch.setenv("KUBECONFIG", str(existing_kubeconfig(tmp_path)))
    run = run_program({**config_for("kind", kfp_fixture, tmp_path / "data"), **override})
    assert isinstance(run.error, pulumi.RunError)
    assert names in str(run.error) and allowed in str(run.error)
    assert run.resources == []


def test_manifest_folder_missing_one_file_names_it(tmp_path):
    (tmp_path / "cluster-scoped-resources.yaml").write_text("")
    run = run_program(config_for("kind", tmp_path, tmp_path / "data"))
    assert isinstance(run.error, pulumi.RunError) and run.resources == []
    assert str(run.error).count("platform-agnostic.yaml") >= 1 and "missing: platform-agnostic.yaml" in str(run.error)
