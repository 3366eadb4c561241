"""What the installed objects must say, checked both on the patched render and on what the whole program registers:
the workflow-controller's hardening and MinIO's seven places (docs/upstream-facts.md)."""
from __future__ import annotations

import yaml

from infra import topology as t
from infra.manifests.controller import CONTROLLER
from infra.manifests.minio import ENDPOINT
from infra.manifests.objects import container, find
from tests.support.k8s_schema import schema_errors

# The credentials upstream's `mlpipeline-minio-artifact` Secret ships (KFP 2.17.0 render). They are named here once,
# only so that tests can assert the stack replaced them; nothing the project deploys uses them.
UPSTREAM_DEFAULT_CREDENTIALS = {"accesskey": "minio", "secretkey": "minio123"}


def controller_of(objects):
    deployment = find(objects, "Deployment", CONTROLLER)
    return deployment, container(deployment, CONTROLLER)


def assert_hardened(objects):
    deployment, item = controller_of(objects)
    env = {e["name"]: e.get("value") for e in item["env"]}
    assert env["LEADER_ELECTION_DISABLE"] == "true"
    assert deployment["spec"]["replicas"] == 1 and deployment["spec"]["strategy"] == {"type": "Recreate"}
    assert item["resources"]["limits"]["memory"] in ("1Gi", "1024Mi")
    probe = item["livenessProbe"]["httpGet"]
    assert probe == {"path": "/healthz", "port": 6060}
    assert 6060 in [p["containerPort"] for p in item["ports"]]
    assert schema_errors([deployment]) == ([], [])


def one(objects, kind, name):
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert found, f"{kind} {name} missing"
    return found[0]


def env_of(objects, deployment) -> dict:
    item = one(objects, "Deployment", deployment)["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e.get("value") for e in item.get("env", [])}


def minio_wiring_problems(objects: list[dict]) -> list[str]:
    """What still points anywhere but MinIO (empty = all seven places wired)."""
    problems = []
    minio = one(objects, "Deployment", t.MINIO_NAME)
    service = one(objects, "Service", t.MINIO_NAME)
    if {p["nodePort"] for p in service["spec"]["ports"]} != {t.MINIO_API_NODE_PORT, t.MINIO_CONSOLE_NODE_PORT}:
        problems.append("1: MinIO API and console NodePorts")
    api = env_of(objects, "ml-pipeline")
    if (api.get("OBJECTSTORECONFIG_HOST"), api.get("OBJECTSTORECONFIG_PORT")) != (t.MINIO_HOST, "9000"):
        problems.append("2: api server object store")
    repo = yaml.safe_load(one(objects, "ConfigMap", "workflow-controller-configmap")["data"]["artifactRepository"])
    if repo["s3"]["endpoint"] != ENDPOINT or repo["s3"]["bucket"] != t.ARTIFACT_BUCKET:
        problems.append("3: Argo artifact repository")
    launcher = one(objects, "ConfigMap", "kfp-launcher")["data"]
    providers = yaml.safe_load(launcher.get("providers", "{}"))
    if launcher.get("defaultPipelineRoot") != t.PIPELINE_ROOT or \
            providers.get("minio", {}).get("default", {}).get("endpoint") != ENDPOINT:
        problems.append("4: kfp-launcher providers and pipeline root")
    ui = env_of(objects, "ml-pipeline-ui")
    if (ui.get("MINIO_HOST"), ui.get("MINIO_PORT")) != (t.MINIO_NAME, "9000"):
        problems.append("5: UI artifact reads")
    secrets = [o for o in objects if o["kind"] == "Secret" and o["metadata"]["name"] == t.ARTIFACT_SECRET]
    default = UPSTREAM_DEFAULT_CREDENTIALS["secretkey"]
    if len(secrets) != 1 or secrets[0]["stringData"].get("secretkey") in (default, None):
        problems.append("6: one artifact Secret without upstream's default credentials")
    volumes = minio["spec"]["template"]["spec"]["volumes"]
    if not any(v.get("secret", {}).get("secretName") == t.ARTIFACT_SECRET for v in volumes):
        problems.append("6: MinIO reads its root credentials from the artifact Secret")
    job = one(objects, "Job", f"{t.MINIO_NAME}-create-bucket")
    script = job["spec"]["template"]["spec"]["containers"][0]["command"][-1]
    if f"mc mb --ignore-existing local/{t.ARTIFACT_BUCKET}" not in script:
        problems.append("7: bucket creation")
    return problems
