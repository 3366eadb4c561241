"""Where the stack's services are, read from its outputs (the contract's names), checked before anything is sent."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping
from urllib.parse import urlencode

from kfp_laptop.errors import UserError
from laptop.outputs import UP_FIX, StackOutputs

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
    outputs: StackOutputs | None = field(default=None, repr=False, compare=False)   # what these were read from

    @classmethod
    def from_outputs(cls, outputs: StackOutputs | Mapping) -> "Endpoints":
        """Endpoints from the parsed stack outputs (or the raw `pulumi stack output --json --show-secrets`, parsed
        here); UserError naming every missing or bad output."""
        parsed = StackOutputs.of(outputs, REQUIRED_OUTPUTS)
        missing = [key for key in REQUIRED_OUTPUTS if getattr(parsed, key) is None]
        if missing:
            raise UserError(f"the stack's outputs lack {', '.join(f'`{key}`' for key in missing)}", UP_FIX)
        return cls(kfp=parsed.kfp_endpoint, kfp_version=parsed.kfp_version, pipeline_root=parsed.pipeline_root,
                   minio=parsed.minio_endpoint, minio_console=parsed.minio_console, registry=parsed.registry,
                   minio_access_key=parsed.minio_access_key, minio_secret_key=parsed.minio_secret_key,
                   outputs=parsed)

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
