"""Endpoints that accept the connection but never answer, or answer something that is not HTTP: doctor, the KFP
client's reachability check and the registry lookups each end within their timeout with one message naming the URL.
The server is a real socket on 127.0.0.1 (the shared `unhelpful_server` fixture)."""
from __future__ import annotations

import pytest

from kfp_laptop.errors import UserError
from laptop.doctor_cluster import http_problem
from pipelines.cluster_run import check_reachable
from pipelines.containerized import registry_client
from pipelines.endpoints import Endpoints

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
