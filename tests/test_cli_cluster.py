"""The cluster path of the pipeline commands against a real HTTP server on 127.0.0.1 standing in for the stack.

`KfpStandIn` imitates what kfp.Client 2.17.3 and minio-py meet at the stack's published ports:
- the `ml-pipeline-ui` service of KFP 2.17 proxying the v2beta1 REST API: `GET /apis/v2beta1/healthz`,
  `GET/POST /apis/v2beta1/experiments` (looked up by a display_name filter), `POST /apis/v2beta1/runs`,
  `GET /apis/v2beta1/runs/{id}` (which walks through scripted snapshots of the run, as successive polls of a real run
  do; an unknown id gets the API's 404) and `GET /apis/v1beta1/runs/{id}`, whose `workflow_manifest` is the run's
  Argo workflow at that poll (shapes in tests/argo_workflow.py);
- the UI server's pod-log endpoint `GET /k8s/pod/logs?podname=..&podnamespace=kubeflow` (text, or 500 for a pod it
  cannot find, as frontend/server/handlers/pod-logs.ts answers);
- MinIO's S3 calls for reading one artifact: bucket location, ListObjectsV2 and GetObject.
The only mock is `laptop.stack.find_outputs` / `stack_outputs` (no Pulumi CLI on this machine), pointed at it.
"""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qs, urlparse
from xml.sax.saxutils import escape

import pytest

from laptop import stack as stacks
from laptop.errors import UserError
from pipelines import cli, cluster_run
from pipelines.run_view import pod_name
from tests.argo_workflow import quickstart_workflow, run_detail_v1, run_v2, wine_workflow

FIXTURE_OUTPUTS = json.loads((Path(__file__).parent / "fixtures" / "stack_outputs.json").read_text())
RUN_ID = "4d3c2b1a-0000-4000-8000-000000000001"
S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"


TRAIN_1_POD = "wine-tuning-x7k2p-system-container-impl-3621781959"   # Argo's v2 pod names, worked out by hand
TRAIN_0_POD = "wine-tuning-x7k2p-system-container-impl-359472531"
LOAD_POD = "wine-tuning-x7k2p-system-container-impl-609072655"
TRAIN_1 = "root › for-loop-1 › iteration-iterations(1:1) › iteration-item › train-candidate › executor"
TRAIN_0 = "root › for-loop-1 › iteration-iterations(0:0) › iteration-item › train-candidate › executor"


def snapshot(state, workflow=None):
    """One poll's answers: the v2beta1 run and, for the v1beta1 run detail, the workflow as stored so far."""
    manifest = workflow.manifest() if workflow else {}
    return {"v2": run_v2(RUN_ID, state, manifest), "v1": run_detail_v1(RUN_ID, manifest) if workflow else
            {"run": {"id": RUN_ID}, "pipeline_runtime": {}}}


