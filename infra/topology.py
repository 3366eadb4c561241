"""Fixed names and numbers that the cluster side, the KFP/MinIO side and the watchdog must agree on.

Host ports are configurable (see `infra.config`); these are the in-cluster halves they map to.
"""
NAMESPACE = "kubeflow"

# dataDir on the host is mounted at this path on every node (kind extraMounts / k3d volume).
# Persistent volumes for MinIO, MySQL and the registry live under it.
NODE_DATA_DIR = "/var/lib/kfp-laptop"

# NodePorts that the cluster publishes on 127.0.0.1:<configured host port>; no port-forward needed.
KFP_NODE_PORT = 30080           # ml-pipeline-ui (UI + API proxy)
MINIO_API_NODE_PORT = 30900
MINIO_CONSOLE_NODE_PORT = 30901

# KFP's own names that the installer, the readiness check, `inv doctor`, `inv port-forward` and the client share.
KFP_UI_SERVICE = "ml-pipeline-ui"     # serves the UI and proxies the REST API
KFP_UI_PORT = 80
KFP_HEALTHZ_PATH = "apis/v2beta1/healthz"
KFP_LABELS = {"application-crd-id": "kubeflow-pipelines"}   # upstream's label on every KFP server component

# MinIO inside the cluster
MINIO_NAME = "minio"
MINIO_API_PORT = 9000
MINIO_CONSOLE_PORT = 9001
MINIO_HOST = f"{MINIO_NAME}.{NAMESPACE}.svc.cluster.local"
ARTIFACT_BUCKET = "mlpipeline"
PIPELINE_ROOT = f"minio://{ARTIFACT_BUCKET}/v2/artifacts"
ARTIFACT_SECRET = "mlpipeline-minio-artifact"   # upstream's name, kept so KFP finds it
# MinIO's bucket-only user, whose credentials are all that pipeline pods (their service account) may read
PIPELINE_ARTIFACT_SECRET = "kfp-laptop-minio-pipelines"
PIPELINE_MINIO_POLICY = "kfp-laptop-pipelines"

# Kubernetes version the generated objects are validated against (and the kind/k3d node image targets).
KUBERNETES_VERSION = "1.33"
