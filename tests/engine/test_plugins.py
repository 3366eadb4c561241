"""The project-written stand-ins the engine tier uses where the module proxy serves no upstream plugin: they must
behave as upstream does where the project depends on it, or the tier would prove nothing. Driven over gRPC, as the
engine drives them; the servers bind 127.0.0.1 and are stopped by the test."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

sys.path.insert(0, str(Path(__file__).with_name("plugins")))
from serve import UNKNOWN, to_dict, to_struct  # noqa: E402

PLUGINS = Path(__file__).with_name("plugins")
LEAK = 'echo "prev=${PULUMI_COMMAND_STDOUT:-none}"'


@pytest.fixture
def command():
    proc = subprocess.Popen([sys.executable, str(PLUGINS / "command_provider.py"), "127.0.0.1:1"],
                            stdout=subprocess.PIPE, text=True)
    try:
        port = int(proc.stdout.readline())
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield provider_pb2_grpc.ResourceProviderStub(channel)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def create(stub, inputs: dict, preview: bool = False) -> dict:
    answer = stub.Create(provider_pb2.CreateRequest(urn="urn:x", properties=to_struct(inputs), preview=preview))
    return to_dict(answer.properties)


def update(stub, olds: dict, news: dict) -> dict:
    return to_dict(stub.Update(provider_pb2.UpdateRequest(urn="urn:x", olds=to_struct(olds),
                                                          news=to_struct(news))).properties)


def test_update_sees_the_previous_stdout_unless_turned_off(command):
    """Upstream v1.2.1 `local/commandOutputs.go`: PULUMI_COMMAND_STDOUT unless addPreviousOutputInEnv is false."""
    first = create(command, {"create": "echo secret-kubeconfig"})
    assert first["stdout"] == "secret-kubeconfig"
    leaked = update(command, first, {"create": "true", "update": LEAK})
    assert leaked["stdout"] == "prev=secret-kubeconfig"
    kept = update(command, first, {"create": "true", "update": LEAK, "addPreviousOutputInEnv": False})
    assert kept["stdout"] == "prev=none"


def test_a_preview_runs_nothing_and_a_trigger_change_replaces(command, tmp_path):
    marker = tmp_path / "ran"
    outputs = create(command, {"create": f"touch {marker}"}, preview=True)
    assert not marker.exists() and outputs["stdout"] == UNKNOWN
    olds = {"create": "true", "triggers": ["a"]}
    diff = command.Diff(provider_pb2.DiffRequest(urn="urn:x", olds=to_struct(olds),
                                                 news=to_struct({**olds, "triggers": ["b"]})))
    assert list(diff.replaces) == ["triggers"]
    diff = command.Diff(provider_pb2.DiffRequest(urn="urn:x", olds=to_struct(olds),
                                                 news=to_struct({**olds, "create": "false"})))
    assert list(diff.replaces) == [] and diff.changes == provider_pb2.DiffResponse.DIFF_SOME


def test_a_failing_command_fails_the_step_with_its_output(command):
    with pytest.raises(grpc.RpcError) as failed:
        create(command, {"create": "echo why >&2; exit 3"})
    assert "exit status 3" in failed.value.details() and "why" in failed.value.details()
