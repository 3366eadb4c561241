"""`inv doctor`: pure evaluation of what it reads, and the host checks run for real where this machine allows
(a real listening socket, real subprocesses, a real local HTTP server). Docker's engine does not run here, so
`docker info` / `docker run` answers are given as the CompletedProcess Docker would return (said per test)."""
from __future__ import annotations

import json
import socket
import subprocess

import pytest

from infra.tools import run_tool
from kfp_laptop.errors import UserError, exit_on_user_error
from kfp_watchdog.objects import IMAGE
from laptop.checks import FAIL, OK, WARN, Check
from laptop.doctor_cluster import deployment_checks, endpoint_checks, watchdog_check
from laptop.doctor_host import GIB, docker_check, docker_resources, emulation_check, port_check, tool_check
from laptop.outputs import StackOutputs
from tests.support.http import Reply
from tests.support.kube import pod
from tests.support.outputs import FIXTURE_OUTPUTS

NOW = 1_800_000_000.0
FIXTURE = FIXTURE_OUTPUTS


def outputs_at(base: str, engine: str = "kind", kubeconfig: str = FIXTURE["kubeconfig"]) -> StackOutputs:
    """The fixture's stack outputs with every endpoint at `base` (host:port)."""
    return StackOutputs.parse({**FIXTURE, "kfp_endpoint": f"http://{base}", "minio_endpoint": f"http://{base}",
                               "minio_console": f"http://{base}", "registry": base, "kubeconfig": kubeconfig,
                               "cluster": {**FIXTURE["cluster"], "engine": engine}})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_port_check_sees_a_real_listener():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        taken = listener.getsockname()[1]
        check = port_check("kfpPort", taken)
        assert check.status == FAIL and f"lsof -nP -iTCP:{taken}" in check.fix and "kfp-laptop:kfpPort" in check.fix
    assert port_check("kfpPort", taken).status == OK


def test_tool_check_runs_the_real_binary():
    check = tool_check("kubectl", needed=True)      # kubectl is installed on this machine
    assert check.status == OK and "Client Version" in check.detail


def test_a_missing_tool_fails_only_when_the_engine_needs_it():
    def missing(argv):   # a real lookup that fails
        return run_tool([f"kfp-laptop-missing-{argv[0]}", *argv[1:]])
    needed = tool_check("kind", needed=True, run=missing)
    assert needed.status == FAIL and "brew install kind" in needed.fix
    assert tool_check("k3d", needed=False, run=missing).status == OK


def test_run_command_turns_a_hang_into_a_result():
    result = run_tool(["sleep", "5"], timeout=0.2)
    assert result.returncode == 124 and "did not answer" in result.stderr


@pytest.mark.parametrize("memory_gib,cpus,status",
                         [(4, 8, FAIL), (16, 1, FAIL), (7, 4, WARN), (8, 2, WARN), (16, 8, OK)])
def test_docker_resources(memory_gib, cpus, status):
    check = docker_resources({"MemTotal": memory_gib * GIB, "NCPU": cpus, "ServerVersion": "28.1",
                              "Architecture": "aarch64"})
    assert check.status == status and (status == OK or "Settings > Resources" in check.fix)


def docker_answer(code: int, stdout: str = "", stderr: str = ""):
    """What the docker CLI returns (no Docker engine on this machine)."""
    return lambda argv: subprocess.CompletedProcess(argv, code, stdout, stderr)


def test_docker_check_reads_docker_info():
    info = {"MemTotal": 8 * GIB, "NCPU": 4, "ServerVersion": "28.1", "Architecture": "x86_64"}
    check, seen = docker_check(docker_answer(0, json.dumps(info)))
    assert check.status == OK and seen == info and "8.0 GiB" in check.detail
    check, seen = docker_check(docker_answer(1, stderr="Cannot connect to the Docker daemon"))
    assert check.status == FAIL and seen is None and "colima start" in check.fix


@pytest.mark.parametrize("answer,status", [(docker_answer(0, "x86_64\n"), OK), (docker_answer(0, "aarch64\n"), FAIL),
                                           (docker_answer(1, stderr="exec format error"), FAIL)])
def test_emulation_check(answer, status):
    check = emulation_check(IMAGE, answer)
    assert check.status == status and (status == OK or "Rosetta" in check.fix)


