"""The watchdog's in-cluster client over real TLS: a 127.0.0.1 HTTPS stand-in for the API server with a self-signed
certificate (made with openssl), and a service-account folder holding the token and CA as Kubernetes mounts them."""
from __future__ import annotations

import subprocess
import sys
import time

import pytest

from kfp_watchdog.kube import ApiError, KubeApi, probe_healthz
from tests.support.kube import server_tls
from tests.support.kube_api import NS, StandIn, make_pod


@pytest.fixture
def api_server(certificate):
    """The shared stand-in API server (tests/support/kube_api.py) over HTTPS with the test certificate."""
    standin = StandIn()
    standin.pods = [{"metadata": {"name": "p"}}]
    server = standin.serve(server_tls(certificate))
    yield server.port, standin
    server.close()


def service_account(tmp_path, ca_pem: str, token: str):
    folder = tmp_path / "serviceaccount"
    folder.mkdir(exist_ok=True)
    (folder / "ca.crt").write_text(ca_pem)
    (folder / "token").write_text(token + "\n")
    return folder


def test_in_cluster_client_verifies_the_ca_and_sends_the_current_token(api_server, certificate, tmp_path, monkeypatch):
    port, standin = api_server
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(port))
    account = service_account(tmp_path, (certificate / "cert.pem").read_text(), "token-1")
    api = KubeApi.in_cluster(account)
    assert api.list_pods("kubeflow") == [{"metadata": {"name": "p"}}]
    (account / "token").write_text("token-2")            # the kubelet rotates bound tokens
    api.list_pods("kubeflow")
    assert standin.authorizations == [("/api/v1/namespaces/kubeflow/pods", "Bearer token-1"),
                                      ("/api/v1/namespaces/kubeflow/pods", "Bearer token-2")]


def test_a_server_the_ca_does_not_vouch_for_is_refused(api_server, tmp_path, monkeypatch, certificate):
    port, standin = api_server
    other = tmp_path / "other"
    other.mkdir()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=other",
                    "-keyout", str(other / "key.pem"), "-out", str(other / "cert.pem")],
                   check=True, capture_output=True)
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(port))
    api = KubeApi.in_cluster(service_account(tmp_path, (other / "cert.pem").read_text(), "secret-token"))
    with pytest.raises(ApiError, match="CERTIFICATE_VERIFY_FAILED"):
        api.list_pods("kubeflow")
    assert standin.authorizations == []                   # the token never left the client


def test_healthz_probe_is_false_when_nothing_answers():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert probe_healthz("127.0.0.1", port, timeout=0.5) is False


def test_the_deployment_as_written_runs_the_watchdog_and_it_recovers_the_controller(certificate, tmp_path):
    """The Deployment's own command, env and liveness probe, run as a process: sources from the source ConfigMap,
    no site-packages (`-S`, like the bare python image), HTTPS with the mounted CA and token. The stand-in API
    (tests/test_watchdog_faults.py) imitates a crash-looping controller in long back-off."""
    from kfp_watchdog.objects import HEARTBEAT, package_sources, watchdog_objects

    objects = {o["kind"] + "/" + o["metadata"]["name"]: o for o in watchdog_objects(NS, package_sources())}
    (container,) = objects["Deployment/kfp-watchdog"]["spec"]["template"]["spec"]["containers"]
    source = tmp_path / "opt" / "kfp_watchdog"
    source.mkdir(parents=True)
    for name, text in objects["ConfigMap/kfp-watchdog-source"]["data"].items():
        (source / name).write_text(text)

    cluster = StandIn()
    cluster.pods = [make_pod("workflow-controller", "old", crash=True)]
    server = cluster.serve(server_tls(certificate))
    account = service_account(tmp_path, (certificate / "cert.pem").read_text(), "pod-token")
    heartbeat = tmp_path / "heartbeat"
    env = {e["name"]: e["value"] for e in container["env"] if "value" in e}
    env.update(WATCHDOG_NAMESPACE=NS, PYTHONPATH=str(source.parent), WATCHDOG_HEARTBEAT=str(heartbeat),
               WATCHDOG_SERVICE_ACCOUNT=str(account), WATCHDOG_INTERVAL_SECONDS="0.05",
               KUBERNETES_SERVICE_HOST="127.0.0.1", KUBERNETES_SERVICE_PORT=str(server.port))

    def python(argv):
        return [sys.executable, "-S", *argv[1:]]   # argv[0] is the image's `python`

    # cwd: an empty folder, so `-m kfp_watchdog` cannot find this checkout's package instead of the ConfigMap's.
    process = subprocess.Popen(python(container["command"]), env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
    try:
        for _ in range(400):                                   # bounded: at most about 20 s
            # the heartbeat is written after the check that restarted: wait for both before stopping the loop
            if cluster.restarts and restart_recorded(cluster) and heartbeat.exists():
                break
            time.sleep(0.05)
    finally:
        process.terminate()
        output = process.communicate(timeout=10)[0].decode()
        server.close()
    assert cluster.restarts == 1, output
    assert [e["reason"] for e in cluster.events] == ["WatchdogRestart"]
    assert "restarting deployment workflow-controller" in output
    where = python(["python", "-c", "import kfp_watchdog.loop as m; print(m.__file__)"])
    assert f"{source}/loop.py" in subprocess.run(where, env=env, cwd=tmp_path, capture_output=True, text=True).stdout
    liveness = [str(heartbeat) if arg == HEARTBEAT else arg for arg in container["livenessProbe"]["exec"]["command"]]
    # the loop kept its heartbeat fresh
    assert subprocess.run(python(liveness), env=env, cwd=tmp_path).returncode == 0


def restart_recorded(cluster) -> bool:
    """The status ConfigMap lists the restart (what `inv doctor` reads)."""
    return '"restart"' in cluster.configmaps["kfp-watchdog-status"]["data"].get("status.json", "")
