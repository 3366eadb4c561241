"""NetworkPolicy semantics as plain Python: which pod may open which port of which other pod, given the policies.

Follows the networking.k8s.io/v1 rules (kubernetes.io/docs/concepts/services-networking/network-policies): a pod is
isolated for ingress once any policy of its namespace selects it with Ingress among its policyTypes (the default when
policyTypes is unset); then only what some selecting policy's rule admits gets in. Rules, peers and ports are ORed;
a rule without `from` admits every source, one without `ports` every port. An `ipBlock` peer is taken to admit every
pod (pod IPs fall in some CIDR and implementations differ), so a fence can only be proven with pod selectors.
Only TCP is evaluated (every port here is TCP).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from infra.manifests.objects import find_all, pod_spec, workloads

# Argo sets this label on every pod of a workflow (workflow/controller/workflowpod.go); a task's own labels
# (kfp-kubernetes `add_pod_label`) can add any other label but never remove this key.
WORKFLOW_LABEL = "workflows.argoproj.io/workflow"
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


@dataclass(frozen=True)
class Pod:
    name: str                              # a component's name, for messages
    namespace: str
    labels: dict = field(default_factory=dict)
    named_ports: dict = field(default_factory=dict)   # container port name -> number
    ports: tuple = ()                      # every TCP port its containers declare


def selects(selector: dict | None, labels: dict) -> bool:
    """A LabelSelector (matchLabels and matchExpressions) against labels; `{}` selects everything."""
    selector = selector or {}
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values") or []
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def _ingress(policy: dict) -> bool:
    return "Ingress" in (policy["spec"].get("policyTypes") or ["Ingress"])


def selecting(policies: list[dict], pod: Pod) -> list[dict]:
    """The ingress policies that select `pod`."""
    return [p for p in policies if p["metadata"].get("namespace") == pod.namespace and _ingress(p)
            and selects(p["spec"].get("podSelector"), pod.labels)]


def _peer_matches(peer: dict, policy_namespace: str, source: Pod, namespace_labels: dict) -> bool:
    if "ipBlock" in peer:
        return True
    pods, namespaces = peer.get("podSelector"), peer.get("namespaceSelector")
    if namespaces is None:
        in_namespace = source.namespace == policy_namespace
    else:
        labels = {NAMESPACE_NAME_LABEL: source.namespace, **namespace_labels.get(source.namespace, {})}
        in_namespace = selects(namespaces, labels)
    return in_namespace and (pods is None or selects(pods, source.labels))


def _port_matches(entry: dict, target: Pod, port: int) -> bool:
    if entry.get("protocol", "TCP") != "TCP":
        return False
    wanted = entry.get("port")
    if wanted is None:
        return True
    if isinstance(wanted, str):
        return target.named_ports.get(wanted) == port
    return wanted <= port <= entry.get("endPort", wanted)


def admits(policies: list[dict], source: Pod, target: Pod, port: int, namespace_labels: dict | None = None) -> bool:
    """Whether `source` may open TCP `port` on `target`."""
    chosen = selecting(policies, target)
    if not chosen:
        return True
    for policy in chosen:
        for rule in policy["spec"].get("ingress") or []:
            peers, ports = rule.get("from") or [], rule.get("ports") or []
            if peers and not any(_peer_matches(p, policy["metadata"]["namespace"], source, namespace_labels or {})
                                 for p in peers):
                continue
            if ports and not any(_port_matches(entry, target, port) for entry in ports):
                continue
            return True
    return False


def workload_pods(objects: list[dict]) -> list[Pod]:
    """One Pod per workload, as its template describes it."""
    pods = []
    for workload in workloads(objects):
        containers = pod_spec(workload).get("containers", [])
        declared = [p for c in containers for p in c.get("ports", []) if p.get("protocol", "TCP") == "TCP"]
        pods.append(Pod(workload["metadata"]["name"], workload["metadata"].get("namespace", ""),
                        dict(workload["spec"]["template"]["metadata"].get("labels") or {}),
                        {p["name"]: p["containerPort"] for p in declared if p.get("name")},
                        tuple(p["containerPort"] for p in declared)))
    return pods


def namespace_labels(objects: list[dict]) -> dict:
    return {n["metadata"]["name"]: dict(n["metadata"].get("labels") or {}) for n in find_all(objects, "Namespace")}
