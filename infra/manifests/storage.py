"""Where MySQL and MinIO keep their data.

kind/k3d: a hostPath under `topology.NODE_DATA_DIR`, which the cluster mounts from the host's `dataDir` on every
node, so run history and artifacts survive deleting and re-creating the cluster. `existing`: the PVCs as they are,
bound by the cluster's default storage class.
"""
from __future__ import annotations

from infra import topology as t
from infra.data_dir import MINIO, MYSQL
from infra.manifests.objects import ManifestMismatch, container, find, ident, pod_spec, remove

# Deployment -> folder under NODE_DATA_DIR
HOST_DATA = {"mysql": MYSQL, t.MINIO_NAME: MINIO}


def _chown_init(image: str, uid: int, mount: dict) -> dict:
    """hostPath folders are created root-owned and fsGroup does not apply to them: hand the folder to the
    server's non-root user. Root here, but only with CHOWN and nothing else."""
    return {"name": "own-data-dir", "image": image, "imagePullPolicy": "IfNotPresent",
            "command": ["chown", f"{uid}:{uid}", mount["mountPath"]],
            "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"cpu": "100m", "memory": "32Mi"}},
            "securityContext": {"runAsUser": 0, "runAsNonRoot": False, "allowPrivilegeEscalation": False,
                                "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"], "add": ["CHOWN"]},
                                "seccompProfile": {"type": "RuntimeDefault"}},
            "volumeMounts": [{"name": mount["name"], "mountPath": mount["mountPath"]}]}


def to_host_path(objects: list[dict], deployment: str, folder: str) -> None:
    """Swap the Deployment's PVC volume for a hostPath folder and drop the PVC."""
    workload = find(objects, "Deployment", deployment)
    spec = pod_spec(workload)
    volume = next((v for v in spec.get("volumes", []) if "persistentVolumeClaim" in v), None)
    server = container(workload)
    mount = next((m for m in server.get("volumeMounts", []) if volume and m["name"] == volume["name"]), None)
    uid = server.get("securityContext", {}).get("runAsUser")
    if volume is None or mount is None or uid is None:
        raise ManifestMismatch([f"a PVC-backed data volume and runAsUser in {ident(workload)}"])
    claim = volume.pop("persistentVolumeClaim")["claimName"]
    volume["hostPath"] = {"path": f"{t.NODE_DATA_DIR}/{folder}", "type": "DirectoryOrCreate"}
    remove(objects, "PersistentVolumeClaim", claim)
    spec.setdefault("initContainers", []).insert(0, _chown_init(server["image"], uid, mount))


def persist(objects: list[dict], engine: str) -> None:
    if engine == "existing":
        return
    for deployment, folder in HOST_DATA.items():
        to_host_path(objects, deployment, folder)