class KfpStandIn:
    """A real HTTP server; `runs` are the successive answers to GET /runs/{id} (the last one repeats)."""

    def __init__(self, runs, logs=None, objects=None, create_status=200):
        self.runs, self.logs, self.objects, self.create_status = list(runs), logs or {}, objects or {}, create_status
        self.created, self.experiments, self.polls, self.log_queries = [], [], 0, []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                stand_in.get(self)

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                stand_in.post(self, body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    @staticmethod
    def reply(handler, status, body, content_type="application/json"):
        data = body if isinstance(body, bytes) else (json.dumps(body) if content_type == "application/json"
                                                     else body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def get(self, handler):
        url = urlparse(handler.path)
        query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        if url.path == "/apis/v2beta1/healthz":
            return self.reply(handler, 200, {"multi_user": False})
        if url.path == "/apis/v2beta1/experiments":   # kfp.Client looks an experiment up by a display_name filter
            wanted = {p["key"]: p["stringValue"] for p in json.loads(query.get("filter") or "{}").get("predicates", [])}
            found = [e for e in self.experiments if all(e.get(k) == v for k, v in wanted.items())]
            return self.reply(handler, 200, {"experiments": found, "total_size": len(found)} if found else {})
        if url.path.startswith(("/apis/v2beta1/runs/", "/apis/v1beta1/runs/")):
            if url.path.rsplit("/", 1)[1] != RUN_ID:
                return self.reply(handler, 404, {"code": 5, "message": "Failed to get run: ResourceNotFoundError"})
            if url.path.startswith("/apis/v2beta1/"):
                self.polls += 1
                return self.reply(handler, 200, self.runs[min(self.polls, len(self.runs)) - 1]["v2"])
            return self.reply(handler, 200, self.runs[max(min(self.polls, len(self.runs)) - 1, 0)]["v1"])
        if url.path == "/k8s/pod/logs":
            self.log_queries.append(query)
            if query.get("podnamespace") != "kubeflow" or query.get("podname") not in self.logs:
                return self.reply(handler, 500, f"Could not get main container logs: pod {query.get('podname')} "
                                                "not found", "text/plain")
            return self.reply(handler, 200, self.logs[query["podname"]], "text/plain")
        return self.s3_get(handler, url.path.lstrip("/"), query)

    def s3_get(self, handler, path, query):
        bucket, _, key = path.partition("/")
        if bucket != "mlpipeline":
            return self.reply(handler, 404, b"", "application/xml")
        if "location" in query:
            return self.reply(handler, 200, f'<LocationConstraint xmlns="{S3_NS}"></LocationConstraint>'.encode(),
                              "application/xml")
        if not key:
            keys = [k for k in self.objects if k.startswith(query.get("prefix", ""))]
            contents = "".join(f"<Contents><Key>{escape(k)}</Key><LastModified>2026-11-29T00:00:00.000Z</LastModified>"
                               f"<ETag>&quot;0&quot;</ETag><Size>{len(self.objects[k])}</Size>"
                               f"<StorageClass>STANDARD</StorageClass></Contents>" for k in keys)
            xml = (f'<ListBucketResult xmlns="{S3_NS}"><Name>mlpipeline</Name><Prefix>{escape(query.get("prefix", ""))}'
                   f"</Prefix><KeyCount>{len(keys)}</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>"
                   f"{contents}</ListBucketResult>")
            return self.reply(handler, 200, xml.encode(), "application/xml")
        if key in self.objects:
            return self.reply(handler, 200, self.objects[key], "application/octet-stream")
        return self.reply(handler, 404, f'<Error><Code>NoSuchKey</Code><Key>{escape(key)}</Key></Error>'.encode(),
                          "application/xml")

    def post(self, handler, body):
        if handler.path.startswith("/apis/v2beta1/experiments"):
            experiment = {"experiment_id": f"exp-{len(self.experiments) + 1}", "display_name": body.get("display_name")}
            self.experiments.append(experiment)
            return self.reply(handler, 200, experiment)
        if handler.path.startswith("/apis/v2beta1/runs"):
            if self.create_status != 200:
                return self.reply(handler, self.create_status, {"code": 3, "message": "Invalid input error: bad spec"})
            self.created.append(body)
            return self.reply(handler, 200, {"run_id": RUN_ID, "display_name": body.get("display_name"),
                                             "experiment_id": body.get("experiment_id"), "state": "PENDING"})
        return self.reply(handler, 404, {"code": 5, "message": "not found"})


@pytest.fixture
def stand_in_for(monkeypatch):
    """Start a stand-in and point the stack's outputs (MinIO included) at it."""
    started = []
    monkeypatch.setattr(cluster_run, "POLL_SECONDS", 0.01)

    def start(runs, **kwargs):
        server = KfpStandIn(runs, **kwargs)
        started.append(server)
        outputs = {**FIXTURE_OUTPUTS, "kfp_endpoint": server.url, "minio_endpoint": server.url}
        monkeypatch.setattr(stacks, "find_outputs", lambda stack=None: outputs)
        monkeypatch.setattr(stacks, "stack_outputs", lambda stack=None: outputs)
        return server

    yield start
    for server in started:
        server.close()


# <pipeline root>/<pipeline name>/<run id>/<task>/<uuid per execution>/<output> (backend/src/v2/driver provisionOutputs)
SUMMARY_KEY = f"v2/artifacts/wine-tuning/{RUN_ID}/evaluate-model/0b7e4c1d-5f7a-4e8b-9c1d-2e3f4a5b6c7d/summary"
SUMMARY = {"hyperparameters": {"n_neighbors": 7}, "cv_accuracy": 0.97, "test_accuracy": 0.956, "test_f1_macro": 0.95}


def test_wine_on_the_cluster_submits_follows_each_iteration_and_prints_the_result(stand_in_for, capsys):
    server = stand_in_for([snapshot("PENDING"), snapshot("RUNNING", wine_workflow(("Succeeded", "Running"))),
                           snapshot("SUCCEEDED", wine_workflow())],
                          objects={SUMMARY_KEY: json.dumps(SUMMARY).encode(),
                                   "v2/artifacts/wine-tuning/other-run/evaluate-model/1f0c/summary": b"{}"})
    summary = cli.run_wine(neighbors="3,7", parallelism="2", test_size="0.3", experiment="tuning")
    out = capsys.readouterr().out
    assert summary == SUMMARY
    assert f"running on the stack's KFP 2.17.0 at {server.url}" in out
    assert f"run {RUN_ID} submitted to experiment tuning: {server.url}/#/runs/details/{RUN_ID}" in out
    assert f"  RUNNING    {TRAIN_1}\n" in out and f"  SUCCEEDED  {TRAIN_1}\n" in out
    assert out.count(f"{TRAIN_0}\n") == 1                                # printed once: it did not change
    assert "driver" not in out                                            # KFP's plumbing stays out of sight
    assert "selected hyperparameters: {'n_neighbors': 7}" in out and "test accuracy: 0.956" in out
    body, = server.created
    assert body["runtime_config"]["parameters"] == {"neighbors": [3, 7], "test_size": 0.3, "random_state": 42}
    assert body["runtime_config"]["pipeline_root"] == "minio://mlpipeline/v2/artifacts"
    loop = body["pipeline_spec"]["root"]["dag"]["tasks"]["for-loop-1"]
    assert loop["iteratorPolicy"]["parallelismLimit"] == 2
    tasks = body["pipeline_spec"]["root"]["dag"]["tasks"]
    assert tasks["load-data"]["cachingOptions"] == {"enableCache": True}
    assert not tasks["evaluate-model"]["cachingOptions"].get("enableCache")   # its summary is under this run's path
    assert server.experiments == [{"experiment_id": "exp-1", "display_name": "tuning"}]


def test_a_failed_task_shows_its_error_and_log_tail(stand_in_for, capsys):
    log = "\n".join(f"line {i}" for i in range(100)) + "\nValueError: n_neighbors=500 > n_samples=106\n"
    failed = snapshot("FAILED", wine_workflow(("Succeeded", "Failed"), "Error (exit code 1)"))
    server = stand_in_for([snapshot("RUNNING", wine_workflow(("Succeeded", "Running"))), failed],
                          logs={TRAIN_1_POD: log})
    with pytest.raises(UserError) as caught:
        cli.run_wine(neighbors="3,7")   # valid: the failure is the stand-in's workflow
    out = capsys.readouterr().out
    assert f"failed task: {TRAIN_1}\n" in out and out.count("failed task:") == 1   # only where the error is
    assert "error: Error (exit code 1)" in out and "ValueError: n_neighbors=500 > n_samples=106" in out
    assert "line 99" in out and "line 10\n" not in out                               # the tail, not the whole log
    assert server.log_queries[-1]["createdat"] == "2026-11-29"    # lets the UI server find the archived log
    assert caught.value.problem == f"run {RUN_ID} ended FAILED"
    assert f"inv logs {RUN_ID}" in caught.value.fix


def test_an_existing_experiment_is_reused(stand_in_for):
    server = stand_in_for([snapshot("SUCCEEDED", wine_workflow())])
    server.experiments[:] = [{"experiment_id": "exp-7", "display_name": "other"},
                             {"experiment_id": "exp-8", "display_name": "kfp-laptop"}]
    cli.run_quickstart(a="1", b="2")
    assert server.created[0]["experiment_id"] == "exp-8" and len(server.experiments) == 2


def test_a_canceled_run_ends_the_wait(stand_in_for):
    stand_in_for([snapshot("RUNNING", wine_workflow(("Running", "Running"))),
                  snapshot("CANCELED", wine_workflow(("Succeeded", "Failed"), "Stopped with strategy 'Terminate'"))])
    with pytest.raises(UserError, match="ended CANCELED"):
        cli.run_quickstart()


def test_quickstart_on_the_cluster_passes_only_the_given_arguments_and_prints_the_sum(stand_in_for, capsys):
    """The sum is read back from the last `add` task's pod log (what `add` prints there), not the first's."""
    workflow, first, last = quickstart_workflow()
    manifest = workflow.manifest()
    logs = {pod_name(manifest, first): "sum: 9\n", pod_name(manifest, last): "[KFP Executor] ...\nsum: 19\n"}
    server = stand_in_for([snapshot("SUCCEEDED", workflow)], logs=logs)
    assert cli.run_quickstart(a="4", b="5", target="cluster") == 19
    assert server.created[0]["runtime_config"]["parameters"] == {"a": 4, "b": 5}
    out = capsys.readouterr().out
    assert "sum: 19" in out and f"run succeeded: {server.url}/#/runs/details/{RUN_ID}" in out


def test_quickstart_sum_missing_from_the_log_is_not_an_error(stand_in_for, capsys):
    workflow, _, _ = quickstart_workflow()
    stand_in_for([snapshot("SUCCEEDED", workflow)])          # the UI server finds no log for the pod
    assert cli.run_quickstart(target="cluster") is None
    assert "the sum could not be read from the add-2 task's log" in capsys.readouterr().out


def test_result_artifact_missing_is_not_an_error(stand_in_for, capsys):
    stand_in_for([snapshot("SUCCEEDED", wine_workflow())])
    assert cli.run_wine() is None
    assert "the result artifact could not be read from MinIO" in capsys.readouterr().out


def test_an_api_refusal_quotes_the_server(stand_in_for):
    stand_in_for([], create_status=400)
    with pytest.raises(UserError, match="refused to create the run: HTTP 400: Invalid input error: bad spec"):
        cli.run_wine()


def test_status_prints_the_task_tree(stand_in_for, capsys):
    stand_in_for([snapshot("FAILED", wine_workflow(("Succeeded", "Failed"), "Error (exit code 1)"))])
    cli.status(RUN_ID)
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert any("root FAILED" in line for line in lines)
    tree = [line for line in lines if "── train-candidate" in line]
    assert len(tree) == 2 and tree[0].index("train-candidate") > next(
        line for line in lines if "iteration-iterations(0:0)" in line).index("iteration")    # under its iteration
    assert f"failed: {TRAIN_1}: Error (exit code 1)" in out


def test_status_of_an_unknown_run(stand_in_for):
    stand_in_for([])
    with pytest.raises(UserError, match="refused to return run nope: HTTP 404: Failed to get run"):
        cli.status("nope")


def test_logs_of_one_task_and_of_all(stand_in_for, capsys):
    server = stand_in_for([snapshot("SUCCEEDED", wine_workflow())],
                 logs={LOAD_POD: "loaded 178 rows\n", TRAIN_0_POD: "fitted k=3\n"})
    cli.logs(RUN_ID, task="load-data")
    out = capsys.readouterr().out
    assert "loaded 178 rows" in out and "fitted" not in out
    cli.logs(RUN_ID)
    out = capsys.readouterr().out
    assert "loaded 178 rows" in out and "fitted k=3" in out
    assert "log unavailable: HTTP 500: Could not get main container logs" in out    # the other pods are gone
    assert {q.get("createdat") for q in server.log_queries} == {"2026-11-29"}      # archived logs can be found


def test_logs_of_an_unknown_task_lists_the_known_ones(stand_in_for):
    stand_in_for([snapshot("SUCCEEDED", wine_workflow())])
    with pytest.raises(UserError) as caught:
        cli.logs(RUN_ID, task="no-such-task")
    assert "load-data" in caught.value.fix and "train-candidate" in caught.value.fix


def test_an_endpoint_that_answers_with_an_error(stand_in_for, monkeypatch):
    server = stand_in_for([])
    monkeypatch.setattr(stacks, "find_outputs",
                        lambda stack=None: {**FIXTURE_OUTPUTS, "kfp_endpoint": server.url + "/not-kfp"})
    with pytest.raises(UserError) as caught:
        cli.run_wine()
    assert "answers" in caught.value.problem and "HTTP 404" in caught.value.problem
    assert "inv doctor" in caught.value.fix


def test_an_endpoint_that_goes_away_during_the_run(stand_in_for, monkeypatch):
    """The stand-in really shuts down after the first poll: the next poll's refused connection is a UserError."""
    server = stand_in_for([snapshot("RUNNING", wine_workflow(("Running", "Running")))])
    clock = SimpleNamespace(monotonic=time.monotonic, sleep=lambda seconds: server.close())
    monkeypatch.setattr(cluster_run, "time", clock)
    with pytest.raises(UserError) as caught:
        cli.run_quickstart()
    assert f"the KFP endpoint {server.url} stopped answering while trying to return run {RUN_ID}" in \
        caught.value.problem
    assert "inv doctor" in caught.value.fix


def test_ctrl_c_while_following_says_the_run_goes_on(stand_in_for, monkeypatch):
    def interrupt(seconds):
        raise KeyboardInterrupt

    stand_in_for([snapshot("RUNNING", wine_workflow(("Running", "Running")))])
    monkeypatch.setattr(cluster_run, "time", SimpleNamespace(monotonic=time.monotonic, sleep=interrupt))
    with pytest.raises(UserError) as caught:
        cli.run_quickstart()
    assert caught.value.problem == f"stopped following run {RUN_ID}; it keeps running on the cluster"
    assert f"inv status {RUN_ID}" in caught.value.fix


def test_a_run_that_outlasts_the_wait(stand_in_for, monkeypatch):
    stand_in_for([snapshot("RUNNING", wine_workflow(("Running", "Running")))])
    monkeypatch.setattr(cluster_run, "FOLLOW_TIMEOUT_SECONDS", 0)
    with pytest.raises(UserError) as caught:
        cli.run_quickstart()
    assert caught.value.problem == f"run {RUN_ID} is still RUNNING after 0 s"
    assert f"inv status {RUN_ID}" in caught.value.fix


def test_logs_of_a_task_include_pods_nested_under_it(stand_in_for, capsys):
    """A pipeline task is a DAG node whose executor pod is its child."""
    stand_in_for([snapshot("SUCCEEDED", wine_workflow())],
                 logs={"wine-tuning-x7k2p-system-container-impl-586739545": "wine result: {}\n"})
    cli.logs(RUN_ID, task="evaluate-model")
    out = capsys.readouterr().out
    assert "root › evaluate-model › executor" in out and "wine result: {}" in out


def test_a_run_not_yet_reported_has_no_tasks(stand_in_for, capsys):
    """Before the persistence agent's first report the v1beta1 run has no workflow manifest."""
    stand_in_for([snapshot("PENDING")])
    cli.status(RUN_ID)
    assert "wine-tuning 2026-11-29 PENDING" in capsys.readouterr().out
