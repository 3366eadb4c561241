"""MinIO as KFP's artifact store, in place of upstream's SeaweedFS: the MinIO objects and the seven places KFP
points at its object store (docs/upstream-facts.md). Two credentials Secrets are built by the Pulumi layer from
generated values; here they are only referenced by name: the root user's (`ARTIFACT_SECRET`, for the KFP servers)
and a bucket-only user's (`PIPELINE_ARTIFACT_SECRET`, for pipeline pods and Argo's executor in them, which must not
reach MinIO's admin API).
"""
from __future__ import annotations

import json

import yaml

from infra import topology as t
from infra.manifests.objects import ManifestMismatch, container, find, find_all, remove, set_env

SEAWEEDFS = "seaweedfs"
MINIO_UID = 10001                 # the image has no fixed user; a high UID keeps it apart from host users
LABELS = {"app": t.MINIO_NAME, **t.KFP_LABELS}
ENDPOINT = f"{t.MINIO_HOST}:{t.MINIO_API_PORT}"
SECRETS_DIR = "/run/secrets/minio"
PIPELINE_SECRETS_DIR = "/run/secrets/minio-pipelines"
POLICY_FILE = "/tmp/bucket-policy.json"   # the Job's emptyDir
DATA_DIR = "/data"


def _meta(name: str, labels: dict | None = None) -> dict:
    return {"name": name, "namespace": t.NAMESPACE, "labels": dict(labels or LABELS)}


def restricted_security_context(uid: int) -> dict:
    return {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "readOnlyRootFilesystem": True,
            "runAsNonRoot": True, "runAsUser": uid, "runAsGroup": uid, "seccompProfile": {"type": "RuntimeDefault"}}


def _secret_volume(name: str = "credentials", secret: str = t.ARTIFACT_SECRET) -> dict:
    """Group-readable only: the pods reading it set fsGroup to the reader's group."""
    return {"name": name, "secret": {"secretName": secret, "defaultMode": 0o440}}


