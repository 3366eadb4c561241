"""KfpPlatform under `pulumi.runtime.set_mocks` (no Pulumi engine, provider or cluster here), with real rendering:
the objects are registered through provider-side `yaml.v2.ConfigGroup`s, whose objects the harness reads from their
YAML text, and the two generated Secrets one by one; `kfpManifests` points at the real 2.17.0 render."""
from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s
import pytest

from infra import topology as t
from infra.config import DEFAULT_MINIO_IMAGE, StackConfig
from infra.manifests.minio import mentions_seaweedfs
from tests.support.k8s_schema import schema_errors
from tests.support.manifests import UPSTREAM_DEFAULT_CREDENTIALS, minio_wiring_problems
from tests.support.pulumi_harness import V2_GROUP, run_program


def _config(fixture: Path, **changes) -> StackConfig:
    base = StackConfig(engine="kind", cluster_name="kfp", kube_context=None, arch="arm64", kfp_version="2.17.0",
                       kfp_manifests=fixture, minio_image=DEFAULT_MINIO_IMAGE, kfp_port=8080, minio_port=9000,
                       minio_console_port=9001, registry_port=5001, data_dir=Path("/tmp/kfp-laptop-test-data"))
    return dataclasses.replace(base, **changes)


def registry_stand_in(images) -> dict:
    """The registries are out of reach here: each amd64-only image gets a made-up digest of its amd64 manifest
    (the real lookup is tested against a registry on 127.0.0.1 in tests/test_image_digests.py)."""
    return {image: "sha256:" + hashlib.sha256(image.encode()).hexdigest() for image in images}


def _program(config: StackConfig):
    def main():
        from infra.components.kfp import KfpPlatform, KfpPlatformArgs, prepare

        provider = k8s.Provider("test-cluster", kubeconfig="{}")
        kfp = KfpPlatform("kfp", KfpPlatformArgs(config=config, provider=provider,
                                                 objects=prepare(config, resolve=registry_stand_in)))
        return {"minio_access_key": kfp.access_key, "minio_secret_key": kfp.secret_key,
                "keys_are_secret": pulumi.Output.all(kfp.access_key.is_secret(), kfp.secret_key.is_secret())}
    return main


@pytest.fixture(scope="module")
def run(kfp_fixture):
    result = run_program({}, main=_program(_config(kfp_fixture)))
    assert result.error is None, result.error
    return result


@pytest.fixture(scope="module")
def objects(run) -> list[dict]:
    """Registered objects; secret inputs reach the mock wrapped as {signature, value}: unwrapped here."""
    return [{**o, "stringData": o["stringData"].get("value", o["stringData"])} if o.get("stringData") else o
            for o in run.kubernetes_objects()]


def test_every_kfp_object_is_registered(run, objects):
    assert run.invokes == [], "nothing is decoded in the SDK: every group is expanded by the provider"
    deployments = {o["metadata"]["name"] for o in objects if o["kind"] == "Deployment"}
    assert deployments == {"cache-deployer-deployment", "cache-server", "metadata-envoy-deployment",
                           "metadata-grpc-deployment", "metadata-writer", "ml-pipeline", "ml-pipeline-persistenceagent",
                           "ml-pipeline-scheduledworkflow", "ml-pipeline-ui", "ml-pipeline-viewer-crd",
                           "ml-pipeline-visualizationserver", "mysql", "workflow-controller", "minio"}
    assert {r.typ for r in run.resources if r.typ.startswith("kubernetes:")} == {V2_GROUP, "kubernetes:core/v1:Secret"}


def test_the_crds_are_one_provider_side_group_of_exactly_the_upstream_crds(run, kfp_fixture):
    """The SDK never walks the CRDs' schemas: they reach the provider as text, unchanged from upstream but for the
    provider policy every object carries (infra/manifests/provider_policy.py: one field manager)."""
    from infra.manifests.provider_policy import set_provider_policy
    from infra.manifests.source import parse

    group = run.named("kfp-crds")
    crds = parse(group.inputs["yaml"])
    upstream = [o for o in parse((kfp_fixture / "cluster-scoped-resources.yaml").read_text())
                if o["kind"] == "CustomResourceDefinition"]
    set_provider_policy(upstream)
    assert len(crds) == 11 and crds == upstream
    assert not run.of_type("kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition")
    assert all(o["kind"] != "CustomResourceDefinition" for g in run.of_type(V2_GROUP) if g is not group
               for o in parse(g.inputs["yaml"]))
    assert all("test-cluster" in r.provider for r in run.resources if r.typ.startswith("kubernetes:"))


