"""A stand-in for the stack's KFP and MinIO, as kfp.Client 2.17.3 and minio-py meet them at its published ports:
- the `ml-pipeline-ui` service of KFP 2.17 proxying the v2beta1 REST API: `GET /apis/v2beta1/healthz`,
  `GET/POST /apis/v2beta1/experiments` (looked up by a display_name filter), `POST /apis/v2beta1/runs`,
  `GET /apis/v2beta1/runs/{id}` (which walks through scripted snapshots of the run, as successive polls of a real run
  do; an unknown id gets the API's 404) and `GET /apis/v1beta1/runs/{id}`, whose `workflow_manifest` is the run's
  Argo workflow at that poll (shapes in tests/support/argo.py);
- the UI server's pod-log endpoint `GET /k8s/pod/logs?podname=..&podnamespace=kubeflow` (text, or 500 for a pod it
  cannot find, as frontend/server/handlers/pod-logs.ts answers);
- MinIO's S3 calls for reading one artifact: bucket location, ListObjectsV2 and GetObject.
Served by `tests.support.http` (the `serve` fixture).
"""
from __future__ import annotations

import json
from urllib.parse import urlparse
from xml.sax.saxutils import escape

from tests.support.http import Reply, Request

RUN_ID = "4d3c2b1a-0000-4000-8000-000000000001"
S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"


class KfpApi:
    """The stack's KFP and MinIO as one handler; `runs` are the successive answers to GET /runs/{id} (the last one
    repeats)."""

    def __init__(self, runs, logs=None, objects=None, create_status=200, api_ready=True):
        self.runs, self.logs, self.objects, self.create_status = list(runs), logs or {}, objects or {}, create_status
        self.api_ready = api_ready
        self.created, self.experiments, self.polls, self.log_queries = [], [], 0, []

    def __call__(self, request: Request) -> Reply:
        if request.method == "POST":
            return self.post(request.path, request.json() or {})
        return self.get(request)

    def get(self, request):
        url, query = urlparse(request.path), request.query
        if url.path == "/apis/v2beta1/healthz":
            # The UI server answers itself, 200 even with the API server down (frontend/server/handlers/healthz.ts)
            return Reply(200, {"apiServerReady": self.api_ready, "multi_user": False, "frontendTagName": "2.17.0"})
        if url.path == "/apis/v2beta1/experiments":   # kfp.Client looks an experiment up by a display_name filter
            wanted = {p["key"]: p["stringValue"] for p in json.loads(query.get("filter") or "{}").get("predicates", [])}
            found = [e for e in self.experiments if all(e.get(k) == v for k, v in wanted.items())]
            return Reply(200, {"experiments": found, "total_size": len(found)} if found else {})
        if url.path.startswith(("/apis/v2beta1/runs/", "/apis/v1beta1/runs/")):
            if url.path.rsplit("/", 1)[1] != RUN_ID:
                return Reply(404, {"code": 5, "message": "Failed to get run: ResourceNotFoundError"})
            if url.path.startswith("/apis/v2beta1/"):
                self.polls += 1
                return Reply(200, self.runs[min(self.polls, len(self.runs)) - 1]["v2"])
            return Reply(200, self.runs[max(min(self.polls, len(self.runs)) - 1, 0)]["v1"])
        if url.path == "/k8s/pod/logs":
            self.log_queries.append(query)
            if query.get("podnamespace") != "kubeflow" or query.get("podname") not in self.logs:
                return Reply(500, f"Could not get main container logs: pod {query.get('podname')} not found",
                             "text/plain")
            return Reply(200, self.logs[query["podname"]], "text/plain")
        return self.s3_get(url.path.lstrip("/"), query)

    def s3_get(self, path, query):
        bucket, _, key = path.partition("/")
        if bucket != "mlpipeline":
            return Reply(404, b"", "application/xml")
        if "location" in query:
            return Reply(200, f'<LocationConstraint xmlns="{S3_NS}"></LocationConstraint>'.encode(), "application/xml")
        if not key:
            keys = [k for k in self.objects if k.startswith(query.get("prefix", ""))]
            contents = "".join(f"<Contents><Key>{escape(k)}</Key><LastModified>2026-11-29T00:00:00.000Z</LastModified>"
                               f"<ETag>&quot;0&quot;</ETag><Size>{len(self.objects[k])}</Size>"
                               f"<StorageClass>STANDARD</StorageClass></Contents>" for k in keys)
            xml = (f'<ListBucketResult xmlns="{S3_NS}"><Name>mlpipeline</Name><Prefix>{escape(query.get("prefix", ""))}'
                   f"</Prefix><KeyCount>{len(keys)}</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>"
                   f"{contents}</ListBucketResult>")
            return Reply(200, xml.encode(), "application/xml")
        if key in self.objects:
            return Reply(200, self.objects[key], "application/octet-stream")
        return Reply(404, f'<Error><Code>NoSuchKey</Code><Key>{escape(key)}</Key></Error>'.encode(),
                          "application/xml")

    def post(self, path, body):
        if path.startswith("/apis/v2beta1/experiments"):
            experiment = {"experiment_id": f"exp-{len(self.experiments) + 1}", "display_name": body.get("display_name")}
            self.experiments.append(experiment)
            return Reply(200, experiment)
        if path.startswith("/apis/v2beta1/runs"):
            if self.create_status != 200:
                return Reply(self.create_status, {"code": 3, "message": "Invalid input error: bad spec"})
            self.created.append(body)
            return Reply(200, {"run_id": RUN_ID, "display_name": body.get("display_name"),
                                             "experiment_id": body.get("experiment_id"), "state": "PENDING"})
        return Reply(404, {"code": 5, "message": "not found"})