def bucket_policy() -> str:
    """MinIO policy of the pipelines' user: every S3 action on the artifact bucket and its objects, nothing else
    (no other bucket, no admin action)."""
    bucket = f"arn:aws:s3:::{t.ARTIFACT_BUCKET}"
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:*"], "Resource": [bucket, f"{bucket}/*"]}]})


def minio_objects(image: str) -> list[dict]:
    """ServiceAccount, Deployment, NodePort Service and the Job that creates the bucket.

    Storage is a volume named `data` (a PVC named `minio-pvc`); `infra.manifests.storage` may swap it for hostPath.
    Credentials are read from files (`MINIO_ROOT_*_FILE`), never from env values.
    """
    probe = {"httpGet": {"path": "/minio/health/live", "port": "api"}, "periodSeconds": 10, "timeoutSeconds": 3}
    server = {
        "name": t.MINIO_NAME, "image": image, "imagePullPolicy": "IfNotPresent",
        "args": ["server", DATA_DIR, "--address", f":{t.MINIO_API_PORT}",
                 "--console-address", f":{t.MINIO_CONSOLE_PORT}", "--certs-dir", "/tmp/certs"],
        "env": [{"name": "MINIO_ROOT_USER_FILE", "value": f"{SECRETS_DIR}/accesskey"},
                {"name": "MINIO_ROOT_PASSWORD_FILE", "value": f"{SECRETS_DIR}/secretkey"},
                {"name": "MINIO_BROWSER_REDIRECT", "value": "false"}],
        "ports": [{"name": "api", "containerPort": t.MINIO_API_PORT},
                  {"name": "console", "containerPort": t.MINIO_CONSOLE_PORT}],
        "livenessProbe": probe,
        "readinessProbe": {**probe, "httpGet": {"path": "/minio/health/ready", "port": "api"}},
        "securityContext": restricted_security_context(MINIO_UID),
        "volumeMounts": [{"name": "data", "mountPath": DATA_DIR},
                         {"name": "credentials", "mountPath": SECRETS_DIR, "readOnly": True},
                         {"name": "tmp", "mountPath": "/tmp"}],
    }
    pod = {"serviceAccountName": t.MINIO_NAME, "automountServiceAccountToken": False,
           "securityContext": {"runAsNonRoot": True, "fsGroup": MINIO_UID,
                               "seccompProfile": {"type": "RuntimeDefault"}},
           "containers": [server],
           "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": f"{t.MINIO_NAME}-pvc"}},
                       _secret_volume(), {"name": "tmp", "emptyDir": {}}]}
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(t.MINIO_NAME),
         "automountServiceAccountToken": False},
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": _meta(f"{t.MINIO_NAME}-pvc"),
         "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "20Gi"}}}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": _meta(t.MINIO_NAME),
         "spec": {"replicas": 1, "strategy": {"type": "Recreate"}, "selector": {"matchLabels": dict(LABELS)},
                  "template": {"metadata": {"labels": dict(LABELS)}, "spec": pod}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": _meta(t.MINIO_NAME),
         "spec": {"type": "NodePort", "selector": dict(LABELS),
                  "ports": [{"name": "api", "port": t.MINIO_API_PORT, "targetPort": "api",
                             "nodePort": t.MINIO_API_NODE_PORT},
                            {"name": "console", "port": t.MINIO_CONSOLE_PORT, "targetPort": "console",
                             "nodePort": t.MINIO_CONSOLE_NODE_PORT}]}},
        bucket_job(image),
    ]


def bucket_job(image: str) -> dict:
    """Creates the `mlpipeline` bucket once MinIO answers, and the pipelines' bucket-only user with its policy
    (each step idempotent), with MinIO's own image (it ships `mc`), so no other image is pulled. The root
    credentials reach `mc` through its MC_HOST_<alias> variable and the user's secret key through stdin, never a
    command line (which every process on the node can read): `mc admin user add ALIAS ACCESSKEY` reads the secret
    key from stdin when it is not an argument (minio/mc cmd/admin-user-add.go `fetchUserKeys`,
    RELEASE.2025-08-13T08-35-41Z); re-adding a user updates it, and attaching a policy already attached succeeds
    (cmd/admin-policy-attach.go ignores errCodeChangeAlreadyApplied)."""
    user = f'"$(cat {PIPELINE_SECRETS_DIR}/accesskey)"'
    script = (f'export MC_HOST_local="http://$(cat {SECRETS_DIR}/accesskey):'
              f'$(cat {SECRETS_DIR}/secretkey)@{ENDPOINT}"\n'
              f"cat > {POLICY_FILE} <<'EOF'\n{bucket_policy()}\nEOF\n"
              "setup() {\n"
              f"  mc mb --ignore-existing local/{t.ARTIFACT_BUCKET} &&\n"
              f"  mc admin policy create local {t.PIPELINE_MINIO_POLICY} {POLICY_FILE} &&\n"
              f"  mc admin user add local {user} < {PIPELINE_SECRETS_DIR}/secretkey &&\n"
              f"  mc admin policy attach local {t.PIPELINE_MINIO_POLICY} --user {user}\n"
              "}\n"
              "for i in $(seq 1 60); do setup && exit 0; sleep 5; done\n"
              "exit 1\n")
    labels = {"app": f"{t.MINIO_NAME}-bucket", **t.KFP_LABELS}
    job = {"name": "create-bucket", "image": image, "imagePullPolicy": "IfNotPresent",
           "command": ["/bin/sh", "-ec", script],
           "env": [{"name": "MC_CONFIG_DIR", "value": "/tmp/.mc"}],
           "securityContext": restricted_security_context(MINIO_UID),
           "volumeMounts": [{"name": "credentials", "mountPath": SECRETS_DIR, "readOnly": True},
                            {"name": "pipeline-credentials", "mountPath": PIPELINE_SECRETS_DIR, "readOnly": True},
                            {"name": "tmp", "mountPath": "/tmp"}]}
    volumes = [_secret_volume(), _secret_volume("pipeline-credentials", t.PIPELINE_ARTIFACT_SECRET),
               {"name": "tmp", "emptyDir": {}}]
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": _meta(f"{t.MINIO_NAME}-create-bucket", labels),
            "spec": {"backoffLimit": 6, "template": {"metadata": {"labels": labels}, "spec": {
                "restartPolicy": "OnFailure", "serviceAccountName": t.MINIO_NAME,
                "automountServiceAccountToken": False,
                "securityContext": {"runAsNonRoot": True, "fsGroup": MINIO_UID,
                                    "seccompProfile": {"type": "RuntimeDefault"}},
                "containers": [job], "volumes": volumes}}}}


def launcher_providers() -> str:
    """The `providers` key of ConfigMap kfp-launcher: without it driver and launcher use the hard-coded SeaweedFS
    endpoint (backend/src/v2/objectstore/config.go). They run in pipeline pods, so they get the bucket-only user.
    Format as backend/src/v2/config/testdata/provider_cases.yaml."""
    secret_ref = {"secretName": t.PIPELINE_ARTIFACT_SECRET, "accessKeyKey": "accesskey", "secretKeyKey": "secretkey"}
    minio = {"default": {"endpoint": ENDPOINT, "region": "minio", "disableSSL": True,
                         "credentials": {"fromEnv": False, "secretRef": secret_ref}},
             "overrides": []}
    return yaml.safe_dump({"minio": minio}, sort_keys=False)


def _artifact_repository(config_map: dict) -> dict:
    """Argo's artifact repository (where pod logs are archived) moved to MinIO; returns it. Its credentials are
    the bucket-only user's: Argo's executor in each pipeline pod reads them with the pod's service account."""
    repo = yaml.safe_load(config_map.get("data", {}).get("artifactRepository") or "") or {}
    if "s3" not in repo:
        raise ManifestMismatch(["s3 artifactRepository in ConfigMap workflow-controller-configmap"])
    repo["s3"]["endpoint"] = ENDPOINT
    repo["s3"]["bucket"] = t.ARTIFACT_BUCKET
    repo["s3"]["insecure"] = True
    repo["s3"]["accessKeySecret"] = {"name": t.PIPELINE_ARTIFACT_SECRET, "key": "accesskey"}
    repo["s3"]["secretKeySecret"] = {"name": t.PIPELINE_ARTIFACT_SECRET, "key": "secretkey"}
    config_map["data"]["artifactRepository"] = yaml.safe_dump(repo, sort_keys=False)
    return repo


# What the MinIO wiring changes: all named at once when a release lacks some.
REQUIRED = (("Deployment", "ml-pipeline"), ("Deployment", "ml-pipeline-ui"),
            ("ConfigMap", "workflow-controller-configmap"), ("ConfigMap", "kfp-launcher"),
            ("Secret", t.ARTIFACT_SECRET))


def upstream_object_store(obj: dict) -> bool:
    """Part of the object store upstream ships: named after it, or a Service selecting it (2.15's `minio-service`
    alias for SeaweedFS). The artifact Secret keeps its historical name and is handled on its own."""
    name = obj["metadata"].get("name", "")
    if obj.get("kind") == "Secret" and name == t.ARTIFACT_SECRET:
        return False
    selected = (obj.get("spec") or {}).get("selector") or {} if obj.get("kind") == "Service" else {}
    return name.startswith((SEAWEEDFS, t.MINIO_NAME)) or selected.get("app") in (SEAWEEDFS, t.MINIO_NAME)


def wire_minio(objects: list[dict], image: str) -> None:
    """Point every object-store reference at MinIO and add MinIO; the numbers follow docs/upstream-facts.md."""
    missing = [f"{kind} {name}" for kind, name in REQUIRED if not find_all(objects, kind, name)]
    if missing:
        raise ManifestMismatch(missing)
    api_server = container(find(objects, "Deployment", "ml-pipeline"))
    ui = container(find(objects, "Deployment", "ml-pipeline-ui"))
    controller_config = find(objects, "ConfigMap", "workflow-controller-configmap")
    launcher_config = find(objects, "ConfigMap", "kfp-launcher")
    # 1. Upstream's own object store goes, whatever its kind (SeaweedFS since 2.15, MinIO before).
    objects[:] = [o for o in objects if not upstream_object_store(o)]
    # 2. API server
    set_env(api_server, "OBJECTSTORECONFIG_HOST", t.MINIO_HOST)
    set_env(api_server, "OBJECTSTORECONFIG_PORT", str(t.MINIO_API_PORT))
    # 3. Argo's artifact repository
    archive = _artifact_repository(controller_config)["s3"]
    # 4. driver and launcher
    launcher_config.setdefault("data", {})
    launcher_config["data"]["defaultPipelineRoot"] = t.PIPELINE_ROOT
    launcher_config["data"]["providers"] = launcher_providers()
    # 5. UI artifact reads: the UI appends MINIO_NAMESPACE to MINIO_HOST (frontend/server/configs.ts).
    set_env(ui, "MINIO_HOST", t.MINIO_NAME)
    set_env(ui, "MINIO_PORT", str(t.MINIO_API_PORT))
    #    Once a finished workflow is deleted (upstream's ttlStrategy: 1 h) its pods go too, and the UI finds their
    #    logs archived in MinIO only under the controller's keyFormat; the UI's own default (`artifacts/...`,
    #    frontend/server/configs.ts ARGO_KEYFORMAT) differs from upstream's controller (`private-artifacts/...`).
    if archive.get("keyFormat"):
        set_env(ui, "ARGO_KEYFORMAT", archive["keyFormat"])
    # 6. Upstream's Secret holds well-known default credentials: the Pulumi layer replaces it with generated ones.
    remove(objects, "Secret", t.ARTIFACT_SECRET)
    # 7. MinIO itself, and the Job that creates the bucket.
    objects.extend(minio_objects(image))


def artifact_secret(access_key, secret_key, name: str = t.ARTIFACT_SECRET) -> dict:
    """A credentials Secret (the root user's, or `PIPELINE_ARTIFACT_SECRET` for the bucket-only user); values may
    be Pulumi Outputs (the component) or placeholders (`inv render`)."""
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": _meta(name, dict(t.KFP_LABELS)),
            "stringData": {"accesskey": access_key, "secretkey": secret_key}}


def _mentions(value, word: str) -> bool:
    if isinstance(value, dict):
        return any(_mentions(k, word) or _mentions(v, word) for k, v in value.items())
    if isinstance(value, list):
        return any(_mentions(v, word) for v in value)
    return isinstance(value, str) and word in value.lower()


def mentions_seaweedfs(objects: list[dict]) -> list[str]:
    """Objects that still mention SeaweedFS anywhere, keys or values (must be none after `wire_minio`)."""
    return [f"{o['kind']}/{o['metadata']['name']}" for o in objects if _mentions(o, SEAWEEDFS)]
