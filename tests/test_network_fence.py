"""The rendered stack keeps its isolation promises on every supported release, proven by evaluating the final
NetworkPolicies (infra/manifests/netpol.py) for each pair of components, pipeline pods included.

A pipeline pod is modelled as Argo and KFP label it, and also carrying every label of each server (a task may add
any label, kfp-kubernetes `add_pod_label`), since only the workflow label is beyond a task's reach."""
from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infra import topology as t
from infra.manifests.access import INTO_OTHER_PODS, MYSQL, PIPELINE_RUNNER, POD_MAKERS, mysql_clients
from infra.manifests.minio import artifact_secret
from infra.manifests.netpol import WORKFLOW_LABEL, Pod, admits, namespace_labels, selecting, selects, workload_pods
from infra.manifests.patch import PatchSettings, patch_all
from infra.manifests.source import UpstreamManifests, read_folder
from tests.support.renders import SUPPORTED, release_folder

MINIO_IMAGE = "quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z"
PIPELINE_LABELS = {WORKFLOW_LABEL: "wine-tuning-x7k2p", "pipelines.kubeflow.org/v2_component": "true",
                   "pipeline/runid": "4d3c2b1a"}
# What the launcher in a pipeline pod calls: the API server, ML Metadata, the object store (launcher_v2.go).
PIPELINE_NEEDS = {"ml-pipeline": 8887, "metadata-grpc-deployment": 8080, t.MINIO_NAME: t.MINIO_API_PORT}


def final_objects(upstream: UpstreamManifests) -> list[dict]:
    cluster_scoped, namespaced = patch_all(upstream, PatchSettings("amd64", "kind", MINIO_IMAGE))
    return cluster_scoped + namespaced


@pytest.fixture(scope="module", params=SUPPORTED)
def release(request):
    return request.param, final_objects(read_folder(release_folder(request.param)))


def pipeline_pods(servers: list[Pod]) -> list[Pod]:
    base = Pod("pipeline pod", t.NAMESPACE, dict(PIPELINE_LABELS))
    return [base] + [Pod(f"pipeline pod labelled as {s.name}", t.NAMESPACE, {**s.labels, **PIPELINE_LABELS})
                     for s in servers]


def components(objects: list[dict]) -> list[Pod]:
    servers = [p for p in workload_pods(objects) if p.namespace == t.NAMESPACE]
    return servers + pipeline_pods(servers) + [Pod("pod of another namespace", "default", {"app": "ml-pipeline"})]


def admitted(objects: list[dict]) -> dict[tuple[str, str], set[int]]:
    """(source, target) -> the target's declared ports the source may open, for every pair of components."""
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
    labels = namespace_labels(objects)
    targets = [p for p in workload_pods(objects) if p.namespace == t.NAMESPACE]
    return {(s.name, d.name): {port for port in d.ports if admits(policies, s, d, port, labels)}
            for s in components(objects) for d in targets}


def test_only_mysqls_clients_reach_it_and_no_pod_reaches_minios_console(release):
    version, objects = release
    matrix = admitted(objects)
    clients = {w["metadata"]["name"] for w in mysql_clients(objects)}
    assert clients == {"ml-pipeline", "metadata-grpc-deployment", "cache-server"}, version
    for (source, target), ports in matrix.items():
        if target == MYSQL:
            assert bool(ports) == (source in clients), (version, source)
        if target == t.MINIO_NAME:
            assert t.MINIO_CONSOLE_PORT not in ports, (version, source)
    for pod in pipeline_pods([]):
        for target, port in PIPELINE_NEEDS.items():
            assert port in matrix[(pod.name, target)], (version, target)   # the fences do not stop pipelines


def test_no_policy_admits_every_pod_to_mysql_or_minio(release):
    version, objects = release
    pods = {p.name: p for p in workload_pods(objects)}
    anyone = pipeline_pods([])[0]
    for name, port in ((MYSQL, 3306), (t.MINIO_NAME, t.MINIO_CONSOLE_PORT)):
        for policy in selecting([o for o in objects if o["kind"] == "NetworkPolicy"], pods[name]):
            assert not admits([policy], anyone, pods[name], port), (version, policy["metadata"]["name"])