def deployment(name, ready, wanted=1):
    return {"metadata": {"name": name}, "spec": {"replicas": wanted}, "status": {"readyReplicas": ready}}


def test_deployment_checks_give_state_reason_and_last_failure():
    oom = {"reason": "OOMKilled", "exitCode": 137, "finishedAt": "2026-11-28T22:00:00Z"}
    checks = {c.name: c for c in deployment_checks(
        [deployment("workflow-controller", 1), deployment("ml-pipeline", 0), deployment("mysql", 0)],
        [pod("workflow-controller", last=oom, restarts=2),
         pod("ml-pipeline", waiting="ImagePullBackOff", ready=False)])}
    assert checks["deploy/workflow-controller"].status == OK
    controller = checks["deploy/workflow-controller"]
    assert "2 restarts, last OOMKilled (exit 137) at 2026-11-28T22:00:00Z" in controller.detail
    assert checks["deploy/ml-pipeline"].status == FAIL and "ImagePullBackOff" in checks["deploy/ml-pipeline"].detail
    assert "image" in checks["deploy/ml-pipeline"].fix
    mysql = checks["deploy/mysql"]
    assert mysql.status == FAIL and mysql.fix == "kubectl -n kubeflow describe deploy/mysql"


def status_json(age: float, actions=(), ok=True, api_errors=0, failed=None):
    from datetime import datetime, timezone

    last = datetime.fromtimestamp(NOW - age, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return json.dumps({"lastCheck": last, "ok": ok, "error": None if ok else "HTTP 503", "problems": [],
                       "actions": list(actions), "apiErrors": api_errors, "failedRestarts": failed or {}})


RESTART = {"at": "2026-11-29T00:00:00Z", "action": "restart", "deployment": "workflow-controller",
           "reason": "CrashLoopBackOff"}
LIMIT = {"at": "2026-11-29T00:10:00Z", "action": "event", "object": "Deployment/workflow-controller",
         "reason": "WatchdogRestartLimit"}


@pytest.mark.parametrize("status,expected", [
    (None, FAIL), (status_json(20), OK), (status_json(20, [RESTART]), OK), (status_json(3600), FAIL),
    (status_json(20, [RESTART, LIMIT]), FAIL), (status_json(20, ok=False, api_errors=2), WARN),
    (status_json(20, failed={"workflow-controller": {"attempts": 2, "error": "HTTP 403"}}), WARN),
    ("{not json", WARN), ('{"ok": true}', WARN), ('["a list"]', WARN)],
    ids=["never checked", "fresh", "fresh with a restart", "stale", "gave up", "API errors", "restart refused",
         "not JSON", "no lastCheck", "not a record"])
def test_watchdog_check(status, expected):
    check = watchdog_check(status, NOW)
    assert check.status == expected
    if status and "restart" in status:
        assert "restart workflow-controller (CrashLoopBackOff)" in check.detail
    assert expected == OK or "kubectl" in check.fix


class EndpointsApi:
    """MinIO answers 503; KFP's healthz answers 200 as the UI server does, its body saying whether the API server
    behind it is ready (frontend/server/handlers/healthz.ts)."""

    api_ready = True

    def __call__(self, request):
        if "healthz" in request.path:
            return Reply(200, {"apiServerReady": self.api_ready})
        return Reply(503 if request.path.startswith("/minio") else 200)


@pytest.fixture
def endpoints_api(serve):
    """A real server on 127.0.0.1 (tests.support.http) for every endpoint the stack publishes; `.port` is its port."""
    api = EndpointsApi()
    api.port = serve(api).port
    return api


def test_endpoint_checks_against_a_real_server(endpoints_api):
    checks = {c.name: c for c in endpoint_checks(outputs_at(f"127.0.0.1:{endpoints_api.port}"))}
    assert checks["endpoint KFP API"].status == OK and checks["endpoint registry"].status == OK
    assert checks["endpoint MinIO"].status == FAIL and "HTTP 503" in checks["endpoint MinIO"].detail


def test_kfp_api_down_behind_a_healthy_ui_server_fails_the_check(endpoints_api):
    endpoints_api.api_ready = False
    check = {c.name: c for c in endpoint_checks(outputs_at(f"127.0.0.1:{endpoints_api.port}"))}["endpoint KFP API"]
    assert check.status == FAIL and "apiServerReady: false" in check.detail


def test_endpoint_nobody_listens_on_suggests_port_forward_for_existing_clusters():
    checks = endpoint_checks(outputs_at(f"127.0.0.1:{free_port()}", engine="existing"))
    assert all(c.status == FAIL and "no answer" in c.detail and "inv port-forward" in c.fix for c in checks)


def test_an_unreachable_cluster_is_a_finding_not_a_crash():
    from laptop.doctor import cluster_checks

    port = free_port()
    kubeconfig = f"""apiVersion: v1
kind: Config
clusters: [{{name: c, cluster: {{server: "https://127.0.0.1:{port}"}}}}]
users: [{{name: u, user: {{token: t}}}}]
contexts: [{{name: kind-kfp, context: {{cluster: c, user: u}}}}]
current-context: kind-kfp
"""
    checks = cluster_checks(outputs_at(f"127.0.0.1:{port}", kubeconfig=kubeconfig), NOW)
    assert checks[0].name == "cluster" and checks[0].status == FAIL and "cannot read the cluster" in checks[0].detail
    assert "start Docker" in checks[0].fix


@pytest.mark.parametrize("kubeconfig", ["clusters: [unclosed", "{}"])
def test_an_unusable_kubeconfig_output_is_a_finding_not_a_crash(kubeconfig):
    from laptop.doctor import cluster_checks

    checks = cluster_checks(outputs_at(f"127.0.0.1:{free_port()}", kubeconfig=kubeconfig), NOW)
    assert checks[0].name == "cluster" and checks[0].status == FAIL and "kubeconfig is unusable" in checks[0].detail
    assert "inv down" in checks[0].fix


def test_stack_config_reads_the_stack_file(tmp_path):
    from laptop.doctor import stack_config

    (tmp_path / "Pulumi.me.yaml").write_text("config:\n  kfp-laptop:kfpPort: 18080\n  kfp-laptop:engine: k3d\n")
    config, problem = stack_config("me", root=tmp_path)
    assert problem is None and config.kfp_port == 18080 and config.engine == "k3d"
    (tmp_path / "Pulumi.bad.yaml").write_text("config:\n  kfp-laptop:kfpPort: 80000\n")
    config, problem = stack_config("bad", root=tmp_path)
    assert config is None and problem.status == FAIL and "kfpPort" in problem.detail


@pytest.mark.parametrize("text, says", [("config:\n  kfp-laptop:arch: [amd64\n", "cannot read Pulumi.me.yaml (line 3)"),
                                        ("- a list\n", "not a stack settings file"),
                                        ("config: [kfp-laptop:arch]\n", "not a stack settings file")])
def test_a_broken_stack_file_is_a_failed_check_not_a_crash(tmp_path, text, says):
    from laptop.doctor import stack_config

    (tmp_path / "Pulumi.me.yaml").write_text(text)
    config, problem = stack_config("me", root=tmp_path)
    assert config is None and problem.status == FAIL and says in problem.detail
    assert str(tmp_path / "Pulumi.me.yaml") in problem.fix


def test_main_exits_non_zero_with_one_message_when_anything_fails(monkeypatch, capsys):
    """find_outputs is replaced (no pulumi here); host checks are given so the outcome does not depend on this
    machine."""
    import laptop.doctor as doctor
    import laptop.stack

    monkeypatch.setattr(laptop.stack, "find_outputs", lambda stack: None)
    monkeypatch.setattr(doctor, "host_checks",
                        lambda config, up: [Check("kind", FAIL, "not installed", "brew install kind")])
    with pytest.raises(SystemExit) as exit_:
        exit_on_user_error(doctor.main)(stack="me")
    assert exit_.value.code == 1
    out, err = capsys.readouterr()
    assert "brew install kind" in out and "1 problem(s) found: kind" in err and "Traceback" not in err

    monkeypatch.setattr(doctor, "host_checks", lambda config, up: [Check("kind", OK, "kind v0.27.0")])
    doctor.main(stack="me")                 # nothing wrong: returns normally
    with pytest.raises(UserError):
        monkeypatch.setattr(doctor, "host_checks", lambda config, up: [Check("docker", FAIL, "down", "start it")])
        doctor.main(stack="me")
