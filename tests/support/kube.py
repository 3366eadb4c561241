"""Kubernetes API shapes and stand-ins: pods and their container statuses as the API returns them (JSON dicts), and
the two API servers the tests stand in for (there is no cluster on this machine): the one the watchdog talks to and
the one `python -m infra.readiness` polls. Both are served by `tests.support.http`."""
from __future__ import annotations

import copy
import re
import ssl
import subprocess
import threading
import time
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


def watched_pod(deployment: str, suffix: str, *, crash: bool = False, ready: bool = True) -> dict:
    """A pod of the watchdog's stand-in API, at 127.0.0.1 so its /healthz is the stand-in's; `crash` = in
    CrashLoopBackOff after many restarts (the kubelet's long back-off)."""
    broken = {"waiting": "CrashLoopBackOff", "restarts": 7, "last": {"reason": "Error", "exitCode": 1}} if crash else {}
    return pod(deployment, suffix, template="abc12", uid=f"uid-{deployment}-{suffix}", pod_ip="127.0.0.1",
               ready=ready and not crash, ready_since="2026-01-01T00:00:00Z", **broken)


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


class WatchdogApi:
    """The API server's pods/deployments/events/configmaps endpoints the watchdog calls, plus a Deployment controller
    that replaces a Deployment's pods when its template is annotated (what `kubectl rollout restart` triggers), plus
    the controller's /healthz. `faults` are served, one per request to `fault_path`, before normal answers: "5xx" or
    "timeout"."""

    def __init__(self, status_configmap: str):
        self.pods: list[dict] = []
        self.deployments = {"workflow-controller", "ml-pipeline"}
        self.configmaps = {status_configmap: {"data": {}}}
        self.events: list[dict] = []
        self.requests: list[tuple[str, str]] = []
        self.faults: list[str] = []
        self.fault_path = f"/api/v1/namespaces/{NS}/pods"
        self.healthz_ok = True
        self.restart_yields_broken_pod = False
        self.restarts = 0
        self.lock = threading.Lock()

    def restart(self, deployment: str) -> None:
        self.restarts += 1
        self.pods = [p for p in self.pods if not p["metadata"]["name"].startswith(deployment + "-")]
        self.pods.append(watched_pod(deployment, f"r{self.restarts}", crash=self.restart_yields_broken_pod))
        self.healthz_ok = True

    def __call__(self, request: Request) -> Reply:
        code, payload = self.answer(request.method, request.path, request.json())
        return Reply(code, payload)

    def answer(self, method: str, path: str, body: dict | None) -> tuple[int, dict]:
        if path == "/healthz":
            return (200, {}) if self.healthz_ok else (500, {"error": "workflows not reconciled"})
        with self.lock:
            self.requests.append((method, path))
            fault = self.faults.pop(0) if self.faults and path == self.fault_path else None
        if fault == "timeout":
            time.sleep(0.5)
        if fault:
            return 503, {"kind": "Status", "message": "etcdserver: leader changed"}
        with self.lock:
            if (method, path) == ("GET", f"/api/v1/namespaces/{NS}/pods"):
                return 200, {"items": copy.deepcopy(self.pods)}
            if (method, path) == ("POST", f"/api/v1/namespaces/{NS}/events"):
                self.events.append(body)
                return 201, body
            if m := re.fullmatch(rf"/apis/apps/v1/namespaces/{NS}/deployments/([\w-]+)", path):
                if method != "PATCH" or m[1] not in self.deployments:
                    return 404, {}
                if "kubectl.kubernetes.io/restartedAt" in body["spec"]["template"]["metadata"]["annotations"]:
                    self.restart(m[1])
                return 200, {"kind": "Deployment", "metadata": {"name": m[1], "uid": f"uid-{m[1]}"}}
            if m := re.fullmatch(rf"/api/v1/namespaces/{NS}/configmaps/([\w-]+)", path):
                if m[1] not in self.configmaps:
                    return 404, {}
                if method == "PATCH":
                    self.configmaps[m[1]]["data"].update(body["data"])
                return 200, self.configmaps[m[1]]
        return 404, {}


class ReadinessApi:
    """The Kubernetes API (Deployments, Pods, the service proxy to KFP) and KFP's healthz, from mutable state, as
    `infra.readiness` reads them through the kubernetes client."""

    def __init__(self):
        self.deployments: list[dict] = []
        self.pods: list[dict] = []
        self.kfp_status = 503

    def __call__(self, request: Request) -> Reply:
        path = unquote(request.route)   # the API server routes on the decoded path
        if path == f"/apis/apps/v1/namespaces/{NS}/deployments":
            return Reply(200, {"kind": "DeploymentList", "apiVersion": "apps/v1", "metadata": {},
                               "items": self.deployments})
        if path == f"/api/v1/namespaces/{NS}/pods":
            return Reply(200, {"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": self.pods})
        if path in ("/apis/v2beta1/healthz",
                    f"/api/v1/namespaces/{NS}/services/ml-pipeline-ui:80/proxy/apis/v2beta1/healthz"):
            return Reply(self.kfp_status, {"commit_sha": "stand-in"})
        return Reply(404, {})


def kubeconfig_for(server: StandInServer) -> str:
    """A kubeconfig whose only context points at a stand-in API server (no credentials)."""
    return yaml.safe_dump({"apiVersion": "v1", "kind": "Config", "current-context": "stand-in",
                           "clusters": [{"name": "c", "cluster": {"server": server.url}}],
                           "users": [{"name": "u", "user": {}}],
                           "contexts": [{"name": "stand-in", "context": {"cluster": "c", "user": "u"}}]})
