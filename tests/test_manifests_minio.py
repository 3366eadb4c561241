"""MinIO replaces SeaweedFS: the seven places of docs/upstream-facts.md, checked on the real 2.17.0 render."""
from __future__ import annotations

import subprocess

import pytest
import yaml

from infra import topology as t
from infra.manifests.minio import ENDPOINT, mentions_seaweedfs
from infra.manifests.patch import PatchSettings, patch_all
from infra.manifests.source import dump, load_upstream
from tests.support.manifests import UPSTREAM_DEFAULT_CREDENTIALS, env_of, minio_wiring_problems, one

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
    assert UPSTREAM_DEFAULT_CREDENTIALS["secretkey"] not in text


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


def test_the_bucket_job_makes_a_bucket_only_user_and_never_puts_a_secret_on_a_command_line(tmp_path, fake_tools):
    """The Job's script runs for real under /bin/sh; `mc` (MinIO's client, not on this machine) is a script that
    records its arguments, the MC_HOST_local it was given, its stdin and the policy file, and fails twice as it does
    while MinIO starts. `sleep` is a no-op so the waiting costs no time."""
    import json

    from infra.manifests.minio import PIPELINE_SECRETS_DIR, POLICY_FILE, SECRETS_DIR, bucket_job, bucket_policy

    log, folders = tmp_path / "mc.log", {SECRETS_DIR: ("AccessKey123", "SecretKey456"),
                                         PIPELINE_SECRETS_DIR: ("PipeAccess", "PipeSecret789")}
    for index, (access, secret) in enumerate(folders.values()):
        (tmp_path / str(index)).mkdir()
        (tmp_path / str(index) / "accesskey").write_text(access)
        (tmp_path / str(index) / "secretkey").write_text(secret)
    fake_tools.add("mc", f'echo "args: $*" >> {log}\necho "host: $MC_HOST_local" >> {log}\n'
                         f'case "$*" in\n"admin user add"*) echo "stdin: $(cat)" >> {log} ;;\n'
                         f'"admin policy create"*) echo "policy: $(cat "$6")" >> {log} ;;\nesac\n'
                         f'[ "$1" != mb ] || [ "$(grep -c "args: mb" {log})" -ge 3 ]')
    fake_tools.add("sleep")
    container = bucket_job(MINIO_IMAGE)["spec"]["template"]["spec"]["containers"][0]
    script = container["command"][2].replace(PIPELINE_SECRETS_DIR, str(tmp_path / "1"))
    script = script.replace(SECRETS_DIR, str(tmp_path / "0")).replace(POLICY_FILE, str(tmp_path / "policy.json"))
    result = subprocess.run([*container["command"][:2], script], env={"PATH": fake_tools.path()},
                            capture_output=True, text=True, timeout=60)
    lines = log.read_text().splitlines()
    calls = [line for line in lines if line.startswith("args:")]
    assert not [line for line in calls if "Secret" in line], "a secret key on mc's command line"
    assert f"host: http://AccessKey123:SecretKey456@{ENDPOINT}" in lines
    policy = t.PIPELINE_MINIO_POLICY
    setup = [f"args: mb --ignore-existing local/{t.ARTIFACT_BUCKET}",
             f"args: admin policy create local {policy} {tmp_path / 'policy.json'}",
             "args: admin user add local PipeAccess", f"args: admin policy attach local {policy} --user PipeAccess"]
    assert result.returncode == 0, result.stderr
    assert calls == [setup[0]] * 3 + setup[1:]
    assert "stdin: PipeSecret789" in lines
    written = json.loads(next(line for line in lines if line.startswith("policy: ")).removeprefix("policy: "))
    assert written == json.loads(bucket_policy())
    assert {r for s in written["Statement"] for r in s["Resource"]} == {
        f"arn:aws:s3:::{t.ARTIFACT_BUCKET}", f"arn:aws:s3:::{t.ARTIFACT_BUCKET}/*"}
