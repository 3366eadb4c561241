"""The amd64 manifest lookup against a registry standing in on 127.0.0.1: the OCI distribution API with the
anonymous bearer-token challenge that ghcr.io, quay.io and Docker Hub answer with (a real server, stopped after)."""
import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from infra.components.image_digests import amd64_digest, reference, resolve_amd64
from laptop.errors import UserError

AMD64, ARM64 = "sha256:" + "a" * 64, "sha256:" + "b" * 64
INDEX = "application/vnd.oci.image.index.v1+json"
MANIFESTS = {  # what `buildx imagetools create` publishes for kfp-metadata-writer:2.17.0: an index, amd64 alone
    "kubeflow/kfp-metadata-writer:2.17.0": {"mediaType": INDEX, "manifests": [
        {"digest": AMD64, "platform": {"os": "linux", "architecture": "amd64"}}]},
    "kubeflow/kfp-api-server:2.17.0": {"mediaType": INDEX, "manifests": [
        {"digest": ARM64, "platform": {"os": "linux", "architecture": "arm64"}},
        {"digest": AMD64, "platform": {"os": "linux", "architecture": "amd64"}}]},
    "kubeflow/arm-only:1.0": {"mediaType": INDEX, "manifests": [
        {"digest": ARM64, "platform": {"os": "linux", "architecture": "arm64"}}]},
    "kubeflow/single:1.0": {"mediaType": "application/vnd.docker.distribution.manifest.v2+json", "config": {}},
}


@pytest.fixture
def registry():
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            host = f"127.0.0.1:{self.server.server_address[1]}"
            if self.path.startswith("/token"):
                return self._send(200, json.dumps({"token": "t0k"}).encode())
            if self.headers.get("Authorization") != "Bearer t0k":
                return self._send(401, b"{}", {"WWW-Authenticate": f'Bearer realm="http://{host}/token",'
                                                                   f'service="{host}",scope="repository:x:pull"'})
            name, _, tag = self.path.removeprefix("/v2/").partition("/manifests/")
            manifest = MANIFESTS.get(f"{name}:{tag}")
            if manifest is None:
                return self._send(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN"}]}')
            body = json.dumps(manifest).encode()
            return self._send(200, body, {"Docker-Content-Digest": "sha256:" + hashlib.sha256(body).hexdigest()})

        def _send(self, status, body, headers=None):
            self.send_response(status)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_an_index_without_arm64_gives_its_amd64_manifest(registry):
    assert amd64_digest(f"{registry}/kubeflow/kfp-metadata-writer:2.17.0") == AMD64
    assert amd64_digest(f"{registry}/kubeflow/kfp-api-server:2.17.0") == AMD64


def test_a_single_manifest_is_its_own_digest(registry):
    body = json.dumps(MANIFESTS["kubeflow/single:1.0"]).encode()
    assert amd64_digest(f"{registry}/kubeflow/single:1.0") == "sha256:" + hashlib.sha256(body).hexdigest()


@pytest.mark.parametrize("image", ["kubeflow/arm-only:1.0", "kubeflow/missing:1.0"])
def test_what_cannot_be_resolved_is_one_message_naming_the_image(registry, image):
    with pytest.raises(UserError) as err:
        resolve_amd64([f"{registry}/{image}"])
    assert f"{registry}/{image}" in err.value.problem and "network" in err.value.fix


def test_an_unreachable_registry_is_one_message_in_bounded_time():
    with pytest.raises(UserError, match="cannot find the amd64 manifest of 127.0.0.1:9/a/b:1"):
        resolve_amd64(["127.0.0.1:9/a/b:1"], timeout=2)


def test_references_get_docker_hubs_defaults():
    assert reference("mysql:8.4") == ("registry-1.docker.io", "library/mysql", "8.4")
    assert reference("ghcr.io/kubeflow/kfp-api-server:2.17.0") == ("ghcr.io", "kubeflow/kfp-api-server", "2.17.0")
    assert reference("localhost:5001/wine/train") == ("localhost:5001", "wine/train", "latest")
