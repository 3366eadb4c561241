"""Shared fixtures. The upstream KFP render lives in ../shared/fixtures (test data, never copied into the project)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
KFP_FIXTURE = Path(os.environ.get("KFP_LAPTOP_FIXTURE", ROOT.parent / "shared" / "fixtures" / "kfp-2.17.0"))


@pytest.fixture(scope="session")
def kfp_fixture() -> Path:
    """The upstream KFP 2.17.0 render (`kubectl kustomize` of both trees); skips when this checkout has none beside it."""
    files = [KFP_FIXTURE / "cluster-scoped-resources.yaml", KFP_FIXTURE / "platform-agnostic.yaml"]
    if not all(f.is_file() for f in files):
        pytest.skip(f"upstream KFP 2.17.0 render not found at {KFP_FIXTURE} "
                    "(expected ../shared/fixtures/kfp-2.17.0 beside the repo, or set KFP_LAPTOP_FIXTURE)")
    return KFP_FIXTURE


@pytest.fixture(scope="session")
def wine_run(tmp_path_factory):
    """THE wine run of the suite: the local runner, 2 candidates (2 loop iterations of 2 tasks each), both at once.
    Returns (summary, printed output, the folder it ran in)."""
    from pipelines import cli
    from tests.support.runs import captured

    folder = tmp_path_factory.mktemp("wine")
    with pytest.MonkeyPatch.context() as patch:
        summary, output = captured(cli.run_wine, patch, folder, local=True, neighbors="5,9", parallelism="2",
                                   test_size="0.25", random_state="42")
    return summary, output, folder


@pytest.fixture(scope="session")
def failed_wine_run(tmp_path_factory):
    """A real wine run whose data validation fails (min_class_fraction 0.5: no class is half the rows), so it stops
    after two tasks. Returns (the UserError, printed output, the folder it ran in)."""
    import contextlib
    import io

    from laptop.errors import UserError
    from pipelines.local_run import init_local, run_pipeline
    from pipelines.packaging import LOCAL
    from pipelines.wine.components import components
    from pipelines.wine.pipeline import build_wine_pipeline

    folder = tmp_path_factory.mktemp("failed")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        init_local(folder / "local_outputs")
        with contextlib.redirect_stdout(io.StringIO()) as output, pytest.raises(UserError) as caught:
            run_pipeline(build_wine_pipeline(components(LOCAL), parallelism=1),
                         {"neighbors": [3, 5], "min_class_fraction": 0.5})
    return caught.value, output.getvalue(), folder
