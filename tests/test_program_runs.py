"""The outputs of the whole program under mocks, once per engine (`program_run`, tests/support/program.py)."""
from __future__ import annotations

import pytest

from tests.support.program import CONTRACT_OUTPUTS, SECRET_KEYS, program_run


@pytest.mark.parametrize("engine", ["kind", "k3d", "existing"])
def test_outputs_carry_every_contract_key_with_its_shape(engine, kfp_fixture):
    run, config = program_run(engine, kfp_fixture)
    outputs = run.outputs
    assert set(CONTRACT_OUTPUTS) <= set(outputs)
    assert outputs["kfp_endpoint"] == "http://127.0.0.1:18080"
    assert outputs["minio_endpoint"] == "http://127.0.0.1:19000"
    assert outputs["minio_console"] == "http://127.0.0.1:19001"
    assert outputs["registry"] == "localhost:15001"
    assert outputs["kfp_version"] == "2.17.0"
    assert outputs["pipeline_root"] == "minio://mlpipeline/v2/artifacts"
    assert set(outputs["cluster"]) == {"engine", "name", "context", "arch"}
    assert outputs["cluster"]["engine"] == engine and outputs["cluster"]["arch"] in ("amd64", "arm64")
    assert outputs["minio_access_key"] and outputs["minio_secret_key"]
    assert outputs["minio_access_key"] != outputs["minio_secret_key"]


@pytest.mark.parametrize("engine", ["kind", "k3d", "existing"])
def test_credentials_and_kubeconfig_are_secret_and_nothing_else_is(engine, kfp_fixture):
    run, _ = program_run(engine, kfp_fixture)
    assert run.outputs[SECRET_KEYS] == ["kubeconfig", "minio_access_key", "minio_secret_key"]