def _urn(run, name: str) -> str:
    resource = run.named(name)
    return next(urn for deps in run.dependencies.values() for urn in deps if urn.endswith(f"::{resource.name}"))


def test_everything_namespaced_waits_for_the_crds_the_cluster_scoped_objects_and_the_secrets(run):
    """`depends_on` each group (ordering across groups, pulumi/pulumi-kubernetes#2894), as the SDK sends it to the
    engine: the CRDs and the namespace exist before the Secrets, and those before everything namespaced."""
    crds, cluster = _urn(run, "kfp-crds"), _urn(run, "kfp-cluster-scoped")
    secrets = {_urn(run, "kfp-artifact-secret"), _urn(run, "kfp-pipelines-artifact-secret")}
    for secret in ("kfp-artifact-secret", "kfp-pipelines-artifact-secret"):
        assert {crds, cluster} <= set(run.named(secret).dependencies)
    assert {crds, cluster, *secrets} <= set(run.named("kfp-namespaced").dependencies)
    namespaced = parse_group(run, "kfp-namespaced")
    assert len(namespaced) > 70 and all(o["metadata"].get("namespace") for o in namespaced)
    assert any(o["kind"] == "Namespace" for o in parse_group(run, "kfp-cluster-scoped"))


def parse_group(run, name: str) -> list[dict]:
    from infra.manifests.source import parse

    return parse(run.named(name).inputs["yaml"])


def test_stacks_made_with_v1_groups_keep_their_objects(run):
    """The groups that were v1 groups name their children `<namespace>/<name>` as those did and alias the v1 type,
    so each child keeps its URN (infra/components/object_group.py); the CRD group was always v2."""
    for name in ("kfp-cluster-scoped", "kfp-namespaced"):
        request = run.requests[(V2_GROUP, name)]
        assert run.named(name).inputs["resourcePrefix"] == ""
        assert [a.spec.type for a in request.aliases] == ["kubernetes:yaml:ConfigGroup"]
        assert all(a.spec.name in ("", name) for a in request.aliases)
    assert "resourcePrefix" not in run.named("kfp-crds").inputs


def test_registration_order_is_valid(objects):
    """The namespace and every CRD exist before anything namespaced; the credentials before what reads them."""
    position = {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]): i for i, o in enumerate(objects)}
    cluster_scoped = [i for (kind, ns, _), i in position.items() if ns is None]
    namespaced = [i for (kind, ns, _), i in position.items() if ns is not None]
    assert max(cluster_scoped) < min(namespaced)
    secret = position[("Secret", t.NAMESPACE, t.ARTIFACT_SECRET)]
    assert secret < position[("Deployment", t.NAMESPACE, "minio")]
    assert secret < position[("Deployment", t.NAMESPACE, "ml-pipeline")]
    pipelines_secret = position[("Secret", t.NAMESPACE, t.PIPELINE_ARTIFACT_SECRET)]
    assert pipelines_secret < position[("Job", t.NAMESPACE, "minio-create-bucket")]
    assert pipelines_secret < position[("ConfigMap", t.NAMESPACE, "kfp-launcher")]


def test_nothing_mentions_seaweedfs_and_minio_is_wired_everywhere(objects):
    assert mentions_seaweedfs(objects) == []
    assert minio_wiring_problems(objects) == []


