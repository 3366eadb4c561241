"""Endpoint resolution from stack outputs shaped exactly as `pulumi stack output --json --show-secrets` prints them."""
import json
from pathlib import Path

import pytest

from kfp_laptop.errors import UserError
from pipelines.endpoints import REQUIRED_OUTPUTS, Endpoints

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "stack_outputs.json"


@pytest.fixture
def outputs() -> dict:
    return json.loads(FIXTURE.read_text())


def test_endpoints_from_the_stack_outputs(outputs):
    endpoints = Endpoints.from_outputs(outputs)
    assert endpoints.kfp == "http://127.0.0.1:8080"
    assert endpoints.pipeline_root == "minio://mlpipeline/v2/artifacts"
    assert (endpoints.minio, endpoints.registry, endpoints.kfp_version) == ("http://127.0.0.1:9000", "localhost:5001",
                                                                            "2.17.0")
    assert endpoints.run_url("abc") == "http://127.0.0.1:8080/#/runs/details/abc"
    assert endpoints.pod_logs_url("wine-x-123", "kubeflow") == \
        "http://127.0.0.1:8080/k8s/pod/logs?podname=wine-x-123&podnamespace=kubeflow"
    assert endpoints.pod_logs_url("wine-x-123", "kubeflow", "2026-11-29").endswith("&createdat=2026-11-29")


def test_credentials_never_show_in_the_repr(outputs):
    text = repr(Endpoints.from_outputs(outputs))
    assert outputs["minio_secret_key"] not in text and outputs["minio_access_key"] not in text


def test_trailing_slashes_are_dropped(outputs):
    assert Endpoints.from_outputs({**outputs, "kfp_endpoint": "http://127.0.0.1:8080/"}).kfp == "http://127.0.0.1:8080"


@pytest.mark.parametrize("missing", [("kfp_endpoint",), ("pipeline_root", "minio_secret_key")])
def test_missing_outputs_are_named(outputs, missing):
    for key in missing:
        outputs.pop(key)
    with pytest.raises(UserError) as caught:
        Endpoints.from_outputs(outputs)
    assert all(key in caught.value.problem for key in missing) and "inv up" in caught.value.fix


def test_empty_output_counts_as_missing(outputs):
    with pytest.raises(UserError, match="`kfp_version` is missing"):
        Endpoints.from_outputs({**outputs, "kfp_version": ""})


@pytest.mark.parametrize("key, value", [("kfp_endpoint", "127.0.0.1:8080"), ("minio_endpoint", "ftp://x"),
                                        ("pipeline_root", "s3://mlpipeline")])
def test_malformed_outputs_are_refused(outputs, key, value):
    with pytest.raises(UserError, match=key):
        Endpoints.from_outputs({**outputs, key: value})


def test_fixture_has_exactly_the_contract_outputs(outputs):
    """The fixture cannot drift: it carries the contract's outputs, which tests/test_contract.py checks the real
    program exports (and feeds, as exported, to `Endpoints.from_outputs`)."""
    from tests.support.program import CONTRACT_OUTPUTS

    assert sorted(outputs) == sorted(CONTRACT_OUTPUTS)
    assert set(REQUIRED_OUTPUTS) <= set(CONTRACT_OUTPUTS)
    assert isinstance(outputs["cluster"], dict) and set(outputs["cluster"]) == {"engine", "name", "context", "arch"}
