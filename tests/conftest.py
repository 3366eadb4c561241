"""Shared fixtures: every stand-in the tests use (HTTP servers, fake tools on PATH, the upstream render) comes from
here, built from `tests/support/`, so no test module carries its own copy or imports another's."""
from __future__ import annotations

import shutil
import sys
import tempfile
import types
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests.engine import tier_run
from tests.support.backend import backend_faithful  # noqa: F401  (shared fixture: kfp.local with backend hand-over)
from tests.support.http import Handle, StandInServer, UnhelpfulServer
from tests.support.kube import ReadinessApi, kubeconfig_for, self_signed_certificate
from tests.support.kube_api import cluster  # noqa: F401  (the watchdog's stand-in API server, as a fixture)
from tests.support.registry import RegistryApi
from tests.support.tools import FakeTools
from tests.support.upstream import KFP_FIXTURE, missing_reason

# Property tests bound their time by what they run (timeouts in the code under test), not by hypothesis' per-example
# deadline, which a loaded 2-core machine trips on its own.
settings.register_profile("kfp-laptop", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("kfp-laptop")

_tier: list[tier_run.TierRun] = []   # in the process that started the engine tier
TIER_FOLDER = "kfp_laptop_tier"      # the key of the tier's folder in an xdist worker's input
_made_folder = pytest.StashKey[Path]()


def _tier_folder(config) -> Path:
    """Where this session's engine tier runs: one folder per session, made by the process that starts the tier and
    handed to the xdist workers."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        return Path(workerinput[TIER_FOLDER])
    if _made_folder not in config.stash:
        config.stash[_made_folder] = Path(tempfile.mkdtemp(prefix="kfp-laptop-engine-tier-"))
    return config.stash[_made_folder]


def _start_tier(config, ids) -> None:
    """Start the engine tier in the background when its test was collected and can run (once per session)."""
    if not _tier and tier_run.TEST_ID in ids and tier_run.skip_reason() is None:
        _tier.append(tier_run.TierRun.start(_tier_folder(config)))


SHARED_RUNS = ("wine_run", "quickstart_run")   # session fixtures that are real local runs


@pytest.hookimpl(tryfirst=True)   # before xdist's own, which files each test under its group
def pytest_collection_modifyitems(config, items):
    """The engine tier's test last: it waits for the tier, which runs beside everything before it. Under xdist
    (`--dist loadgroup`), the tests of one shared real run go to one worker, so it runs once."""
    items.sort(key=lambda item: item.nodeid == tier_run.TEST_ID)
    for item in items:
        shared = [name for name in SHARED_RUNS if name in item.fixturenames]
        if shared and item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(shared[0]))


def pytest_collection_finish(session):
    """Without xdist this process runs the tests, so it starts the tier; under xdist the controller does (below)."""
    if not session.config.option.collectonly and not hasattr(session.config, "workerinput"):
        _start_tier(session.config, [item.nodeid for item in session.items])


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """xdist controller: each worker learns where the tier runs."""
    node.workerinput[TIER_FOLDER] = str(_tier_folder(node.config))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node, ids):
    """xdist controller: it outlives the workers, so it starts the tier, before any test is handed out."""
    _start_tier(node.config, ids)


def pytest_sessionfinish(session):
    for run in _tier:
        run.stop()
    if _made_folder in session.config.stash:
        shutil.rmtree(session.config.stash[_made_folder], ignore_errors=True)


@pytest.fixture(scope="session")
def engine_tier(pytestconfig) -> tier_run.TierRun | None:
    """The background engine tier started at collection, by this process or the xdist controller (None when it was
    not started)."""
    return _tier[0] if _tier else tier_run.TierRun.started(_tier_folder(pytestconfig))


@pytest.fixture(scope="session")
def kfp_fixture() -> Path:
    """The upstream KFP 2.17.0 render (`kubectl kustomize` of both trees); skips when this checkout has none beside
    it."""
    reason = missing_reason()
    if reason:
        pytest.skip(reason)
    return KFP_FIXTURE


@pytest.fixture
def serve():
    """`serve(handle, tls=None)` starts an HTTP stand-in on 127.0.0.1 (tests.support.http); each is stopped when the
    test ends."""
    servers: list[StandInServer] = []

    def start(handle: Handle, tls=None) -> StandInServer:
        servers.append(StandInServer(handle, tls))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


@pytest.fixture(params=["silent", "garbage"])
def unhelpful_server(request):
    """A 127.0.0.1 endpoint that accepts connections and then never answers ("silent") or answers something that
    is not HTTP ("garbage") (tests.support.http.UnhelpfulServer); yields its base URL and is stopped by the test."""
    server = UnhelpfulServer(request.param)
    yield server.url
    server.close()


@pytest.fixture
def fake_tools(tmp_path, monkeypatch) -> FakeTools:
    """Stand-in tools (tests.support.tools) in a folder that is the whole PATH, with the shell utilities their
    scripts use; `fake_tools.path()` adds the system's basic folders for a test that builds its own environment."""
    tools = FakeTools(tmp_path / "bin")
    monkeypatch.setenv("PATH", tools.path(system=False))
    return tools


@pytest.fixture
def registry(serve) -> RegistryApi:
    """The stack's registry stood in on 127.0.0.1 (tests.support.registry); `.server` is its server."""
    api = RegistryApi()
    api.server = serve(api)
    return api


@pytest.fixture(scope="session")
def certificate(tmp_path_factory) -> Path:
    """A self-signed certificate for 127.0.0.1, as an API server would present."""
    if not shutil.which("openssl"):
        pytest.skip("openssl is needed to make a test certificate")
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def readiness_api(serve, monkeypatch) -> ReadinessApi:
    """The API server and KFP that `python -m infra.readiness` polls; `.kubeconfig` points at it and is what the
    module reads on its standard input, as the stack's step hands it."""
    api = ReadinessApi()
    api.server = serve(api)
    api.kubeconfig = kubeconfig_for(api.server)
    monkeypatch.setattr(sys, "stdin", types.SimpleNamespace(read=lambda: api.kubeconfig))
    return api


@pytest.fixture(scope="session")
def wine_run(tmp_path_factory):
    """THE wine run of the suite, on the local runner with the backend's metadata hand-over: 2 candidates (2 loop
    iterations of 2 tasks each), both at once. Returns (summary, printed output, the folder it ran in)."""
    from pipelines import cli
    from tests.support.backend import hand_over_like_the_backend
    from tests.support.runs import captured

    folder = tmp_path_factory.mktemp("wine")
    with pytest.MonkeyPatch.context() as patch:
        hand_over_like_the_backend(patch)   # artifact metadata passed between tasks as the KFP backend passes it
        summary, output = captured(cli.run_wine, patch, folder, local=True, neighbors="5,9", parallelism="2",
                                   test_size="0.25", random_state="42")
    return summary, output, folder


@pytest.fixture(scope="session")
def failed_wine_run(tmp_path_factory):
    """A real wine run whose data validation fails (min_class_fraction 0.5: no class is half the rows), so it stops
    after two tasks. Returns (the UserError, printed output, the folder it ran in)."""
    import contextlib
    import io

    from kfp_laptop.errors import UserError
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
