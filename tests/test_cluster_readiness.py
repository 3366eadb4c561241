"""Readiness: the pure decision, then the real polling loop (`python -m infra.readiness`) against a stand-in
Kubernetes API + KFP server on 127.0.0.1 (`readiness_api`, tests/support/kube.py: a real HTTP server, as there is no
cluster on this machine)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from infra.config import PROJECT_ROOT
from infra.readiness import __main__ as readiness_main
from infra.readiness import assess as readiness
from infra.readiness.assess import Tracker, assess
from tests.support import kube


def deployment(name: str, available: int, replicas: int = 1) -> dict:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "kubeflow"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": name}]}}},
            "status": {"availableReplicas": available}}


def pod(name: str, waiting_reason: str | None = None, labels: dict | None = None) -> dict:
    """A pod as the kubernetes client reads it (tests.support.kube), Pending while a container waits."""
    return kube.pod(name=name, owned=False, labels=labels, phase="Running" if waiting_reason is None else "Pending",
                    ready=waiting_reason is None, waiting=waiting_reason, message="back-off pulling")


ENDPOINT = "http://127.0.0.1:8080"


def test_ready_when_every_deployment_is_available_and_kfp_answers():
    verdict = assess([deployment("ml-pipeline", 1)], [pod("ml-pipeline-1")], True, ENDPOINT, Tracker(), 0, 100)
    assert verdict.done and verdict.ok and ENDPOINT in verdict.message


def test_not_ready_while_kfp_does_not_answer_even_if_pods_are():
    verdict = assess([deployment("ml-pipeline", 1)], [pod("ml-pipeline-1")], False, ENDPOINT, Tracker(), 0, 100)
    assert not verdict.done and "waiting for the KFP API" in verdict.message


def test_no_deployments_yet_is_not_ready():
    assert not assess([], [], True, ENDPOINT, Tracker(), 0, 100).done


def test_image_pull_failure_fails_early_once_it_persists_naming_pod_reason_and_fix():
    tracker, state = Tracker(), ([deployment("metadata-grpc", 0)], [pod("metadata-grpc-7f", "ImagePullBackOff")])
    first = assess(*state, False, ENDPOINT, tracker, now=10, deadline=10_000)
    assert not first.done, "a pull may still recover at first"
    later = assess(*state, False, ENDPOINT, tracker, now=10 + readiness.HOPELESS_AFTER_SECONDS, deadline=10_000)
    assert later.done and not later.ok
    assert "pod metadata-grpc-7f: ImagePullBackOff" in later.message
    assert "Deployments not available: metadata-grpc" in later.message
    assert "fix: " in later.message and "arm64" in later.message


def test_an_invalid_image_name_fails_at_first_sight():
    state = ([deployment("minio", 0)], [pod("minio-5d", "InvalidImageName")])
    verdict = assess(*state, False, ENDPOINT, Tracker(), now=10, deadline=10_000)
    assert verdict.done and not verdict.ok and "pod minio-5d: InvalidImageName" in verdict.message


def test_crash_loops_while_mysql_starts_are_waited_out_until_the_deadline():
    state = ([deployment("ml-pipeline", 0)], [pod("ml-pipeline-1", "CrashLoopBackOff")])
    tracker = Tracker()
    assert not assess(*state, False, ENDPOINT, tracker, now=0, deadline=1000).done
    assert not assess(*state, False, ENDPOINT, tracker, now=999, deadline=1000).done
    final = assess(*state, False, ENDPOINT, tracker, now=1000, deadline=1000)
    assert final.done and not final.ok and "pod ml-pipeline-1: CrashLoopBackOff" in final.message
    assert "--previous" in final.message


def test_deadline_without_pod_problems_suggests_waiting_longer():
    final = assess([deployment("ml-pipeline", 0)], [], False, ENDPOINT, Tracker(), now=5, deadline=5)
    assert final.done and not final.ok and "Run `inv up` again" in final.message


def test_pipeline_run_pods_are_not_the_platforms_problem():
    run_pod = pod("wine-xyz-123", "ImagePullBackOff", labels={"workflows.argoproj.io/workflow": "wine-xyz"})
    verdict = assess([deployment("ml-pipeline", 1)], [run_pod], True, ENDPOINT, Tracker(), 0, 100)
    assert verdict.ok


def test_loop_returns_when_kfp_answers(readiness_api):
    readiness_api.deployments, readiness_api.pods = [deployment("ml-pipeline", 1)], [pod("p")]
    readiness_api.kfp_status = 200
    assert readiness_main.main(["--endpoint", readiness_api.server.url, "--interval", "0.05", "--timeout", "5"]) == 0


@pytest.mark.parametrize("service_proxy", [False, True])
def test_loop_waits_while_the_ui_answers_but_the_api_server_is_down(readiness_api, service_proxy):
    readiness_api.deployments, readiness_api.kfp_status = [deployment("ml-pipeline", 1)], 200
    readiness_api.api_ready = False
    endpoint = "http://127.0.0.1:9" if service_proxy else readiness_api.server.url
    args = ["--endpoint", endpoint, "--interval", "0.05", "--timeout", "0.3"] + (["--service-proxy"] * service_proxy)
    assert readiness_main.main(args) == 1


def test_loop_fails_naming_the_stuck_pod(readiness_api, monkeypatch, capsys):
    monkeypatch.setattr(readiness, "HOPELESS_AFTER_SECONDS", 0.1)
    readiness_api.deployments, readiness_api.pods = [deployment("minio", 0)], [pod("minio-5c", "ErrImagePull")]
    assert readiness_main.main(["--endpoint", readiness_api.server.url, "--interval", "0.05", "--timeout", "5"]) == 1
    err = capsys.readouterr().err
    assert "pod minio-5c: ErrImagePull" in err and "fix:" in err


def test_loop_asks_through_the_api_server_for_existing_clusters(readiness_api):
    readiness_api.deployments, readiness_api.kfp_status = [deployment("ml-pipeline", 1)], 200
    unreachable = "http://127.0.0.1:9"   # nothing listens: only the service proxy can answer
    assert readiness_main.main(["--endpoint", unreachable, "--service-proxy", "--interval", "0.05",
                                "--timeout", "5"]) == 0


def test_module_runs_as_the_stack_runs_it(readiness_api):
    readiness_api.deployments, readiness_api.kfp_status = [deployment("ml-pipeline", 0)], 503
    result = subprocess.run([sys.executable, "-m", "infra.readiness", "--endpoint", readiness_api.server.url,
                             "--interval", "0.05", "--timeout", "0.5"], cwd=PROJECT_ROOT, capture_output=True,
                            text=True, timeout=60, env={**os.environ}, input=readiness_api.kubeconfig)
    assert result.returncode == 1
    assert "KFP is not ready" in result.stderr and "Deployments not available: ml-pipeline" in result.stderr


def test_the_generated_step_runs_under_sh_with_the_kubeconfig_only_on_its_stdin(readiness_api, tmp_path):
    """As pulumi-command runs it: `/bin/sh -c <text>` in the project folder, the kubeconfig on standard input."""
    from infra.components.readiness import readiness_command
    from infra.config import from_raw

    readiness_api.deployments, readiness_api.kfp_status = [deployment("ml-pipeline", 1)], 200
    kubeconfig = yaml.safe_load(kube.kubeconfig_for(readiness_api.server))
    kubeconfig["users"][0]["user"] = {"token": "s3cr3t-token"}
    port = readiness_api.server.url.rsplit(":", 1)[1]
    step = readiness_command(from_raw({"kfpPort": port, "dataDir": str(tmp_path)}))
    result = subprocess.run(["/bin/sh", "-c", step], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60,
                            env={"PATH": "/usr/bin:/bin"}, input=yaml.safe_dump(kubeconfig))
    assert result.returncode == 0, result.stderr
    assert "KFP answers" in result.stderr
    assert all("s3cr3t-token" not in text for text in (step, result.stdout, result.stderr))


@given(st.binary(max_size=64) | st.dictionaries(st.sampled_from(["apiServerReady", "commit_sha", "multi_user"]),
                                                st.none() | st.booleans() | st.text(max_size=3)).map(
                                                    lambda d: json.dumps(d).encode()))
def test_healthz_counts_as_ready_only_when_the_api_server_says_so(body):
    """Any answer body: never an exception; ready only with apiServerReady true (the UI server's answer) or, without
    that field, the API server's own answer (commit_sha)."""
    from infra.readiness.healthz import healthz_problem

    problem = healthz_problem(body)
    try:
        answer = json.loads(body)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        assert problem
    elif "apiServerReady" in answer:
        assert (problem is None) == (answer["apiServerReady"] is True)
    else:
        assert (problem is None) == ("commit_sha" in answer)
