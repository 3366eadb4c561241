"""The whole program under mocks, once per engine (shared, cached: each run renders all of KFP for real), and the
contract's outputs that the test modules check it against.

Mocks stand in for the Pulumi engine and the providers only (no Pulumi CLI, Docker or cluster here): KFP's YAML is
decoded for real and the kind/k3d steps are checked by parsing what they would run.
"""
from __future__ import annotations

import asyncio
import functools
import tempfile
from pathlib import Path

import pulumi
import pytest
import yaml

from tests.support.pulumi_harness import ProgramRun, run_program

SECRET_KEYS = "__secret_keys__"
# Non-default ports everywhere, so a test can tell a configured number from a default (strings, as the engine passes).
PORTS = {"kfpPort": "18080", "minioPort": "19000", "minioConsolePort": "19001", "registryPort": "15001"}
CONTRACT_OUTPUTS = ("kfp_endpoint", "kfp_version", "minio_endpoint", "minio_console", "minio_access_key",
                    "minio_secret_key", "pipeline_root", "registry", "cluster", "kubeconfig")


def existing_kubeconfig(folder: Path) -> Path:
    """A kubeconfig with two contexts, as a team laptop has (credentials are placeholders, nothing connects)."""
    doc = {"apiVersion": "v1", "kind": "Config", "current-context": "team",
           "clusters": [{"name": "team-cluster", "cluster": {"server": "https://team.example:6443"}},
                        {"name": "other-cluster", "cluster": {"server": "https://other.example:6443"}}],
           "users": [{"name": "me", "user": {"token": "placeholder"}}, {"name": "other", "user": {"token": "x"}}],
           "contexts": [{"name": "team", "context": {"cluster": "team-cluster", "user": "me"}},
                        {"name": "other", "context": {"cluster": "other-cluster", "user": "other"}}]}
    path = folder / "kubeconfig"
    path.write_text(yaml.safe_dump(doc))
    return path


def _recording_secrets(main):
    """Wrap the program's main so the run also reports which outputs are secret."""
    def wrapped():
        outputs = main()

        async def secret_keys():
            return sorted([key for key, value in outputs.items() if await pulumi.Output.from_input(value).is_secret()])
        return {**outputs, SECRET_KEYS: pulumi.Output.from_input(asyncio.ensure_future(secret_keys()))}
    return wrapped


def config_for(engine: str, manifests: Path, data_dir: Path, **extra) -> dict:
    return {"engine": engine, "kfpManifests": str(manifests), "dataDir": str(data_dir), **PORTS, **extra}


@functools.cache
def program_run(engine: str, manifests: Path) -> tuple[ProgramRun, dict]:
    """One full run of `infra.program.main` for this engine (KFP from the `kfp_fixture` render); returns the run and
    the config it used. Cached: the test modules share three runs."""
    from infra.program import main

    folder = Path(tempfile.mkdtemp(prefix=f"kfp-laptop-{engine}-"))
    config = config_for(engine, manifests, folder / "data")
    with pytest.MonkeyPatch.context() as patch:   # cached across tests, so not the function-scoped fixture
        patch.setenv("KUBECONFIG", str(existing_kubeconfig(folder)))
        run = run_program(config, main=_recording_secrets(main))
    if run.error:
        raise run.error
    return run, config


def commands(run: ProgramRun) -> dict[str, dict]:
    """The program's pulumi-command steps by name, with their inputs."""
    return {r.name: r.inputs for r in run.of_type("command:local:Command")}