def test_credentials_are_generated_secrets_not_upstream_defaults(run, objects):
    """The root user's and the pipelines' bucket-only user's credentials: four generated values, none shared."""
    secret = next(o for o in objects if o["kind"] == "Secret" and o["metadata"]["name"] == t.ARTIFACT_SECRET)
    pipelines = next(o for o in objects if o["kind"] == "Secret"
                     and o["metadata"]["name"] == t.PIPELINE_ARTIFACT_SECRET)["stringData"]
    values = secret["stringData"]
    assert len(pipelines["accesskey"]) == 20 and len(pipelines["secretkey"]) == 40
    assert len({*values.values(), *pipelines.values()}) == 4
    assert values["accesskey"] not in (UPSTREAM_DEFAULT_CREDENTIALS["accesskey"], "")
    assert values["secretkey"] not in (UPSTREAM_DEFAULT_CREDENTIALS["secretkey"], "")
    assert len(values["accesskey"]) == 20 and len(values["secretkey"]) == 40
    assert run.outputs["minio_access_key"] == values["accesskey"]
    assert run.outputs["minio_secret_key"] == values["secretkey"]
    assert run.outputs["keys_are_secret"] == [True, True]
    randoms = run.of_type("random:index/randomPassword:RandomPassword")
    assert len(randoms) == 4 and all(r.inputs["special"] is False for r in randoms)


def test_arm64_runs_the_substituted_metadata_store(objects):
    grpc = next(o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "metadata-grpc-deployment")
    assert grpc["spec"]["template"]["spec"]["containers"][0]["image"] == \
        "ghcr.io/deploykf/ml_metadata_store_server:1.14.0-deploykf.0"


def test_arm64_pulls_the_metadata_writer_by_its_amd64_manifest_digest(objects):
    """At 2.17.0 its tag is an index holding amd64 alone: an arm64 node refuses the tag but pulls the manifest."""
    writer = next(o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "metadata-writer")
    image = writer["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == "ghcr.io/kubeflow/kfp-metadata-writer@" + registry_stand_in(
        ["ghcr.io/kubeflow/kfp-metadata-writer:2.17.0"])["ghcr.io/kubeflow/kfp-metadata-writer:2.17.0"]


def test_every_kubernetes_object_goes_through_the_given_provider(run):
    kube = [r for r in run.resources if r.typ.startswith("kubernetes:") and r.typ != "kubernetes:yaml:ConfigGroup"
            and r.typ != "pulumi:providers:kubernetes"]
    assert kube and all(r.provider and "test-cluster" in r.provider for r in kube)


def test_every_object_is_valid_for_kubernetes_1_33(objects):
    errors, unchecked = schema_errors(objects)
    assert errors == []
    assert unchecked == []


def test_unpatchable_manifests_stop_the_program_before_any_resource(tmp_path, kfp_fixture):
    (tmp_path / "cluster-scoped-resources.yaml").write_text((kfp_fixture / "cluster-scoped-resources.yaml").read_text())
    (tmp_path / "platform-agnostic.yaml").write_text("apiVersion: v1\nkind: ConfigMap\n"
                                                     "metadata: {name: other, namespace: kubeflow}\n")
    result = run_program({}, main=_program(_config(kfp_fixture, kfp_manifests=tmp_path)))
    assert isinstance(result.error, pulumi.RunError)
    assert "Deployment ml-pipeline" in str(result.error)
    assert [r.typ for r in result.resources] == ["pulumi:providers:kubernetes"]


def test_the_program_checks_the_manifests_before_creating_the_cluster(tmp_path, kfp_fixture, monkeypatch):
    """The whole program (`infra.program.main`): an unpatchable release must not leave a cluster behind."""
    monkeypatch.setenv("KFP_LAPTOP_HOME", str(tmp_path / "home"))
    (tmp_path / "cluster-scoped-resources.yaml").write_text((kfp_fixture / "cluster-scoped-resources.yaml").read_text())
    (tmp_path / "platform-agnostic.yaml").write_text("apiVersion: v1\nkind: ConfigMap\n"
                                                     "metadata: {name: other, namespace: kubeflow}\n")
    result = run_program({"engine": "kind", "arch": "amd64", "kfpManifests": str(tmp_path)})
    assert isinstance(result.error, pulumi.RunError) and "not found: Deployment ml-pipeline" in str(result.error)
    assert result.resources == []


def test_inv_render_writes_exactly_what_the_component_registers(objects, kfp_fixture, tmp_path):
    from infra.manifests.source import parse
    from infra.render import render_to

    files = render_to(tmp_path, arch="arm64", kfp_manifests=str(kfp_fixture))
    rendered = [o for f in files[:2] for o in parse(f.read_text())]

    def keys(items):
        return sorted((o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]) for o in items)

    assert keys(rendered) == keys(objects)
