"""Kubernetes API shapes and stand-ins: pods and their container statuses as the API returns them (JSON dicts), and
the two API servers the tests stand in for (there is no cluster on this machine): the one the watchdog talks to and
the one `python -m infra.readiness` polls. Both are served by `tests.support.http`."""
from __future__ import annotations

import ssl
import subprocess
from pathlib import Path
from urllib.parse import unquote

import yaml

from tests.support.http import Reply, Request, StandInServer

NS = "kubeflow"


def container(waiting: str | None = None, *, message: str | None = None, last: dict | None = None, restarts: int = 0,
              image: str = "img") -> dict:
    """One container's status: running, or waiting for `waiting` (a reason); `last` is its last termination."""
    state = {"waiting": {"reason": waiting, **({"message": message} if message is not None else {})}} if waiting \
        else {"running": {}}
    return {"name": "main", "image": image, "imageID": "", "ready": waiting is None, "restartCount": restarts,
            "state": state, "lastState": {"terminated": last} if last else {}}


def pod(deployment: str = "workflow-controller", suffix: str = "x1", *, template: str = "5f6d", owned: bool = True,
        name: str | None = None, uid: str | None = None, labels: dict | None = None, phase: str = "Running",
        ready: bool = True, ready_since: str = "2026-11-29T00:00:00Z", conditions: list | None = None,
        containers: list | None = None, waiting: str | None = None, message: str | None = None,
        last: dict | None = None, restarts: int = 0, deleting: bool = False, reason: str | None = None,
        reason_message: str | None = None, start_time: str | None = None, pod_ip: str = "10.244.0.7") -> dict:
    """A pod of Deployment `deployment` (owned through its ReplicaSet `<deployment>-<template>`, unless not `owned`),
    named `<deployment>-<template>-<suffix>`, with one container unless `containers` are given."""
    meta = {"apiVersion": "v1", "kind": "Pod"}
    metadata = {"name": name or f"{deployment}-{template}-{suffix}", "namespace": NS,
                "labels": {**({"pod-template-hash": template} if owned else {}), **(labels or {})}}
    if owned:
        metadata["ownerReferences"] = [{"kind": "ReplicaSet", "name": f"{deployment}-{template}"}]
    if uid:
        metadata["uid"] = uid
    if deleting:
        metadata["deletionTimestamp"] = "2026-11-29T00:01:00Z"
    status = {"phase": phase, "podIP": pod_ip,
              "conditions": conditions if conditions is not None else [
                  {"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": ready_since}],
              "containerStatuses": containers if containers is not None else [
                  container(waiting, message=message, last=last, restarts=restarts)]}
    if reason:
        status.update(reason=reason, message=reason_message)
    if start_time:
        status["startTime"] = start_time
    return {**meta, "metadata": metadata, "spec": {"containers": [{"name": "main", "image": "img"}]}, "status": status}


def self_signed_certificate(folder: Path) -> Path:
    """cert.pem and key.pem for 127.0.0.1 (CN kubernetes), made by openssl; returns the folder."""
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=kubernetes",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(folder / "key.pem"),
                    "-out", str(folder / "cert.pem")], check=True, capture_output=True)
    return folder


def server_tls(certificate: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate / "cert.pem", certificate / "key.pem")
    return context


class ReadinessApi:
    """The Kubernetes API (Deployments, Pods, the service proxy to KFP) and KFP's healthz, from mutable state, as
    `infra.readiness` reads them through the kubernetes client."""

    def __init__(self):
        self.deployments: list[dict] = []
        self.pods: list[dict] = []
        self.kfp_status = 503
        self.api_ready = True

    def __call__(self, request: Request) -> Reply:
        path = unquote(request.route)   # the API server routes on the decoded path
        if path == f"/apis/apps/v1/namespaces/{NS}/deployments":
            return Reply(200, {"kind": "DeploymentList", "apiVersion": "apps/v1", "metadata": {},
                               "items": self.deployments})
        if path == f"/api/v1/namespaces/{NS}/pods":
            return Reply(200, {"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": self.pods})
        if path in ("/apis/v2beta1/healthz",
                    f"/api/v1/namespaces/{NS}/services/ml-pipeline-ui:80/proxy/apis/v2beta1/healthz"):
            # as the UI server answers (frontend/server/handlers/healthz.ts)
            return Reply(self.kfp_status, {"apiServerReady": self.api_ready})
        return Reply(404, {})


def kubeconfig_for(server: StandInServer) -> str:
    """A kubeconfig whose only context points at a stand-in API server (no credentials)."""
    return yaml.safe_dump({"apiVersion": "v1", "kind": "Config", "current-context": "stand-in",
                           "clusters": [{"name": "c", "cluster": {"server": server.url}}],
                           "users": [{"name": "u", "user": {}}],
                           "contexts": [{"name": "stand-in", "context": {"cluster": "c", "user": "u"}}]})
