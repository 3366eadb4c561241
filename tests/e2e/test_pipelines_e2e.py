"""End to end on a real stack: the wine pipeline on the stack's KFP (progress, result), `inv status` and
`inv logs` on that run, and a failing run explained from its pod's log through the UI server.

Opt-in: `KFP_LAPTOP_E2E=1` on a machine with the Pulumi CLI and a stack up (`inv up`; `KFP_LAPTOP_E2E_STACK` names
another stack). It uses that stack as it is and adds two runs to the experiment `kfp-laptop-e2e`.
"""
import os
import re

import pytest

from tests.e2e.support import requires

pytestmark = requires("pulumi")

EXPERIMENT = "kfp-laptop-e2e"
STACK = os.environ.get("KFP_LAPTOP_E2E_STACK")


@pytest.fixture(scope="module")
def stack_is_up():
    from laptop.stack import find_outputs

    if find_outputs(STACK) is None:
        pytest.skip("no stack is up: run `inv up` first")


def test_wine_on_the_cluster_then_status_and_logs(stack_is_up, capsys):
    from pipelines.cli import logs, run_wine, status

    summary = run_wine(target="cluster", neighbors="3,7", parallelism=2, experiment=EXPERIMENT, stack=STACK)
    out = capsys.readouterr().out
    run_id = re.search(r"run (\S+) submitted to experiment", out).group(1)
    assert "train-candidate" in out and "SUCCEEDED" in out
    assert summary is not None and summary["test_accuracy"] >= 0.9
    assert summary["hyperparameters"]["n_neighbors"] in (3, 7)
    status(run_id, stack=STACK)
    assert "select-best" in capsys.readouterr().out
    logs(run_id, task="evaluate-model", stack=STACK)
    assert "wine result:" in capsys.readouterr().out


def test_a_failing_candidate_is_explained_from_its_log(stack_is_up, capsys):
    """A candidate the CLI would refuse (more neighbours than the training data has) is submitted below the CLI's
    argument check, exactly as `run_wine` submits, so a task really fails on the cluster and is explained."""
    from kfp_laptop.errors import UserError
    from laptop.stack import stack_outputs
    from pipelines.cli import _run_on_cluster
    from pipelines.endpoints import Endpoints
    from pipelines.wine.components import components
    from pipelines.wine.pipeline import build_wine_pipeline

    endpoints = Endpoints.from_outputs(stack_outputs(STACK))
    with pytest.raises(UserError) as caught:
        _run_on_cluster(endpoints, build_wine_pipeline(components(), parallelism=1), {"neighbors": [500]}, EXPERIMENT)
    out = capsys.readouterr().out
    assert "ended FAILED" in caught.value.problem
    assert "failed task:" in out and "n_neighbors" in out
