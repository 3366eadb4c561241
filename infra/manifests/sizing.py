"""Laptop sizing: every container gets a memory limit (upstream sets none) and requests that leave room for
pipeline pods in a Docker VM of about 8 GB; probes where upstream has none.

Keyed by (Deployment, container). A container this table does not know (a newer KFP) gets `DEFAULT`, so sizing
never blocks an install; the seven MinIO places are what must be found.
"""
from __future__ import annotations

from dataclasses import dataclass

from infra.manifests.objects import containers, find_all, pod_spec, workloads
from infra.manifests.quantity import parse_quantity


@dataclass(frozen=True)
class Size:
    cpu: str              # request
    memory: str           # request
    memory_limit: str
    cpu_limit: str = "1"  # a cap, so one busy pod cannot starve the VM's other cores

    def resources(self) -> dict:
        return {"requests": {"cpu": self.cpu, "memory": self.memory},
                "limits": {"cpu": self.cpu_limit, "memory": self.memory_limit}}


DEFAULT = Size("20m", "64Mi", "256Mi")
SIZES: dict[tuple[str, str], Size] = {
    ("ml-pipeline", "ml-pipeline-api-server"): Size("100m", "256Mi", "1Gi", "2"),
    ("ml-pipeline-ui", "ml-pipeline-ui"): Size("10m", "96Mi", "512Mi"),
    ("ml-pipeline-persistenceagent", "ml-pipeline-persistenceagent"): Size("50m", "96Mi", "256Mi"),
    ("ml-pipeline-scheduledworkflow", "ml-pipeline-scheduledworkflow"): Size("20m", "64Mi", "256Mi"),
    ("ml-pipeline-viewer-crd", "ml-pipeline-viewer-crd"): Size("10m", "64Mi", "256Mi"),
    ("ml-pipeline-visualizationserver", "ml-pipeline-visualizationserver"): Size("20m", "256Mi", "1Gi"),
    ("metadata-writer", "main"): Size("20m", "128Mi", "512Mi"),
    ("metadata-grpc-deployment", "container"): Size("50m", "128Mi", "512Mi"),
    ("metadata-envoy-deployment", "container"): Size("20m", "64Mi", "256Mi"),
    ("cache-server", "server"): Size("20m", "64Mi", "256Mi"),
    ("cache-deployer-deployment", "main"): Size("10m", "32Mi", "128Mi"),
    ("mysql", "mysql"): Size("100m", "512Mi", "1Gi", "2"),
    ("workflow-controller", "workflow-controller"): Size("100m", "256Mi", "1Gi"),
    ("minio", "minio"): Size("50m", "256Mi", "1Gi"),
    ("minio-create-bucket", "create-bucket"): Size("10m", "32Mi", "128Mi"),
}
INIT_DEFAULT = Size("10m", "16Mi", "64Mi", "100m")


# Probes for containers that have an endpoint but no upstream probe, as the check only; `add_probes` derives
# startup (up to 5 minutes: a first MySQL initialisation under emulation is slow), liveness and readiness from it.
# Containers without any port (persistence agent, viewer controller, metadata-writer, cache-deployer) have nothing to
# probe: a crash restarts them.
PROBES: dict[tuple[str, str], dict] = {
    ("cache-server", "server"): {"tcpSocket": {"port": "webhook-api"}},
    ("metadata-envoy-deployment", "container"): {"httpGet": {"path": "/ready", "port": "envoy-admin"}},
    ("ml-pipeline-scheduledworkflow", "ml-pipeline-scheduledworkflow"): {"tcpSocket": {"port": "http"}},
    # In the pod, over loopback: answers only once the real server (not the init-time one) listens.
    ("mysql", "mysql"): {"exec": {"command": ["mysqladmin", "ping", "-h", "127.0.0.1", "--silent"]}},
}
PROBE_TIMING = {"startupProbe": {"periodSeconds": 10, "timeoutSeconds": 5, "failureThreshold": 30},
                "livenessProbe": {"periodSeconds": 20, "timeoutSeconds": 5, "failureThreshold": 6},
                "readinessProbe": {"periodSeconds": 10, "timeoutSeconds": 5, "failureThreshold": 3}}


def _size_of(name: str, item: dict, init: bool) -> dict:
    known = SIZES.get((name, item["name"]))
    if known:
        return known.resources()
    if "limits" in item.get("resources", {}):
        return item["resources"]
    return (INIT_DEFAULT if init else DEFAULT).resources()


def size_for_laptop(objects: list[dict]) -> None:
    for workload in workloads(objects):
        name = workload["metadata"]["name"]
        spec = pod_spec(workload)
        for init, group in ((False, spec.get("containers", [])), (True, spec.get("initContainers", []))):
            for item in group:
                item["resources"] = _size_of(name, item, init)


def add_probes(objects: list[dict]) -> None:
    for workload in workloads(objects):
        for item in pod_spec(workload).get("containers", []):
            check = PROBES.get((workload["metadata"]["name"], item["name"]))
            if check and not any(kind in item for kind in PROBE_TIMING):
                item.update({kind: {**check, **timing} for kind, timing in PROBE_TIMING.items()})


def memory_mib(quantity: str) -> float:
    """A Kubernetes memory quantity (any suffix the API accepts) in MiB."""
    return float(parse_quantity(quantity)) / 2**20


def memory_requests_mib(objects: list[dict]) -> float:
    """What the scheduler reserves for the platform's long-running pods (init containers run before and end)."""
    return sum(memory_mib(item.get("resources", {}).get("requests", {}).get("memory", "0"))
               for w in find_all(objects, "Deployment") for item in containers(w, init=False))
