"""MinIO replaces SeaweedFS: the seven places of docs/upstream-facts.md, checked on the real 2.17.0 render."""
from __future__ import annotations

import subprocess

import pytest
import yaml

from infra import topology as t
from infra.manifests.minio import ENDPOINT, mentions_seaweedfs
from infra.manifests.patch import PatchSettings, patch_all
from infra.manifests.source import dump, load_upstream
from tests.support.manifests import env_of, minio_wiring_problems, one

MINIO_IMAGE = "quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z"


@pytest.fixture(scope="module")
def upstream(kfp_fixture):
    return load_upstream("2.17.0", kfp_manifests=kfp_fixture)


@pytest.fixture(scope="module")
def installed(upstream) -> list[dict]:
    cluster_scoped, namespaced = patch_all(upstream, PatchSettings("amd64", "kind", MINIO_IMAGE))
    secret = {"kind": "Secret", "metadata": {"name": t.ARTIFACT_SECRET}, "stringData": {"secretkey": "generated"}}
    return cluster_scoped + namespaced + [secret]


def test_upstream_points_at_seaweedfs_in_every_place(upstream):
    objects = upstream.cluster_scoped + upstream.platform
    assert len(mentions_seaweedfs(objects)) >= 7
    assert env_of(objects, "ml-pipeline")["OBJECTSTORECONFIG_HOST"] == "seaweedfs.kubeflow"


def test_all_seven_places_point_at_minio(installed):
    assert minio_wiring_problems(installed) == []


def test_nothing_mentions_seaweedfs(installed):
    assert mentions_seaweedfs(installed) == []
    assert "seaweedfs" not in dump(installed).lower()


def test_upstream_default_credentials_are_gone(installed):
    text = dump([o for o in installed if o["metadata"]["name"] != "mysql-secret"])
    assert "minio123" not in text


def test_minio_runs_pinned_non_root_with_credentials_from_files(installed):
    minio = one(installed, "Deployment", t.MINIO_NAME)["spec"]["template"]["spec"]
    server = minio["containers"][0]
    assert server["image"] == MINIO_IMAGE
    assert server["securityContext"]["runAsNonRoot"] and server["securityContext"]["readOnlyRootFilesystem"]
    assert not any("valueFrom" in e for e in server["env"]), "credentials come from mounted files, not env values"
    assert minio["automountServiceAccountToken"] is False


def test_older_layouts_upstream_minio_and_the_minio_service_alias_are_replaced(upstream):
    """2.14 shipped its own MinIO (Deployment minio, Service minio-service); 2.15 kept minio-service as an alias
    selecting SeaweedFS. Either way only this project's MinIO must remain."""
    seaweedfs = one(upstream.platform, "Deployment", "seaweedfs")
    old_minio = {**seaweedfs, "metadata": {**seaweedfs["metadata"], "name": "minio"}}
    alias = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "minio-service", "namespace": t.NAMESPACE},
             "spec": {"selector": {"app": "seaweedfs"}, "ports": [{"port": 9000, "targetPort": 8333}]}}
    older = type(upstream)(upstream.cluster_scoped, upstream.platform + [old_minio, alias])
    cluster_scoped, namespaced = patch_all(older, PatchSettings("amd64", "kind", MINIO_IMAGE))
    minios = [o for o in namespaced if o["kind"] == "Deployment" and o["metadata"]["name"] == t.MINIO_NAME]
    assert len(minios) == 1 and minios[0]["spec"]["template"]["spec"]["containers"][0]["image"] == MINIO_IMAGE
    assert not [o for o in namespaced if o["metadata"]["name"] == "minio-service"]


def test_the_ui_finds_archived_pod_logs_where_argo_puts_them(installed):
    """After a finished workflow is deleted, the UI server reads a pod's log from the archive under its ARGO_KEYFORMAT
    (frontend/server/workflow-helper.ts): it must be the controller's keyFormat, with archiving on both sides."""
    repo = yaml.safe_load(one(installed, "ConfigMap", "workflow-controller-configmap")["data"]["artifactRepository"])
    ui = env_of(installed, "ml-pipeline-ui")
    assert repo["archiveLogs"] is True and ui["ARGO_ARCHIVE_LOGS"] == "true"
    assert ui["ARGO_KEYFORMAT"] == repo["s3"]["keyFormat"]
    assert repo["s3"]["keyFormat"].startswith("private-artifacts/{{workflow.namespace}}/{{workflow.name}}/")
    assert repo["s3"]["bucket"] == t.ARTIFACT_BUCKET and ui.get("ARGO_ARCHIVE_BUCKETNAME", t.ARTIFACT_BUCKET) == \
        t.ARTIFACT_BUCKET


def test_pods_mounting_the_credentials_can_read_them(installed):
    """The Secret's files are mode 0440, group = the pod's fsGroup: the reader must be in that group."""
    for kind, name in (("Deployment", t.MINIO_NAME), ("Job", f"{t.MINIO_NAME}-create-bucket")):
        pod = one(installed, kind, name)["spec"]["template"]["spec"]
        secret_volume = next(v for v in pod["volumes"] if "secret" in v)
        assert secret_volume["secret"]["defaultMode"] == 0o440
        assert pod["securityContext"]["fsGroup"] == pod["containers"][0]["securityContext"]["runAsGroup"], name


def test_the_bucket_job_waits_for_minio_and_never_puts_credentials_on_a_command_line(tmp_path, fake_tools):
    """The Job's script runs for real under /bin/sh; `mc` (MinIO's client, not on this machine) is a script that
    records its arguments and the MC_HOST_local it was given, and fails twice as it does while MinIO starts.
    `sleep` is a no-op so the waiting costs no time."""
    from infra.manifests.minio import SECRETS_DIR, bucket_job

    secrets, log = tmp_path / "secrets", tmp_path / "mc.log"
    secrets.mkdir()
    (secrets / "accesskey").write_text("AccessKey123")
    (secrets / "secretkey").write_text("SecretKey456")
    fake_tools.add("mc", f'echo "args: $*" >> {log}\necho "host: $MC_HOST_local" >> {log}\n'
                         f'[ "$(grep -c args {log})" -ge 3 ]')
    fake_tools.add("sleep")
    container = bucket_job(MINIO_IMAGE)["spec"]["template"]["spec"]["containers"][0]
    command = [part.replace(SECRETS_DIR, str(secrets)) for part in container["command"]]
    result = subprocess.run(command, env={"PATH": fake_tools.path()}, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    lines = log.read_text().splitlines()
    made = f"args: mb --ignore-existing local/{t.ARTIFACT_BUCKET}"
    assert [line for line in lines if line.startswith("args:")] == [made] * 3
    assert f"host: http://AccessKey123:SecretKey456@{ENDPOINT}" in lines
