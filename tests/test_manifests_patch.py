"""The pure changes to upstream, on the real 2.17.0 render: scope split, persistence per engine, laptop sizing,
probes, exposure, the arm64 image plan, schema validity, and a clear failure for manifests it cannot patch."""
from __future__ import annotations

import copy
import json

import pytest

from infra import topology as t
from infra.manifests.images import NATIVE, NEEDS_EMULATION, SUBSTITUTED, decide, images_in, plan_images
from infra.manifests.minio import artifact_secret
from infra.manifests.objects import ManifestMismatch, containers, workloads
from infra.manifests.patch import PatchSettings, patch_all, patch_upstream
from infra.manifests.sizing import memory_requests_mib
from infra.manifests.source import UpstreamManifests, load_upstream
from tests.support.k8s_schema import schema_errors

MINIO_IMAGE = "quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z"
MLMD = "gcr.io/tfx-oss-public/ml_metadata_store_server:1.14.0"
MLMD_ARM64 = "ghcr.io/deploykf/ml_metadata_store_server:1.14.0-deploykf.0"


@pytest.fixture(scope="module")
def upstream(kfp_fixture) -> UpstreamManifests:
    return load_upstream("2.17.0", kfp_manifests=kfp_fixture)


@pytest.fixture(scope="module")
def kind_arm64(upstream):
    return patch_all(upstream, PatchSettings("arm64", "kind", MINIO_IMAGE))


@pytest.fixture(scope="module")
def existing_amd64(upstream):
    return patch_all(upstream, PatchSettings("amd64", "existing", MINIO_IMAGE))


def _get(objects, kind, name):
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


def _volume(objects, deployment, name="data"):
    spec = _get(objects, "Deployment", deployment)["spec"]["template"]["spec"]
    return next(v for v in spec["volumes"] if v["name"] == name)


def test_cluster_scoped_objects_are_split_out_namespace_and_crds_included(kind_arm64):
    cluster_scoped, namespaced = kind_arm64
    kinds = {o["kind"] for o in cluster_scoped}
    assert {"Namespace", "CustomResourceDefinition", "PriorityClass"} <= kinds
    assert sum(o["kind"] == "CustomResourceDefinition" for o in cluster_scoped) == 11
    assert all(o["metadata"].get("namespace") == t.NAMESPACE for o in namespaced)


def test_patching_leaves_the_upstream_objects_untouched(upstream):
    before = copy.deepcopy(upstream)
    patch_all(upstream, PatchSettings("arm64", "kind", MINIO_IMAGE))
    assert upstream == before


def test_kind_keeps_mysql_and_minio_data_under_the_node_data_dir(kind_arm64):
    _, namespaced = kind_arm64
    assert _volume(namespaced, "minio")["hostPath"]["path"] == f"{t.NODE_DATA_DIR}/minio"
    assert _volume(namespaced, "mysql", "mysql-persistent-storage")["hostPath"]["path"] == f"{t.NODE_DATA_DIR}/mysql"
    assert not [o for o in namespaced if o["kind"] == "PersistentVolumeClaim"]
    mysql_init = _get(namespaced, "Deployment", "mysql")["spec"]["template"]["spec"]["initContainers"][0]
    assert mysql_init["command"] == ["chown", "999:999", "/var/lib/mysql"]
    assert mysql_init["securityContext"]["capabilities"] == {"drop": ["ALL"], "add": ["CHOWN"]}


def test_existing_clusters_use_pvcs_of_the_default_storage_class(existing_amd64):
    _, namespaced = existing_amd64
    claims = {o["metadata"]["name"]: o for o in namespaced if o["kind"] == "PersistentVolumeClaim"}
    assert set(claims) == {"mysql-pv-claim", "minio-pvc"}
    assert all("storageClassName" not in c["spec"] for c in claims.values())
    assert _volume(namespaced, "minio")["persistentVolumeClaim"]["claimName"] == "minio-pvc"


def test_a_shared_existing_cluster_gets_no_node_port_and_no_load_balancer(kind_arm64, existing_amd64):
    """On a team cluster a NodePort opens the UI, the API and MinIO on every node's address: `inv port-forward`
    serves them on 127.0.0.1 instead. kind/k3d keep theirs (published on the laptop's loopback only)."""
    services = [o for o in existing_amd64[1] if o["kind"] == "Service"]
    assert {s["metadata"]["name"] for s in services} >= {t.KFP_UI_SERVICE, t.MINIO_NAME}
    exposed = [s["metadata"]["name"] for s in services
               if s["spec"].get("type") in ("NodePort", "LoadBalancer")
               or any("nodePort" in port for port in s["spec"].get("ports", []))]
    assert exposed == []
    on_kind = {s["metadata"]["name"]: s["spec"] for s in kind_arm64[1] if s["kind"] == "Service"}
    assert on_kind[t.KFP_UI_SERVICE]["type"] == on_kind[t.MINIO_NAME]["type"] == "NodePort"


