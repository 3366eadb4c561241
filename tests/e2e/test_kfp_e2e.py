"""End to end on this laptop's stack: KFP runs on MinIO, not SeaweedFS; credentials are the generated ones; a run's
artifacts land in MinIO under the pipeline root; every container is memory-limited; arm64 runs the substituted image.

Opt-in (needs Docker, kind, kubectl, pulumi and a few minutes): `KFP_LAPTOP_E2E=1 inv test -k kfp_e2e`.
Uses this laptop's stack (creates it with `inv up` when none is up).
"""
from __future__ import annotations

from urllib.parse import urlparse

import pytest

from infra import topology as t
from tests.e2e.support import requires
from tests.support.manifests import UPSTREAM_DEFAULT_CREDENTIALS

pytestmark = requires("docker", "kind", "kubectl", "pulumi")


@pytest.fixture(scope="module")
def stack(laptop_stack):
    return laptop_stack


def _minio(stack, access_key=None, secret_key=None):
    from minio import Minio

    endpoint = urlparse(stack["minio_endpoint"])
    return Minio(endpoint.netloc, access_key=access_key or stack["minio_access_key"],
                 secret_key=secret_key or stack["minio_secret_key"], secure=endpoint.scheme == "https")


@pytest.fixture(scope="module")
def pods(kube_api_client):
    from kubernetes import client

    api = client.CoreV1Api(kube_api_client)
    return api.list_namespaced_pod(t.NAMESPACE).items


def test_minio_answers_on_localhost_with_the_generated_credentials_only(stack):
    from minio.error import S3Error

    assert urlparse(stack["minio_endpoint"]).hostname == "127.0.0.1"
    assert _minio(stack).bucket_exists(t.ARTIFACT_BUCKET)
    with pytest.raises(S3Error):
        _minio(stack, *UPSTREAM_DEFAULT_CREDENTIALS.values()).bucket_exists(t.ARTIFACT_BUCKET)


def test_a_runs_artifacts_land_in_minio_under_the_pipeline_root(stack):
    from pipelines.cli import run_wine

    prefix = t.PIPELINE_ROOT.split(f"{t.ARTIFACT_BUCKET}/", 1)[1]
    before = {o.object_name for o in _minio(stack).list_objects(t.ARTIFACT_BUCKET, prefix=prefix, recursive=True)}
    run_wine(target="cluster", neighbors="3,5", parallelism=2)      # writes datasets and models
    after = {o.object_name for o in _minio(stack).list_objects(t.ARTIFACT_BUCKET, prefix=prefix, recursive=True)}
    assert after - before, f"no new object under {t.PIPELINE_ROOT}"


def test_no_seaweedfs_and_every_container_is_memory_limited(pods):
    images = {c.image for pod in pods for c in pod.spec.containers}
    assert not [i for i in images if "seaweedfs" in i]
    assert any("/minio/minio:" in i or i.startswith("minio/") for i in images), images
    unlimited = [f"{pod.metadata.name}/{c.name}" for pod in pods for c in pod.spec.containers
                 if not (c.resources and c.resources.limits and "memory" in c.resources.limits)]
    assert unlimited == []


def test_arm64_runs_the_substituted_metadata_store(stack, pods):
    if stack["cluster"]["arch"] != "arm64":
        pytest.skip("the substitution applies to arm64 clusters only")
    grpc = [c.image for pod in pods for c in pod.spec.containers if pod.metadata.name.startswith("metadata-grpc")]
    assert grpc and all(i.startswith("ghcr.io/deploykf/ml_metadata_store_server") for i in grpc)