def test_every_policy_is_the_one_of_its_workload(release):
    """Upstream's policies that select the stack's pods are replaced (2.15.0's `default-allow-same-namespace`)."""
    version, objects = release
    pods = workload_pods(objects)
    for policy in (o for o in objects if o["kind"] == "NetworkPolicy"):
        chosen = [p.name for p in pods if selects(policy["spec"]["podSelector"], p.labels)]
        assert [f"{name}-ingress" for name in chosen] == [policy["metadata"]["name"]], version


def test_pipeline_pods_cannot_step_around_the_fences(release):
    """No exec into a server, no pod with a server's labels but without the workflow label, no host network."""
    version, objects = release
    namespace = next(o for o in objects if o["kind"] == "Namespace" and o["metadata"]["name"] == t.NAMESPACE)
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] in ("baseline", "restricted")
    role = next(o for o in objects if o["kind"] == "Role" and o["metadata"]["name"] == PIPELINE_RUNNER)
    for rule in role["rules"]:
        assert not set(rule["resources"]) & set(INTO_OTHER_PODS), version
        for resource in set(rule["resources"]) & set(POD_MAKERS):
            assert set(rule["verbs"]) <= set(POD_MAKERS[resource]), (version, resource)


def runner_rules(objects: list[dict]) -> list[dict]:
    """Every RBAC rule the pipeline runner's ServiceAccount holds (through any RoleBinding or ClusterRoleBinding)."""
    bound = {(b["roleRef"]["kind"], b["roleRef"]["name"]) for b in objects
             if b["kind"] in ("RoleBinding", "ClusterRoleBinding")
             and any(s.get("kind") == "ServiceAccount" and s.get("name") == PIPELINE_RUNNER
                     for s in b.get("subjects") or [])}
    return [rule for o in objects if (o["kind"], o["metadata"]["name"]) in bound for rule in o.get("rules") or []]


def allows(rules: list[dict], verb: str, resource: str, name: str) -> bool:
    """Kubernetes RBAC for a core-group object: any rule matching verb, resource and (if it names any) the name;
    `*` matches every verb, group and resource."""
    def matches(rule):
        return (set(rule.get("apiGroups") or []) & {"", "*"} and set(rule.get("verbs") or []) & {verb, "*"}
                and set(rule.get("resources") or []) & {resource, "*"}
                and (not rule.get("resourceNames") or name in rule["resourceNames"]))
    return any(matches(rule) for rule in rules)


def readable(rules: list[dict], obj: dict) -> bool:
    resource = {"Secret": "secrets", "ConfigMap": "configmaps"}[obj["kind"]]
    return any(allows(rules, verb, resource, obj["metadata"]["name"]) for verb in ("get", "list", "watch"))


ROOT_SECRET_KEY, PIPELINE_SECRET_KEY = "RootSecretKeyValue", "PipelineSecretKeyValue"


def with_secrets(objects: list[dict]) -> list[dict]:
    """The stack's objects with both credentials Secrets as the component makes them (values stand in)."""
    return objects + [artifact_secret("RootAccessKeyValue", ROOT_SECRET_KEY),
                      artifact_secret("PipelineAccessKeyValue", PIPELINE_SECRET_KEY, t.PIPELINE_ARTIFACT_SECRET)]


def test_pipeline_pods_read_only_their_bucket_only_minio_user(release):
    """The runner's Role reads one Secret, the bucket-only user's, which is where kfp-launcher's providers and
    Argo's artifact repository (read by the executor in each pipeline pod) point; never the root credentials."""
    version, objects = release
    objects = with_secrets(objects)
    rules = runner_rules(objects)
    secrets = [o for o in objects if o["kind"] == "Secret" and o["metadata"].get("namespace") == t.NAMESPACE]
    assert {o["metadata"]["name"] for o in secrets if readable(rules, o)} == {t.PIPELINE_ARTIFACT_SECRET}, version
    assert not allows(rules, "get", "secrets", t.ARTIFACT_SECRET), version
    launcher = next(o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "kfp-launcher")
    controller = next(o for o in objects if o["kind"] == "ConfigMap"
                      and o["metadata"]["name"] == "workflow-controller-configmap")
    for config_map in (launcher, controller):
        assert t.PIPELINE_ARTIFACT_SECRET in json.dumps(config_map), version
        assert t.ARTIFACT_SECRET not in json.dumps(config_map), version