def test_every_container_has_a_memory_limit_and_requests_fit_a_laptop(kind_arm64):
    _, namespaced = kind_arm64
    unlimited = [f"{w['metadata']['name']}/{c['name']}" for w in workloads(namespaced) for c in containers(w)
                 if "memory" not in c.get("resources", {}).get("limits", {})]
    assert unlimited == []
    # Upstream asks ~3 GiB; leave most of an 8 GB Docker VM to the system and to pipeline pods.
    assert memory_requests_mib(namespaced) <= 2560


def test_probes_are_added_where_upstream_has_an_endpoint_but_no_probe(kind_arm64):
    _, namespaced = kind_arm64
    for deployment in ("cache-server", "metadata-envoy-deployment", "ml-pipeline-scheduledworkflow", "mysql", "minio"):
        item = _get(namespaced, "Deployment", deployment)["spec"]["template"]["spec"]["containers"][0]
        assert "livenessProbe" in item and "readinessProbe" in item, deployment
    api = _get(namespaced, "Deployment", "ml-pipeline")["spec"]["template"]["spec"]["containers"][0]
    assert api["livenessProbe"]["httpGet"]["path"] == "/apis/v1beta1/healthz", "upstream's own probes are kept"


def test_ui_and_minio_are_nodeports_and_every_workload_has_an_ingress_policy(kind_arm64):
    _, namespaced = kind_arm64
    ui = _get(namespaced, "Service", "ml-pipeline-ui")["spec"]
    assert ui["type"] == "NodePort" and ui["ports"][0]["nodePort"] == t.KFP_NODE_PORT
    policy = _get(namespaced, "NetworkPolicy", "minio-ingress")["spec"]
    # the console is closed to pods: the host reaches it through the NodePort (node traffic is always admitted)
    assert {p["port"] for p in policy["ingress"][0]["ports"]} == {t.MINIO_API_PORT}
    assert {w["metadata"]["name"] + "-ingress" for w in workloads(namespaced)} <= \
        {o["metadata"]["name"] for o in namespaced if o["kind"] == "NetworkPolicy"}


def test_arm64_substitutes_the_metadata_store_and_flags_amd64_only_images(upstream, kind_arm64):
    _, namespaced = kind_arm64
    grpc = _get(namespaced, "Deployment", "metadata-grpc-deployment")["spec"]["template"]["spec"]["containers"][0]
    assert grpc["image"] == MLMD_ARM64
    assert MLMD not in images_in(namespaced)
    plan = {d.image: d for d in plan_images(patch_upstream(upstream, PatchSettings("arm64", "kind", MINIO_IMAGE)),
                                            "arm64")}
    assert plan[MLMD].verdict == SUBSTITUTED and plan[MLMD].runs == MLMD_ARM64
    assert plan["ghcr.io/kubeflow/kfp-metadata-writer:2.17.0"].verdict == NEEDS_EMULATION
    assert plan["ghcr.io/kubeflow/kfp-driver:2.17.0"].verdict == NATIVE, "env *_IMAGE values are planned too"
    assert plan["quay.io/argoproj/argoexec:v4.0.5"].verdict == NATIVE, "--executor-image is planned too"
    assert plan["ghcr.io/containerd/busybox"].verdict == NATIVE, "the cache's step image (a ConfigMap key) too"
    assert plan[MINIO_IMAGE].verdict == NATIVE


def test_amd64_runs_every_image_as_upstream_names_it(upstream, existing_amd64):
    _, namespaced = existing_amd64
    assert MLMD in images_in(namespaced)
    assert {d.verdict for d in plan_images(namespaced, "amd64")} == {NATIVE}


def test_unknown_and_amd64_only_images_are_planned_as_emulated():
    assert decide("example.org/team/tool:1.0", "arm64").verdict == NEEDS_EMULATION
    assert decide("quay.io/minio/minio:RELEASE.2025-10-15T17-29-55Z.hotfix.abc", "arm64").verdict == NEEDS_EMULATION
    assert decide("mysql:8.4", "arm64").verdict == NATIVE


