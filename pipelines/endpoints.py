"""Where the stack's services are, read from its outputs (the contract's names), checked before anything is sent."""
from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode, urlparse

from kfp_laptop.errors import UserError

# The stack outputs this package needs (all are in the contract; `cluster` and `kubeconfig` are not needed here).
REQUIRED_OUTPUTS = ("kfp_endpoint", "kfp_version", "pipeline_root", "minio_endpoint", "minio_console",
                    "minio_access_key", "minio_secret_key", "registry")


@dataclass(frozen=True)
class Endpoints:
    kfp: str                  # UI and API, e.g. http://127.0.0.1:8080
    kfp_version: str
    pipeline_root: str        # e.g. minio://mlpipeline/v2/artifacts
    minio: str                # S3 API, e.g. http://127.0.0.1:9000
    minio_console: str
    registry: str             # e.g. localhost:5001
    minio_access_key: str = field(repr=False)
    minio_secret_key: str = field(repr=False)

    @classmethod
    def from_outputs(cls, outputs: dict) -> "Endpoints":
        """Endpoints from `pulumi stack output --json --show-secrets`; UserError naming any missing or bad output."""
        missing = [key for key in REQUIRED_OUTPUTS if outputs.get(key) in (None, "")]
        if missing:
            raise UserError(f"the stack's outputs lack {', '.join(missing)}",
                            "run `inv up` to bring the stack up to date (it exports every output the pipelines read)")
        for key in ("kfp_endpoint", "minio_endpoint", "minio_console"):
            url = urlparse(str(outputs[key]))
            if url.scheme not in ("http", "https") or not url.netloc:
                raise UserError(f"the stack output {key} is {outputs[key]!r}, not an http(s) URL", "run `inv up`")
        if not str(outputs["pipeline_root"]).startswith("minio://"):
            raise UserError(f"the stack output pipeline_root is {outputs['pipeline_root']!r}, not a minio:// URI",
                            "run `inv up`")
        return cls(kfp=str(outputs["kfp_endpoint"]).rstrip("/"), kfp_version=str(outputs["kfp_version"]),
                   pipeline_root=str(outputs["pipeline_root"]).rstrip("/"),
                   minio=str(outputs["minio_endpoint"]).rstrip("/"),
                   minio_console=str(outputs["minio_console"]).rstrip("/"), registry=str(outputs["registry"]),
                   minio_access_key=str(outputs["minio_access_key"]),
                   minio_secret_key=str(outputs["minio_secret_key"]))

    def run_url(self, run_id: str) -> str:
        """The run's page in the KFP UI."""
        return f"{self.kfp}/#/runs/details/{run_id}"

    def pod_logs_url(self, pod_name: str, namespace: str, created_on: str | None = None) -> str:
        """The UI server's pod-log endpoint (frontend/server/handlers/pod-logs.ts): logs without kubectl.

        `created_on` (YYYY-MM-DD, the workflow's creation day) fills the date in the archive's key format: once
        the workflow and its pods are gone the UI server finds the log archived in MinIO only with it
        (frontend/server/workflow-helper.ts `createPodLogsMinioRequestConfig`)."""
        query = {"podname": pod_name, "podnamespace": namespace, **({"createdat": created_on} if created_on else {})}
        return f"{self.kfp}/k8s/pod/logs?{urlencode(query)}"
