"""The cluster path of the pipeline commands against a real HTTP server on 127.0.0.1 standing in for the stack
(`KfpApi`, tests/support/kfp_api.py: KFP's API through the UI server, its pod-log endpoint, and MinIO's S3 calls).
The only mock is `laptop.stack.find_outputs` / `stack_outputs` (no Pulumi CLI on this machine), pointed at it.
"""
import json
import time
from types import SimpleNamespace

import pytest

from kfp_laptop.errors import UserError
from laptop import stack as stacks
from pipelines import cli, cluster_run
from pipelines.run_view import pod_name
from tests.support.argo import quickstart_workflow, run_detail_v1, run_v2, wine_workflow
from tests.support.backend import cache_hits
from tests.support.kfp_api import RUN_ID, KfpApi
from tests.support.outputs import FIXTURE_OUTPUTS

TRAIN_1_POD = "wine-tuning-x7k2p-system-container-impl-3621781959"   # Argo's v2 pod names, worked out by hand
TRAIN_0_POD = "wine-tuning-x7k2p-system-container-impl-359472531"
LOAD_POD = "wine-tuning-x7k2p-system-container-impl-609072655"
TRAIN_1 = "root › for-loop-1 › iteration-iterations(1:1) › iteration-item › train-candidate › executor"
TRAIN_0 = "root › for-loop-1 › iteration-iterations(0:0) › iteration-item › train-candidate › executor"


def snapshot(state, workflow=None, compressed=False):
    """One poll's answers: the v2beta1 run and, for the v1beta1 run detail, the workflow as stored so far
    (`compressed`: with its nodes in `status.compressedNodes`, as Argo stores a workflow past its size limit)."""
    manifest = workflow.manifest(compressed) if workflow else {}
    return {"v2": run_v2(RUN_ID, state, manifest), "v1": run_detail_v1(RUN_ID, manifest) if workflow else
            {"run": {"id": RUN_ID}, "pipeline_runtime": {}}}


@pytest.fixture(params=[False, True], ids=["nodes", "compressedNodes"])
def packed(request):
    """Run each test using it on both shapes of a workflow's node status: plain and compressed."""
    return request.param


@pytest.fixture
def stand_in_for(serve, monkeypatch):
    """Start a stand-in and point the stack's outputs (MinIO included) at it; returns the `KfpApi` (`.url` is where
    it serves)."""
    monkeypatch.setattr(cluster_run, "POLL_SECONDS", 0.01)

    def start(runs, **kwargs):
        api = KfpApi(runs, **kwargs)
        api.server = serve(api)
        api.url = api.server.url
        outputs = {**FIXTURE_OUTPUTS, "kfp_endpoint": api.url, "minio_endpoint": api.url}
        monkeypatch.setattr(stacks, "find_outputs", lambda stack=None: outputs)
        monkeypatch.setattr(stacks, "stack_outputs", lambda stack=None: outputs)
        return api

    return start


# <pipeline root>/<pipeline name>/<run id>/<task>/<uuid per execution>/<output> (backend/src/v2/driver provisionOutputs)
SUMMARY_KEY = f"v2/artifacts/wine-tuning/{RUN_ID}/evaluate-model/0b7e4c1d-5f7a-4e8b-9c1d-2e3f4a5b6c7d/summary"
SUMMARY = {"hyperparameters": {"n_neighbors": 7}, "cv_accuracy": 0.97, "test_accuracy": 0.956, "test_f1_macro": 0.95}


