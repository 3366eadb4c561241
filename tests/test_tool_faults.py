"""Every external binary (pulumi, docker, kind, k3d, kubectl) missing, hanging, failing, killed, or printing garbage:
each task ends in bounded time with one message naming the binary, what it did, and the fix.

The binaries are stand-ins on PATH (the shared `fake_tools` fixture): this machine has no Docker, kind, k3d or
pulumi, and a real one cannot be made to hang or die on cue. Time bounds are shortened with monkeypatch, and each
test is bounded by a subprocess-free deadline: a hang fails the run through the stand-in's own `sleep 60`."""
from __future__ import annotations

import json

import pytest

import infra.tools
from infra.config import from_raw
from kfp_laptop.errors import UserError
from laptop import pulumi_cli, stack
from laptop.checks import FAIL, OK, WARN
from laptop.doctor_host import docker_check, tool_check
from laptop.host import docker_arch, require_docker_running
from laptop.outputs import ClusterOutput

TOOLS = ("docker", "kind", "k3d", "kubectl", "pulumi")
BEHAVIOURS = {
    "missing": (None, "not installed"),
    "hangs": ("exec sleep 60", "did not answer within 0.5 s and was stopped"),
    "fails": ("echo 'fatal: broken install' >&2; exit 3", "failed (exit 3): fatal: broken install"),
    "is killed": ("kill -KILL $$", "was killed (SIGKILL)"),
    "prints garbage": ("echo '<<<%%%>>>'", "printed no version (got '<<<%%%>>>')"),
    "cannot run": ("", "cannot be run"),
}


@pytest.fixture(autouse=True)
def quick(monkeypatch):
    monkeypatch.setattr(infra.tools, "QUICK_SECONDS", 0.5)


def install(fake_tools, tool: str, behaviour: str) -> None:
    body = BEHAVIOURS[behaviour][0]
    if behaviour == "cannot run":
        path = fake_tools.add(tool)
        path.write_bytes(b"\x7fELF\x02\x01\x01garbage")   # a binary for no platform at all
    elif body is not None:
        fake_tools.add(tool, body)


@pytest.mark.parametrize("behaviour", BEHAVIOURS)
@pytest.mark.parametrize("tool", TOOLS)
def test_doctor_names_each_tool_and_what_it_did(fake_tools, tool, behaviour):
    install(fake_tools, tool, behaviour)
    check = tool_check(tool, needed=True)
    assert check.status == FAIL and check.name == tool
    assert BEHAVIOURS[behaviour][1] in check.detail
    assert check.fix, "every failed check carries its fix"
    if behaviour not in ("missing", "prints garbage"):
        assert check.detail.startswith(f"`{tool}"), "the message starts with the command that misbehaved"


@pytest.mark.parametrize("tool", TOOLS)
def test_a_tool_the_engine_does_not_need_only_warns(fake_tools, tool):
    install(fake_tools, tool, "fails")
    assert tool_check(tool, needed=False).status == WARN


@pytest.mark.parametrize("stdout", ["", "not json", "[1, 2]", '"a string"', '{"ServerErrors": ["Cannot connect"]}',
                                    '{"NCPU": "many", "MemTotal": null, "ServerVersion": "27"}'])
def test_docker_info_that_is_not_a_running_engines_json_is_a_finding(fake_tools, stdout):
    fake_tools.prints("docker", stdout)
    check, info = docker_check()
    if stdout.startswith('{"NCPU"'):   # JSON of a running engine with odd values: resources read as unknown
        assert check.status == FAIL and "0.0 GiB memory, 0 CPUs" in check.detail and info is not None
        return
    assert check.status == FAIL and info is None and check.fix
    with pytest.raises(UserError):
        require_docker_running()
    assert docker_arch() is None


@pytest.mark.parametrize("behaviour", ["hangs", "is killed", "fails"])
def test_docker_that_misbehaves_stops_inv_up_with_one_message(fake_tools, behaviour):
    install(fake_tools, "docker", behaviour)
    with pytest.raises(UserError) as err:
        require_docker_running()
    assert err.value.problem.startswith("Docker is installed but not running: `docker info` ")
    assert BEHAVIOURS[behaviour][1] in err.value.problem and "colima start" in err.value.fix


def test_docker_that_answers_is_read_once_for_its_arch(fake_tools):
    fake_tools.prints("docker", json.dumps({"ServerVersion": "27.3.1", "Architecture": "aarch64"}))
    assert docker_arch() == "arm64" and require_docker_running()["ServerVersion"] == "27.3.1"


@pytest.mark.parametrize("behaviour", ["missing", "hangs", "fails", "is killed", "prints garbage", "cannot run"])
def test_pulumi_version_is_checked_before_the_automation_api_uses_it(fake_tools, behaviour):
    install(fake_tools, "pulumi", behaviour)
    with pytest.raises(UserError) as err:
        pulumi_cli.pulumi_version()
    assert err.value.problem.startswith("`pulumi")
    assert BEHAVIOURS[behaviour][1] in err.value.problem and "get.pulumi.com" in err.value.fix


def test_a_pulumi_query_that_hangs_is_stopped_and_named(fake_tools, monkeypatch, tmp_path):
    """The real automation API drives the stand-in: it answers its version, then never answers `stack select`."""
    fake_tools.add("pulumi", '[ "$1" = version ] && { echo v3.200.0; exit 0; }; exec sleep 60')
    monkeypatch.setattr(pulumi_cli, "QUERY_SECONDS", 0.5)
    monkeypatch.setenv("KFP_LAPTOP_HOME", str(tmp_path / "home"))
    with pytest.raises(UserError) as err:
        stack.find_outputs("alice")
    assert err.value.problem == ("`pulumi stack select` of stack `alice` failed: `pulumi stack select` did not "
                                 "answer within 0.5 s and was stopped")


@pytest.mark.parametrize("engine", ["kind", "k3d"])
def test_an_engine_that_hangs_when_asked_for_its_cluster_is_stopped_and_named(fake_tools, engine, tmp_path):
    fake_tools.hangs(engine)
    config = from_raw({"engine": engine, "dataDir": str(tmp_path / "data")}, machine="x86_64")
    with pytest.raises(UserError) as err:
        stack._require_cluster(config, ClusterOutput(engine, "kfp", f"{engine}-kfp", "amd64"), "alice")
    assert err.value.problem == (f"`{engine}` did not answer within 0.5 s when asked whether cluster `kfp` exists, "
                                 "and was stopped")


def test_a_tool_that_answers_reports_its_version(fake_tools):
    fake_tools.prints("kind", "kind v0.29.0 go1.24.2 linux/amd64")
    assert tool_check("kind", needed=True).status == OK
    assert tool_check("kind", needed=True).detail == "kind v0.29.0 go1.24.2 linux/amd64"


def test_a_pulumi_that_prints_garbage_instead_of_json_is_named(fake_tools, monkeypatch, tmp_path):
    """The real automation API drives the stand-in: `stack select` works, `stack output --json` prints garbage."""
    fake_tools.add("pulumi", '[ "$1" = version ] && { echo v3.200.0; exit 0; }; '
                         'case "$*" in *"stack output"*) echo "<html>proxy error</html>";; esac; exit 0')
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "stand-in")
    with pytest.raises(UserError) as err:
        stack.find_outputs("alice")
    assert err.value.problem == ("could not read the outputs of stack `alice`: `pulumi stack output` printed "
                                 "something other than JSON ('<html>proxy error</html>'): reinstall the Pulumi CLI")
