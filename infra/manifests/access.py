"""Who reaches what: the KFP UI/API as a NodePort (published by the cluster on 127.0.0.1; none on a shared
`existing` cluster), and no API token in pods that never call the Kubernetes API."""
from __future__ import annotations

from infra import topology as t
from infra.manifests.objects import ManifestMismatch, find, find_all, pod_spec

UI_SERVICE = t.KFP_UI_SERVICE
# Servers that only talk SQL/gRPC/HTTP to each other; their ServiceAccounts have no Role bound.
NO_API_ACCESS = ("mysql", "metadata-grpc-deployment", "metadata-envoy-deployment", "ml-pipeline-visualizationserver")
# Workloads only KFP's own server pods may reach. MySQL keeps upstream's empty root password (see README, section KFP):
# pipeline pods, which run user code, cannot connect to it. Its probes run inside the pod, so they are unaffected.
KFP_SERVERS = t.KFP_LABELS
ONLY_FROM_KFP = ("mysql",)


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


def network_policies(objects: list[dict]) -> None:
    """One ingress NetworkPolicy per workload: traffic only to the ports its containers declare (Services, probes
    and NodePorts all target those), nothing else; a workload that declares none accepts no ingress."""
    names = {o["metadata"]["name"] for o in find_all(objects, "NetworkPolicy")}
    for workload in [o for o in objects if o.get("kind") in ("Deployment", "Job")]:
        name = f"{workload['metadata']['name']}-ingress"
        selector = workload["spec"].get("selector", {}).get("matchLabels") or workload["spec"]["template"]["metadata"]["labels"]
        if name in names:
            continue
        ports = [{"port": p["containerPort"], "protocol": p.get("protocol", "TCP")}
                 for c in pod_spec(workload).get("containers", []) for p in c.get("ports", [])]
        objects.append({
            "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": workload["metadata"]["namespace"],
                         "labels": dict(t.KFP_LABELS)},
            "spec": {"podSelector": {"matchLabels": dict(selector)}, "policyTypes": ["Ingress"],
                     "ingress": [_rule(workload["metadata"]["name"], ports)] if ports else []}})


def _rule(workload: str, ports: list[dict]) -> dict:
    rule = {"ports": ports}
    if workload in ONLY_FROM_KFP:
        rule["from"] = [{"podSelector": {"matchLabels": dict(KFP_SERVERS)}}]
    return rule
