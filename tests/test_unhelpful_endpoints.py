"""Endpoints that accept the connection but never answer, or answer something that is not HTTP: doctor, the KFP
client's reachability check and the registry lookups each end within their timeout with one message naming the URL.
The server is a real socket on 127.0.0.1 (the shared `unhelpful_server` fixture)."""
from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from kfp_laptop.errors import UserError
from laptop.doctor_cluster import http_problem
from pipelines.cluster_run import check_reachable
from pipelines.containerized import registry_client
from pipelines.endpoints import Endpoints
from tests.support.http import Reply

SECRETS = {"minio_access_key": "a", "minio_secret_key": "s"}


def test_doctor_reports_no_answer(unhelpful_server):
    problem = http_problem(f"{unhelpful_server}/v2/", timeout=0.3)
    assert problem and (problem.startswith("no answer") or problem.startswith("not HTTP"))


def test_the_kfp_check_names_the_endpoint(unhelpful_server):
    endpoints = Endpoints(kfp=unhelpful_server, kfp_version="2.17.0", pipeline_root="minio://mlpipeline",
                          minio=unhelpful_server, minio_console=unhelpful_server, registry="localhost:1", **SECRETS)
    with pytest.raises(UserError) as err:
        check_reachable(endpoints, timeout=0.3)
    assert err.value.problem.startswith(f"the KFP endpoint {unhelpful_server} does not answer")
    assert "inv doctor" in err.value.fix


def test_the_registry_check_names_the_registry(unhelpful_server, monkeypatch):
    monkeypatch.setattr(registry_client, "TIMEOUT_S", 0.3)
    with pytest.raises(UserError, match=f"the stack's registry at {unhelpful_server} does not answer"):
        registry_client.require_registry(unhelpful_server)
    with pytest.raises(UserError, match="stopped answering while looking up kfp-laptop/wine-train:c1"):
        registry_client.manifest_exists(unhelpful_server, "kfp-laptop/wine-train", "c1")


HANGING_CALLS = """
import sys
from kfp_laptop.errors import UserError
from pipelines import cluster_run
from pipelines.endpoints import Endpoints
from pipelines.quickstart import build_quickstart_pipeline

cluster_run.CALL_TIMEOUT_SECONDS = (2.0, 0.3)
url = sys.argv[1]
endpoints = Endpoints(kfp=url, kfp_version="2.17.0", pipeline_root="minio://mlpipeline", minio=url,
                      minio_console=url, registry="localhost:1", minio_access_key="a", minio_secret_key="s")
client = cluster_run.connect(endpoints)
for call in (lambda: cluster_run.submit(client, endpoints, build_quickstart_pipeline(), {"a": 1, "b": 2}, "e"),
             lambda: cluster_run.get_run(client, endpoints, "r1"),
             lambda: cluster_run._api_call("list the runs", lambda: client.list_runs(page_size=20), endpoints)):
    try:
        call()
        print("answered")
    except UserError as err:
        print(err.problem, "|", err.fix)
"""


def test_kfp_calls_after_healthz_are_bounded(serve):
    """A KFP that answers healthz and then hangs on every API call: creating, getting and listing runs each end
    with one message naming the endpoint and `inv doctor`. The client runs in a subprocess whose own timeout is the
    bound (a hang fails the test), against a real 127.0.0.1 server."""
    release = threading.Event()

    def hang_after_healthz(request):
        if request.route == "/apis/v2beta1/healthz":
            return Reply(200, {"apiServerReady": True, "multi_user": False})
        release.wait(60)
        return Reply(503, {})

    server = serve(hang_after_healthz)
    try:
        done = subprocess.run([sys.executable, "-c", HANGING_CALLS, server.url], capture_output=True, text=True,
                              timeout=60, cwd=Path(__file__).resolve().parents[1])
    finally:
        release.set()
    lines = done.stdout.splitlines()
    assert done.returncode == 0, done.stderr
    assert [line.split(" while trying to ")[1].split(" |")[0] for line in lines] == [
        "create the run", "return run r1", "list the runs"], done.stdout
    for line in lines:
        assert line.startswith(f"the KFP endpoint {server.url} accepted the connection but did not answer"), line
        assert "inv doctor" in line
