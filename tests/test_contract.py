"""Contract: the outputs the program produces (under mocks, see test_program_runs) are exactly what `pipelines`
needs to find the stack's services, after the JSON round trip of `pulumi stack output --json --show-secrets`."""
from __future__ import annotations

import json

import pytest

from laptop.outputs import OUTPUT_NAMES, StackOutputs
from pipelines.endpoints import Endpoints
from tests.support.program import CONTRACT_OUTPUTS, SECRET_KEYS, program_run


@pytest.mark.parametrize("engine", ["kind", "k3d", "existing"])
def test_pipelines_resolve_endpoints_from_the_stack_outputs(engine, kfp_fixture):
    run, _ = program_run(engine, kfp_fixture)
    outputs = json.loads(json.dumps({k: v for k, v in run.outputs.items() if k != SECRET_KEYS}))
    assert sorted(outputs) == sorted(CONTRACT_OUTPUTS)
    endpoints = Endpoints.from_outputs(outputs)
    assert endpoints.kfp == "http://127.0.0.1:18080"
    assert endpoints.minio == "http://127.0.0.1:19000" and endpoints.minio_console == "http://127.0.0.1:19001"
    assert endpoints.registry == "localhost:15001"
    assert endpoints.pipeline_root == "minio://mlpipeline/v2/artifacts" and endpoints.kfp_version == "2.17.0"
    assert (endpoints.minio_access_key, endpoints.minio_secret_key) == (outputs["minio_access_key"],
                                                                        outputs["minio_secret_key"])
    # Every output of the contract, typed and valid (under mocks the kind/k3d create step prints no kubeconfig).
    parsed = StackOutputs.parse(outputs, [name for name in OUTPUT_NAMES if name != "kubeconfig"])
    assert sorted(OUTPUT_NAMES) == sorted(CONTRACT_OUTPUTS) and parsed.cluster.engine == engine
    assert parsed.host_ports() == {"kfp_endpoint": 18080, "minio_endpoint": 19000, "minio_console": 19001}
