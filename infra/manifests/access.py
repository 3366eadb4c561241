"""Who reaches what: the KFP UI/API as a NodePort (published by the cluster on 127.0.0.1; none on a shared
`existing` cluster), no API token in pods that never call the Kubernetes API, NetworkPolicies that fence MySQL and
MinIO's console off pipeline pods, and pipeline pods that cannot step around those fences (no exec into other pods,
no pods of their own making, no host network)."""
from __future__ import annotations

import json

from infra import topology as t
from infra.manifests.netpol import WORKFLOW_LABEL, selects, workload_pods
from infra.manifests.objects import ManifestMismatch, find, find_all, pod_spec, workloads

UI_SERVICE = t.KFP_UI_SERVICE
# Servers that only talk SQL/gRPC/HTTP to each other; their ServiceAccounts have no Role bound.
NO_API_ACCESS = ("mysql", "metadata-grpc-deployment", "metadata-envoy-deployment", "ml-pipeline-visualizationserver")
# MySQL keeps upstream's empty root password (see docs/security.md), so only the servers holding its credentials
# Secret may connect: never a pipeline pod, which runs user code. Its probes run inside the pod, so they are unaffected.
MYSQL = "mysql"
MYSQL_SECRET = "mysql-secret"
# Ports no pod may open; the host still reaches them through the NodePort or `inv port-forward` (traffic from the
# node is always admitted). MinIO's console is where its admin is done in a browser.
CLOSED_TO_PODS = {t.MINIO_NAME: (t.MINIO_CONSOLE_PORT,)}
NOT_A_PIPELINE_POD = {"key": WORKFLOW_LABEL, "operator": "DoesNotExist"}
# The ServiceAccount KFP runs pipeline pods as (backend/src/apiserver/common/const.go
# DefaultPipelineRunnerServiceAccount; no upstream manifest overrides it with DEFAULTPIPELINERUNNERSERVICEACCOUNT).
# What its pods need from the API: their own pod, secrets and ConfigMaps of
# the object store and launcher, PVCs, workflow task results (backend/src/v2/driver, component/launcher_v2.go).
PIPELINE_RUNNER = "pipeline-runner"
# Resources whose creation runs a pod with labels of the creator's choice (a server's, past the MySQL fence), and the
# verbs left on them; exec/attach/port-forward into another pod would step around every fence.
POD_MAKERS = {"pods": ("get", "list", "watch", "patch"), "deployments": ("get", "list", "watch"),
              "replicasets": ("get", "list", "watch"), "statefulsets": ("get", "list", "watch"),
              "daemonsets": ("get", "list", "watch"), "jobs": ("get", "list", "watch"),
              "cronjobs": ("get", "list", "watch"), "seldondeployments": ("get", "list", "watch"),
              "*": ("get", "list", "watch")}
INTO_OTHER_PODS = ("pods/exec", "pods/attach", "pods/portforward")
# The only Secret pipeline pods read (the launcher/driver through kfp-launcher's providers, Argo's executor through
# the artifactRepository): the bucket-only MinIO user's, never the root credentials or any other Secret.
RUNNER_SECRET_RULE = {"apiGroups": [""], "resources": ["secrets"], "resourceNames": [t.PIPELINE_ARTIFACT_SECRET],
                      "verbs": ["get"]}
# Pod Security admission level that refuses hostNetwork pods (whose traffic counts as the node's, which every
# NetworkPolicy admits); 2.16.1 and later set it upstream, 2.14.x and 2.15.0 do not.
POD_SECURITY = {"pod-security.kubernetes.io/enforce": "baseline"}


def expose_ui(objects: list[dict]) -> None:
    service = find(objects, "Service", UI_SERVICE)
    ports = service["spec"].get("ports", [])
    if len(ports) != 1:
        raise ManifestMismatch([f"exactly one port on Service {UI_SERVICE} (found {len(ports)})"])
    service["spec"]["type"] = "NodePort"
    ports[0]["nodePort"] = t.KFP_NODE_PORT


def expose(objects: list[dict], engine: str) -> None:
    """kind/k3d: the UI/API as a NodePort, which the cluster publishes on 127.0.0.1 only. `existing`, a shared
    cluster: nothing is reachable from outside it, every NodePort or LoadBalancer Service (MinIO's, upstream's)
    becomes ClusterIP, and `inv port-forward` serves the UI, the API and MinIO on 127.0.0.1."""
    if engine != "existing":
        expose_ui(objects)
        return
    for service in find_all(objects, "Service"):
        spec = service.get("spec") or {}
        if spec.get("type") in ("NodePort", "LoadBalancer"):
            spec["type"] = "ClusterIP"
            for port in spec.get("ports", []):
                port.pop("nodePort", None)
            for key in ("externalTrafficPolicy", "loadBalancerSourceRanges", "allocateLoadBalancerNodePorts"):
                spec.pop(key, None)


def drop_unused_tokens(objects: list[dict]) -> None:
    for deployment in NO_API_ACCESS:
        for workload in find_all(objects, "Deployment", deployment):
            pod_spec(workload)["automountServiceAccountToken"] = False