def test_no_object_a_pipeline_pod_can_read_holds_the_root_credentials(release):
    version, objects = release
    objects = with_secrets(objects)
    rules = runner_rules(objects)
    seen = [o for o in objects if o["kind"] in ("Secret", "ConfigMap") and readable(rules, o)]
    assert any(PIPELINE_SECRET_KEY in json.dumps(o) for o in seen), version   # the evaluation reads values
    assert not [o["metadata"]["name"] for o in seen if ROOT_SECRET_KEY in json.dumps(o)], version


def test_upstreams_runner_role_reads_every_secret(kfp_fixture):
    """The RBAC evaluation has teeth: upstream's own pipeline-runner Role reads the root credentials."""
    upstream = read_folder(kfp_fixture)
    rules = runner_rules(upstream.cluster_scoped + upstream.platform)
    assert allows(rules, "get", "secrets", t.ARTIFACT_SECRET)
    assert not allows(rules, "delete", "secrets", t.ARTIFACT_SECRET)


def test_a_policy_admitting_the_whole_namespace_is_found_by_what_it_does(kfp_fixture):
    """The evaluator has teeth: upstream's admit-all policy, added to the 2.17.0 objects, opens MySQL to pipeline
    pods; patching finds and drops it whatever its name."""
    admit_all = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                 "metadata": {"name": "anything-goes", "namespace": t.NAMESPACE},
                 "spec": {"podSelector": {}, "ingress": [{"from": [{"podSelector": {}}]}], "policyTypes": ["Ingress"]}}
    upstream = read_folder(kfp_fixture)
    objects = final_objects(upstream)
    mysql = next(p for p in workload_pods(objects) if p.name == MYSQL)
    pipeline = pipeline_pods([])[0]
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
    assert not admits(policies, pipeline, mysql, 3306)
    assert admits(policies + [admit_all], pipeline, mysql, 3306)
    patched = final_objects(UpstreamManifests(upstream.cluster_scoped, upstream.platform + [admit_all]))
    assert "anything-goes" not in {o["metadata"]["name"] for o in patched if o["kind"] == "NetworkPolicy"}


labels_st = st.dictionaries(st.sampled_from(["app", "component", WORKFLOW_LABEL, "tier"]),
                            st.sampled_from(["a", "b", "ml-pipeline"]), max_size=4)


@given(labels=labels_st, wanted=labels_st, key=st.sampled_from(["app", WORKFLOW_LABEL]))
def test_label_selectors_follow_the_kubernetes_rules(labels, wanted, key):
    assert selects({}, labels)
    assert selects({"matchLabels": wanted}, labels) == (wanted.items() <= labels.items())
    exists = selects({"matchExpressions": [{"key": key, "operator": "Exists"}]}, labels)
    assert exists == (key in labels) != selects({"matchExpressions": [{"key": key, "operator": "DoesNotExist"}]},
                                                labels)
    assert selects({"matchExpressions": [{"key": key, "operator": "In", "values": ["a"]}]}, labels) == \
        (labels.get(key) == "a")


@given(source=labels_st, target=labels_st, port=st.integers(1, 65535))
def test_a_pod_no_policy_selects_admits_all_and_one_with_no_rules_admits_none(source, target, port):
    src, dst = Pod("s", t.NAMESPACE, source), Pod("d", t.NAMESPACE, target)
    deny = {"metadata": {"name": "deny", "namespace": t.NAMESPACE},
            "spec": {"podSelector": {"matchLabels": target}, "policyTypes": ["Ingress"]}}
    elsewhere = {**deny, "metadata": {"name": "x", "namespace": "default"}}
    assert admits([], src, dst, port) and admits([elsewhere], src, dst, port)
    assert not admits([deny], src, dst, port)
