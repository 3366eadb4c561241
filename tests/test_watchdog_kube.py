"""The watchdog's in-cluster client over real TLS: a 127.0.0.1 HTTPS stand-in for the API server with a self-signed
certificate (made with openssl), and a service-account folder holding the token and CA as Kubernetes mounts them."""
from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from watchdog.kube import ApiError, KubeApi, probe_healthz


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    if not shutil.which("openssl"):
        pytest.skip("openssl is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=kubernetes",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(folder / "key.pem"),
                    "-out", str(folder / "cert.pem")], check=True, capture_output=True)
    return folder


@pytest.fixture
def api_server(certificate):
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append((self.path, self.headers.get("Authorization")))
            data = json.dumps({"kind": "PodList", "items": [{"metadata": {"name": "p"}}]}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate / "cert.pem", certificate / "key.pem")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
    yield server.server_address[1], seen
    server.shutdown()
    server.server_close()


def service_account(tmp_path, ca_pem: str, token: str):
    folder = tmp_path / "serviceaccount"
    folder.mkdir(exist_ok=True)
    (folder / "ca.crt").write_text(ca_pem)
    (folder / "token").write_text(token + "\n")
    return folder


def test_in_cluster_client_verifies_the_ca_and_sends_the_current_token(api_server, certificate, tmp_path, monkeypatch):
    port, seen = api_server
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(port))
    account = service_account(tmp_path, (certificate / "cert.pem").read_text(), "token-1")
    api = KubeApi.in_cluster(account)
    assert api.list_pods("kubeflow") == [{"metadata": {"name": "p"}}]
    (account / "token").write_text("token-2")            # the kubelet rotates bound tokens
    api.list_pods("kubeflow")
    assert seen == [("/api/v1/namespaces/kubeflow/pods", "Bearer token-1"),
                    ("/api/v1/namespaces/kubeflow/pods", "Bearer token-2")]


def test_a_server_the_ca_does_not_vouch_for_is_refused(api_server, tmp_path, monkeypatch, certificate):
    port, seen = api_server
    other = tmp_path / "other"
    other.mkdir()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=other",
                    "-keyout", str(other / "key.pem"), "-out", str(other / "cert.pem")], check=True, capture_output=True)
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(port))
    api = KubeApi.in_cluster(service_account(tmp_path, (other / "cert.pem").read_text(), "secret-token"))
    with pytest.raises(ApiError, match="CERTIFICATE_VERIFY_FAILED"):
        api.list_pods("kubeflow")
    assert seen == []                                     # the token never left the client


def test_healthz_probe_is_false_when_nothing_answers():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert probe_healthz("127.0.0.1", port, timeout=0.5) is False