def test_wine_on_the_cluster_submits_follows_each_iteration_and_prints_the_result(stand_in_for, capsys, packed):
    server = stand_in_for([snapshot("PENDING"), snapshot("RUNNING", wine_workflow(("Succeeded", "Running")), packed),
                           snapshot("SUCCEEDED", wine_workflow(), packed)],
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


def test_a_failed_task_shows_its_error_and_log_tail(stand_in_for, capsys, packed):
    log = "\n".join(f"line {i}" for i in range(100)) + "\nValueError: n_neighbors=500 > n_samples=106\n"
    failed = snapshot("FAILED", wine_workflow(("Succeeded", "Failed"), "Error (exit code 1)"), packed)
    server = stand_in_for([snapshot("RUNNING", wine_workflow(("Succeeded", "Running")), packed), failed],
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


def _quickstart_logs(workflow, first, last):
    manifest = workflow.manifest()
    return {pod_name(manifest, pod): f"sum: {total}\n" for pod, total in ((first, 9), (last, 19))
            if pod["phase"] != "Skipped"}


def test_quickstart_sum_comes_back_when_the_same_run_is_repeated(stand_in_for, capsys):
    """A repeated identical run is what KFP's cache would serve without running the executors (no pod, no log):
    the stand-in decides cache hits from the submitted IR as the backend's driver does, and the sum still prints."""
    workflow, first, last = quickstart_workflow()
    server = stand_in_for([snapshot("SUCCEEDED", workflow)], logs=_quickstart_logs(workflow, first, last))
    assert cli.run_quickstart(a="4", b="5", target="cluster") == 19
    body = server.created[0]
    hits = cache_hits(body["pipeline_spec"], body["runtime_config"]["parameters"], server.created)
    assert hits == set()
    again, first, last = quickstart_workflow(cached=hits)
    server.runs, server.polls, server.logs = [snapshot("SUCCEEDED", again)], 0, _quickstart_logs(again, first, last)
    assert cli.run_quickstart(a="4", b="5", target="cluster") == 19
    assert capsys.readouterr().out.count("sum: 19") == 2


def test_the_cache_model_has_teeth(stand_in_for, capsys):
    """With caching on (as KFP compiles tasks by default), the repeated run is a cache hit: no pod ran add-2,
    so its log holds no sum. This is what the quickstart's caching setting prevents."""
    workflow, first, last = quickstart_workflow()
    server = stand_in_for([snapshot("SUCCEEDED", workflow)], logs=_quickstart_logs(workflow, first, last))
    cli.run_quickstart(a="4", b="5", target="cluster")
    queried = len(server.log_queries)
    body = server.created[0]
    for task in body["pipeline_spec"]["root"]["dag"]["tasks"].values():
        task["cachingOptions"] = {"enableCache": True}
    hits = cache_hits(body["pipeline_spec"], body["runtime_config"]["parameters"], [body])
    assert hits == {"add", "add-2"}
    again, first, last = quickstart_workflow(cached=hits)
    server.runs, server.polls, server.logs = [snapshot("SUCCEEDED", again)], 0, _quickstart_logs(again, first, last)
    assert cli.run_quickstart(a="4", b="5", target="cluster") is None
    assert "the sum could not be read from the add-2 task's log" in capsys.readouterr().out
    assert len(server.log_queries) == queried     # a skipped executor has no pod whose log could be asked for


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


def test_status_prints_the_task_tree(stand_in_for, capsys, packed):
    stand_in_for([snapshot("FAILED", wine_workflow(("Succeeded", "Failed"), "Error (exit code 1)"), packed)])
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


def test_logs_of_one_task_and_of_all(stand_in_for, capsys, packed):
    server = stand_in_for([snapshot("SUCCEEDED", wine_workflow(), packed)],
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


def test_an_api_server_that_is_down_behind_the_ui_is_reported_down(stand_in_for):
    """The UI server still answers healthz with 200; its apiServerReady says the API is down."""
    server = stand_in_for([snapshot("SUCCEEDED", wine_workflow())], api_ready=False)
    with pytest.raises(UserError) as caught:
        cli.run_quickstart()
    assert "the KFP API server behind the UI is not ready" in caught.value.problem
    assert "inv doctor" in caught.value.fix and not server.created


def test_an_endpoint_that_goes_away_during_the_run(stand_in_for, monkeypatch):
    """The stand-in really shuts down after the first poll: the next poll's refused connection is a UserError."""
    server = stand_in_for([snapshot("RUNNING", wine_workflow(("Running", "Running")))])
    clock = SimpleNamespace(monotonic=time.monotonic, sleep=lambda seconds: server.server.close())
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
