"""Readiness: the pure decision, then the real polling loop (`python -m infra.readiness`) against a stand-in
Kubernetes API + KFP server on 127.0.0.1 (a real HTTP server: no cluster on this machine)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from urllib.parse import unquote
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

from infra.config import PROJECT_ROOT
from infra.readiness import __main__ as readiness_main
from infra.readiness import assess as readiness
from infra.readiness.assess import Tracker, assess


def deployment(name: str, available: int, replicas: int = 1) -> dict:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "kubeflow"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": name}]}}},
            "status": {"availableReplicas": available}}


def pod(name: str, waiting_reason: str | None = None, labels: dict | None = None) -> dict:
    ready = waiting_reason is None
    state = {"running": {}} if ready else {"waiting": {"reason": waiting_reason, "message": "back-off pulling"}}
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "kubeflow", "labels": labels or {}},
            "spec": {"containers": [{"name": "main", "image": "example/img:1"}]},
            "status": {"phase": "Running" if ready else "Pending",
                       "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
                       "containerStatuses": [{"name": "main", "image": "example/img:1", "imageID": "", "ready": ready,
                                              "restartCount": 0, "state": state}]}}


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


class StandIn:
    """A Kubernetes API (Deployments, Pods, service proxy) and KFP's healthz, from mutable state."""

    def __init__(self):
        self.deployments, self.pods, self.kfp_status = [], [], 503
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                path = unquote(self.path.split("?")[0])   # the API server routes on the decoded path
                if path == "/apis/apps/v1/namespaces/kubeflow/deployments":
                    self._json(200, {"kind": "DeploymentList", "apiVersion": "apps/v1", "metadata": {},
                                     "items": stand_in.deployments})
                elif path == "/api/v1/namespaces/kubeflow/pods":
                    self._json(200, {"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": stand_in.pods})
                elif path in ("/apis/v2beta1/healthz",
                              "/api/v1/namespaces/kubeflow/services/ml-pipeline-ui:80/proxy/apis/v2beta1/healthz"):
                    self._json(stand_in.kfp_status, {"commit_sha": "stand-in"})
                else:
                    self._json(404, {})

            def _json(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def kubeconfig(self) -> str:
        return yaml.safe_dump({"apiVersion": "v1", "kind": "Config", "current-context": "stand-in",
                               "clusters": [{"name": "c", "cluster": {"server": self.url}}],
                               "users": [{"name": "u", "user": {}}],
                               "contexts": [{"name": "stand-in", "context": {"cluster": "c", "user": "u"}}]})


@pytest.fixture
def stand_in(monkeypatch):
    server = StandIn()
    monkeypatch.setenv("KFP_LAPTOP_KUBECONFIG", server.kubeconfig())
    yield server
    server.server.shutdown()


def test_loop_returns_when_kfp_answers(stand_in):
    stand_in.deployments, stand_in.pods, stand_in.kfp_status = [deployment("ml-pipeline", 1)], [pod("p")], 200
    assert readiness_main.main(["--endpoint", stand_in.url, "--interval", "0.05", "--timeout", "5"]) == 0


def test_loop_fails_naming_the_stuck_pod(stand_in, monkeypatch, capsys):
    monkeypatch.setattr(readiness, "HOPELESS_AFTER_SECONDS", 0.1)
    stand_in.deployments, stand_in.pods = [deployment("minio", 0)], [pod("minio-5c", "ErrImagePull")]
    assert readiness_main.main(["--endpoint", stand_in.url, "--interval", "0.05", "--timeout", "5"]) == 1
    err = capsys.readouterr().err
    assert "pod minio-5c: ErrImagePull" in err and "fix:" in err


def test_loop_asks_through_the_api_server_for_existing_clusters(stand_in):
    stand_in.deployments, stand_in.kfp_status = [deployment("ml-pipeline", 1)], 200
    unreachable = "http://127.0.0.1:9"   # nothing listens: only the service proxy can answer
    assert readiness_main.main(["--endpoint", unreachable, "--service-proxy", "--interval", "0.05",
                                "--timeout", "5"]) == 0


def test_module_runs_as_the_stack_runs_it(stand_in):
    stand_in.deployments, stand_in.kfp_status = [deployment("ml-pipeline", 0)], 503
    result = subprocess.run([sys.executable, "-m", "infra.readiness", "--endpoint", stand_in.url,
                             "--interval", "0.05", "--timeout", "0.5"], cwd=PROJECT_ROOT, capture_output=True,
                            text=True, timeout=60, env={**os.environ})
    assert result.returncode == 1
    assert "KFP is not ready" in result.stderr and "Deployments not available: ml-pipeline" in result.stderr


def test_the_generated_step_runs_under_sh_with_the_kubeconfig_only_in_its_environment(stand_in, tmp_path):
    """As pulumi-command runs it: `/bin/sh -c <text>` in the project folder, the kubeconfig in the environment."""
    from infra.components.readiness import readiness_command
    from infra.config import from_raw

    stand_in.deployments, stand_in.kfp_status = [deployment("ml-pipeline", 1)], 200
    kubeconfig = yaml.safe_load(stand_in.kubeconfig())
    kubeconfig["users"][0]["user"] = {"token": "s3cr3t-token"}
    port = stand_in.url.rsplit(":", 1)[1]
    step = readiness_command(from_raw({"kfpPort": port, "dataDir": str(tmp_path)}))
    result = subprocess.run(["/bin/sh", "-c", step], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60,
                            env={"PATH": "/usr/bin:/bin", "KFP_LAPTOP_KUBECONFIG": yaml.safe_dump(kubeconfig)})
    assert result.returncode == 0, result.stderr
    assert "KFP answers" in result.stderr
    assert all("s3cr3t-token" not in text for text in (step, result.stdout, result.stderr))