def mysql_clients(objects: list[dict]) -> list[dict]:
    """The workloads that connect to MySQL, known by what they do: their pods use its credentials Secret."""
    return [w for w in workloads(objects) if f'"{MYSQL_SECRET}"' in json.dumps(pod_spec(w))]


def _selector(workload: dict) -> dict:
    spec = workload["spec"]
    return dict(spec.get("selector", {}).get("matchLabels") or spec["template"]["metadata"]["labels"])


def network_policies(objects: list[dict]) -> None:
    """One ingress NetworkPolicy per workload: traffic only to the ports its containers declare (Services, probes
    and NodePorts all target those), nothing else; a workload that declares none accepts no ingress. MySQL admits
    only its clients' pods (and no pod of a workflow, whatever labels a task adds); `CLOSED_TO_PODS` admits none.

    Upstream's own policies that select any of these pods go first, found by what they select, not by name:
    policies add up, so one of them (2.15.0's `default-allow-same-namespace` admits every pod of the namespace to
    every pod) would undo each fence here."""
    pods = workload_pods(objects)
    objects[:] = [o for o in objects if not (o.get("kind") == "NetworkPolicy" and any(
        o["metadata"].get("namespace") == pod.namespace and selects(o["spec"].get("podSelector"), pod.labels)
        for pod in pods))]
    clients = mysql_clients(objects)
    if find_all(objects, "Deployment", MYSQL) and not clients:
        raise ManifestMismatch([f"a workload using Secret {MYSQL_SECRET} (the MySQL clients its fence admits)"])
    for workload in [o for o in objects if o.get("kind") in ("Deployment", "Job")]:
        name = workload["metadata"]["name"]
        closed = CLOSED_TO_PODS.get(name, ())
        ports = [{"port": p["containerPort"], "protocol": p.get("protocol", "TCP")}
                 for c in pod_spec(workload).get("containers", []) for p in c.get("ports", [])
                 if p["containerPort"] not in closed]
        objects.append({
            "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": f"{name}-ingress", "namespace": workload["metadata"]["namespace"],
                         "labels": dict(t.KFP_LABELS)},
            "spec": {"podSelector": {"matchLabels": _selector(workload)}, "policyTypes": ["Ingress"],
                     "ingress": [_rule(name, ports, clients)] if ports else []}})


def _rule(workload: str, ports: list[dict], clients: list[dict]) -> dict:
    rule = {"ports": ports}
    if workload == MYSQL:
        rule["from"] = [{"podSelector": {"matchLabels": _selector(c), "matchExpressions": [dict(NOT_A_PIPELINE_POD)]}}
                        for c in clients]
    return rule


def _runner_roles(objects: list[dict]) -> list[dict]:
    """The Roles and ClusterRoles bound to the pipeline runner's ServiceAccount (known by the bindings' subjects)."""
    bound = {(b["roleRef"]["kind"], b["roleRef"]["name"])
             for b in find_all(objects, "RoleBinding") + find_all(objects, "ClusterRoleBinding")
             if any(s.get("kind") == "ServiceAccount" and s.get("name") == PIPELINE_RUNNER
                    and s.get("namespace", b["metadata"].get("namespace", t.NAMESPACE)) == t.NAMESPACE
                    for s in b.get("subjects") or [])}
    return [o for o in objects if (o.get("kind"), o["metadata"].get("name")) in bound]


def _confined(rule: dict) -> list[dict]:
    resources = [r for r in rule.get("resources") or [] if r not in (*INTO_OTHER_PODS, "secrets")]
    makers = [r for r in resources if r in POD_MAKERS]
    rest = [r for r in resources if r not in POD_MAKERS]
    rules = [{**rule, "resources": rest}] if rest else []
    verbs = set(rule.get("verbs") or [])
    for resource in makers:
        kept = [v for v in POD_MAKERS[resource] if "*" in verbs or v in verbs]
        if kept:
            rules.append({**rule, "resources": [resource], "verbs": kept})
    return rules


def confine_pipeline_pods(objects: list[dict]) -> None:
    """Pipeline pods cannot make pods or reach into others (`POD_MAKERS`, `INTO_OTHER_PODS`), read only their own
    MinIO user's Secret (`RUNNER_SECRET_RULE`: the root credentials reach MinIO's admin API), and the namespace
    refuses host-network pods (`POD_SECURITY`): else the NetworkPolicy fences would not hold."""
    for role in _runner_roles(objects):
        rules = [kept for rule in role.get("rules") or [] for kept in _confined(rule)]
        role["rules"] = rules + ([dict(RUNNER_SECRET_RULE)] if role["kind"] == "Role" else [])
    for namespace in find_all(objects, "Namespace", t.NAMESPACE):
        labels = namespace["metadata"].setdefault("labels", {})
        if labels.get("pod-security.kubernetes.io/enforce") in (None, "privileged"):
            labels.update(POD_SECURITY)