def test_existing_cluster_objects_are_valid_for_the_clusters_kubernetes_version(existing_amd64):
    """The kind/arm64 variant, cluster-scoped objects included, is validated as registered in test_kfp_platform."""
    _, namespaced = existing_amd64
    errors, unchecked = schema_errors(namespaced + [artifact_secret("a", "b")])
    assert errors == []
    assert unchecked == [], "only built-in kinds are installed; nothing may escape validation"


def _without(upstream: UpstreamManifests, kind: str, name: str) -> UpstreamManifests:
    keep = [o for o in upstream.platform if not (o["kind"] == kind and o["metadata"]["name"] == name)]
    return UpstreamManifests(upstream.cluster_scoped, keep)


@pytest.mark.parametrize("kind,name", [("Deployment", "ml-pipeline"), ("ConfigMap", "kfp-launcher"),
                                       ("ConfigMap", "workflow-controller-configmap"),
                                       ("Secret", "mlpipeline-minio-artifact"), ("Service", "ml-pipeline-ui")])
def test_a_release_missing_something_we_change_fails_naming_it(upstream, kind, name):
    with pytest.raises(ManifestMismatch) as err:
        patch_all(_without(upstream, kind, name), PatchSettings("amd64", "kind", MINIO_IMAGE))
    assert f"{kind} {name}" in err.value.problem
    assert "kfpVersion" in err.value.fix


def test_a_new_seaweedfs_reference_fails_instead_of_installing_half_moved(upstream):
    changed = copy.deepcopy(upstream)
    config = _get(changed.platform, "ConfigMap", "pipeline-install-config")
    config["data"]["objectStoreHost"] = "seaweedfs.kubeflow"
    with pytest.raises(ManifestMismatch, match="ConfigMap/pipeline-install-config"):
        patch_all(changed, PatchSettings("amd64", "kind", MINIO_IMAGE))


def test_an_artifact_repository_without_s3_fails_naming_it(upstream):
    changed = copy.deepcopy(upstream)
    _get(changed.platform, "ConfigMap", "workflow-controller-configmap")["data"]["artifactRepository"] = "gcs: {}\n"
    with pytest.raises(ManifestMismatch, match="s3 artifactRepository"):
        patch_all(changed, PatchSettings("amd64", "kind", MINIO_IMAGE))


def test_an_object_defined_twice_after_patching_fails_naming_it(upstream):
    twice = UpstreamManifests(upstream.cluster_scoped, upstream.platform + [_get(upstream.platform, "ConfigMap",
                                                                                 "kfp-launcher")])
    with pytest.raises(ManifestMismatch, match="ConfigMap kubeflow kfp-launcher"):
        patch_all(twice, PatchSettings("amd64", "kind", MINIO_IMAGE))


def test_only_the_mysql_clients_pods_may_reach_mysql(kind_arm64):
    """Upstream's MySQL root has no password: only the servers using its Secret, and never a workflow's pod, get in
    (tests/test_network_fence.py proves it for every pair of components)."""
    _, namespaced = kind_arm64
    rule = _get(namespaced, "NetworkPolicy", "mysql-ingress")["spec"]["ingress"][0]
    selectors = [peer["podSelector"] for peer in rule["from"]]
    clients = ("ml-pipeline", "cache-server", "metadata-grpc-deployment")
    assert sorted(sel["matchLabels"].get("app") or sel["matchLabels"].get("component") for sel in selectors) == \
        ["cache-server", "metadata-grpc-server", "ml-pipeline"]
    assert all(sel["matchExpressions"] == [{"key": "workflows.argoproj.io/workflow", "operator": "DoesNotExist"}]
               for sel in selectors)
    for name in clients:
        assert "mysql-secret" in json.dumps(_get(namespaced, "Deployment", name)["spec"]["template"]), name
    mysql = _get(namespaced, "Deployment", "mysql")["spec"]["template"]["spec"]["containers"][0]
    assert "exec" in mysql["livenessProbe"], "a probe from the node could be blocked by the policy"
    assert mysql["startupProbe"]["failureThreshold"] * mysql["startupProbe"]["periodSeconds"] >= 300


def test_everything_missing_is_named_at_once(upstream):
    gone = {("Deployment", "ml-pipeline"), ("ConfigMap", "kfp-launcher")}
    older = UpstreamManifests(upstream.cluster_scoped,
                              [o for o in upstream.platform if (o["kind"], o["metadata"]["name"]) not in gone])
    with pytest.raises(ManifestMismatch) as err:
        patch_all(older, PatchSettings("amd64", "kind", MINIO_IMAGE))
    assert err.value.missing == ["Deployment ml-pipeline", "ConfigMap kfp-launcher"]
