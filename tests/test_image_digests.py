"""The amd64 manifest lookup against a registry standing in on 127.0.0.1: the OCI distribution API with the
anonymous bearer-token challenge that ghcr.io, quay.io and Docker Hub answer with (a real server, stopped after)."""
import hashlib
import json

import pytest

from infra.components.image_digests import amd64_digest, reference, resolve_amd64
from kfp_laptop.errors import UserError
from tests.support.http import Reply, Request

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


def manifests_api(request: Request) -> Reply:
    """The registry's manifest API: a token challenge first, then the manifests above by tag."""
    host = request.headers["Host"]
    if request.path.startswith("/token"):
        return Reply(200, {"token": "t0k"})
    if request.headers.get("Authorization") != "Bearer t0k":
        return Reply(401, {}, headers={"WWW-Authenticate": f'Bearer realm="http://{host}/token",'
                                                           f'service="{host}",scope="repository:x:pull"'})
    name, _, tag = request.path.removeprefix("/v2/").partition("/manifests/")
    manifest = MANIFESTS.get(f"{name}:{tag}")
    if manifest is None:
        return Reply(404, {"errors": [{"code": "MANIFEST_UNKNOWN"}]})
    body = json.dumps(manifest).encode()
    return Reply(200, body, headers={"Docker-Content-Digest": "sha256:" + hashlib.sha256(body).hexdigest()})


@pytest.fixture
def registry(serve):
    return f"127.0.0.1:{serve(manifests_api).port}"


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
