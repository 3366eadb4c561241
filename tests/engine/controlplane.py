"""A real Kubernetes 1.33 control plane for the engine tier: etcd, kube-apiserver, kube-controller-manager,
kube-scheduler and KWOK (one fake node), from the toolchain cache. Only ever started inside the tier's own network
namespace (see tests/engine/test_tier.py); every server binds 127.0.0.1.

Pod and Service IPs are fake (KWOK's --cidr, the service range) and unroutable in that namespace, with one
exception made on purpose: `PodIpServer` serves the KFP UI's health path on the UI pods' own IPs, through a `local`
route on loopback inside the namespace, so the project's readiness check (which asks the API server's service proxy)
is answered without any packet leaving the namespace.
"""
from __future__ import annotations

import base64
import http.server
import json
import os
import secrets
import socket
import ssl
import subprocess
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import yaml

POD_CIDR = "10.244.0.0/16"
SERVICE_CIDR = "10.96.0.0/16"
NODE = "kwok-node-0"
API = "https://127.0.0.1:6443"
NEVER_READY_IMAGE = "kfp-laptop.test/never-ready:1"   # a KWOK stage keeps pods of this image not ready
# Sizes only need to cover the project's PVCs (infra/manifests/storage.py): each PV binds one claim.
PV_SIZES = ("20Gi", "20Gi", "20Gi", "20Gi")


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_pki(d: Path) -> None:
    """A CA, an API server certificate for 127.0.0.1/localhost signed by it, and the service-account key pair."""
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=kfp-laptop-test-ca",
             "-keyout", "ca.key", "-out", "ca.crt", cwd=d)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=kube-apiserver", "-keyout", "apiserver.key",
             "-out", "apiserver.csr", cwd=d)
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc\n")
    _openssl("x509", "-req", "-in", "apiserver.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
             "-days", "2", "-extfile", "san.ext", "-out", "apiserver.crt", cwd=d)
    _openssl("genrsa", "-out", "sa.key", "2048", cwd=d)
    _openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=d)


def kubeconfig(ca: Path, token: str, user: str = "admin") -> dict:
    return {"apiVersion": "v1", "kind": "Config", "current-context": "kwok",
            "clusters": [{"name": "kwok", "cluster": {
                "server": API, "certificate-authority-data": base64.b64encode(ca.read_bytes()).decode()}}],
            "users": [{"name": user, "user": {"token": token}}],
            "contexts": [{"name": "kwok", "context": {"cluster": "kwok", "user": user}}]}


def container_statuses(state: str) -> str:
    """A KWOK stage's `containerStatuses` template: every container not ready, in `state` (YAML under `state:`)."""
    return ("containerStatuses:\n{{ range .spec.containers }}\n- image: {{ .image | Quote }}\n"
            "  name: {{ .name | Quote }}\n  ready: false\n  restartCount: 0\n  state:" + state + "\n{{ end }}\n")


NEVER_READY_STATUS = """
phase: Pending
conditions:
- type: PodScheduled
  status: "True"
- type: Ready
  status: "False"
  reason: ContainersNotReady
""" + container_statuses('''
    waiting:
      reason: InvalidImageName
      message: "couldn't parse image name {{ .image }}: invalid reference format"''')
# A Job's pod completes this long after it runs, so a test can mark the Job failed first (as its controller does once
# the pods used up the back-off limit) without restarting KWOK, whose pause would leave the fake node's pods not
# Ready for good.
JOB_POD_SECONDS = 8


def stages(defaults: str) -> str:
    """KWOK's fast stages, plus: Deployment pods of NEVER_READY_IMAGE stay Pending with a reason no wait cures; Job
    pods complete after JOB_POD_SECONDS. Selectors are kept disjoint, so no stage is picked at random (KWOK picks by
    weight among stages that match the same object)."""
    docs = [d for d in yaml.safe_load_all(defaults) if d]
    image = ".spec.containers.[0].image"
    for doc in docs:
        if doc["metadata"]["name"] == "pod-ready":
            doc["spec"]["selector"]["matchExpressions"].append(
                {"key": f"{image} + (.metadata.ownerReferences.[0].kind // \"\")", "operator": "NotIn",
                 "values": [f"{NEVER_READY_IMAGE}ReplicaSet"]})
            never = yaml.safe_load(yaml.safe_dump(doc))
            never["metadata"]["name"] = "pod-never-ready"
            never["spec"]["selector"]["matchExpressions"][-1]["operator"] = "In"
            never["spec"]["selector"]["matchExpressions"] += [
                {"key": ".status.containerStatuses", "operator": "DoesNotExist"},
                {"key": ".metadata.ownerReferences.[].kind", "operator": "In", "values": ["ReplicaSet"]}]
            never["spec"]["next"] = {"statusTemplate": NEVER_READY_STATUS}
        if doc["metadata"]["name"] == "pod-complete":
            doc["spec"]["delay"] = {"durationMilliseconds": JOB_POD_SECONDS * 1000}
    return yaml.safe_dump_all([*docs, never])


@dataclass
class ControlPlane:
    """The running control plane; `env` is what a client needs (KUBECONFIG, admin token)."""
    toolchain: Path
    workdir: Path
    procs: list[tuple[str, subprocess.Popen]] = field(default_factory=list)
    token: str = field(default_factory=lambda: secrets.token_hex(16))

    @property
    def bin(self) -> Path:
        return self.toolchain / "bin"

    @property
    def kubeconfig_path(self) -> Path:
        return self.workdir / "admin.kubeconfig"

    def start(self) -> ControlPlane:
        d = self.workdir
        d.mkdir(parents=True, exist_ok=True)
        make_pki(d)
        (d / "tokens.csv").write_text(f'{self.token},admin,admin,"system:masters"\n')
        self.kubeconfig_path.write_text(yaml.safe_dump(kubeconfig(d / "ca.crt", self.token)))
        self._spawn("etcd", [
            "--data-dir", str(d / "etcd"), "--listen-client-urls", "http://127.0.0.1:2379",
            "--advertise-client-urls", "http://127.0.0.1:2379", "--listen-peer-urls", "http://127.0.0.1:2380",
            "--initial-advertise-peer-urls", "http://127.0.0.1:2380",
            "--initial-cluster", "default=http://127.0.0.1:2380", "--listen-metrics-urls", "http://127.0.0.1:2381",
            "--unsafe-no-fsync", "--quota-backend-bytes", str(2 << 30)])
        self._spawn("kube-apiserver", [
            "--etcd-servers=http://127.0.0.1:2379", "--bind-address=127.0.0.1", "--secure-port=6443",
            "--advertise-address=127.0.0.1", "--endpoint-reconciler-type=none",
            f"--tls-cert-file={d}/apiserver.crt", f"--tls-private-key-file={d}/apiserver.key",
            f"--client-ca-file={d}/ca.crt", f"--token-auth-file={d}/tokens.csv", "--authorization-mode=RBAC",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={d}/sa.pub", f"--service-account-signing-key-file={d}/sa.key",
            f"--service-cluster-ip-range={SERVICE_CIDR}", "--allow-privileged=true",
            "--enable-priority-and-fairness=false", "--profiling=false"])
        self.wait_ready()
        self._spawn("kube-controller-manager", [
            f"--kubeconfig={self.kubeconfig_path}", "--bind-address=127.0.0.1", "--leader-elect=false",
            f"--service-account-private-key-file={d}/sa.key", f"--root-ca-file={d}/ca.crt",
            "--use-service-account-credentials=false", "--controllers=*,-nodeipam,-cloud-node-lifecycle",
            "--concurrent-deployment-syncs=10", "--profiling=false"])
        self._spawn("kube-scheduler", [
            f"--kubeconfig={self.kubeconfig_path}", "--bind-address=127.0.0.1", "--leader-elect=false",
            "--profiling=false"])
        self.start_kwok()
        self.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(self._cluster_objects()))
        self.kubectl("wait", "--for=condition=Ready", f"node/{NODE}", "--timeout=60s")
        return self

    def start_kwok(self) -> None:
        config = self.workdir / "kwok-stages.yaml"
        config.write_text(stages((self.toolchain / "kwok-stages.yaml").read_text()))
        self._spawn("kwok", [
            f"--kubeconfig={self.kubeconfig_path}", f"--config={config}", "--manage-all-nodes=true",
            f"--cidr={POD_CIDR}", "--node-ip=10.250.0.1", "--node-lease-duration-seconds=40"])

    def recycle_volumes(self) -> None:
        """Released PVs (their claim was deleted by a destroy) become Available again for the next stack."""
        for pv in self.get_json("pv")["items"]:
            if pv["status"].get("phase") == "Released":
                self.kubectl("patch", "pv", pv["metadata"]["name"], "--type=json",
                             "-p", '[{"op":"remove","path":"/spec/claimRef"}]')

    def _cluster_objects(self) -> list[dict]:
        node = {"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": NODE, "annotations": {"kwok.x-k8s.io/node": "fake"},
                             "labels": {"kubernetes.io/hostname": NODE, "kubernetes.io/os": "linux",
                                        "kubernetes.io/arch": "amd64", "type": "kwok"}},
                "spec": {"providerID": f"kwok://{NODE}"},
                "status": {"allocatable": {"cpu": "32", "memory": "256Gi", "pods": "110"},
                           "capacity": {"cpu": "32", "memory": "256Gi", "pods": "110"}}}
        storage_class = {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                         "metadata": {"name": "standard",
                                      "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
                         "provisioner": "kubernetes.io/no-provisioner", "volumeBindingMode": "Immediate"}
        volumes = [{"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": f"pv-{i}"},
                    "spec": {"capacity": {"storage": size}, "accessModes": ["ReadWriteOnce"],
                             "storageClassName": "standard", "persistentVolumeReclaimPolicy": "Retain",
                             "hostPath": {"path": str(self.workdir / f"pv-{i}")}}}
                   for i, size in enumerate(PV_SIZES)]
        return [node, storage_class, *volumes]

    def _spawn(self, name: str, args: list[str]) -> None:
        log = open(self.workdir / f"{name}.log", "w")
        proc = subprocess.Popen([str(self.bin / name), *args], stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        self.procs.append((name, proc))

    def wait_ready(self, timeout: float = 90) -> None:
        """Poll /readyz until it answers ok; a server that died is reported with the tail of its log."""
        context = ssl.create_default_context(cafile=str(self.workdir / "ca.crt"))
        request = urllib.request.Request(f"{API}/readyz", headers={"Authorization": f"Bearer {self.token}"})
        deadline = time.monotonic() + timeout
        while True:
            for name, proc in self.procs:
                if proc.poll() is not None:
                    tail = (self.workdir / f"{name}.log").read_text()[-2000:]
                    raise RuntimeError(f"{name} exited with {proc.returncode}:\n{tail}")
            try:
                with urllib.request.urlopen(request, context=context, timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"kube-apiserver /readyz not ok after {timeout:.0f} s")
            time.sleep(0.3)

    def kubectl(self, *args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(["kubectl", f"--kubeconfig={self.kubeconfig_path}", *args], input=input, text=True,
                              capture_output=True, check=check, timeout=120)

    def get_json(self, *args: str) -> dict:
        return json.loads(self.kubectl("get", "-o", "json", *args).stdout)

    def stop(self) -> None:
        for _, proc in reversed(self.procs):
            proc.terminate()
        for _, proc in reversed(self.procs):
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs.clear()


class PodIpServer:
    """Answers HTTP 200 on the IPs of some pods (by their `app` label, one port and body each), inside the tier's
    namespace.

    `ip route add local POD_CIDR dev lo` makes the fake pod range local to this namespace only; a server is bound to
    each matching pod's own IP (never 0.0.0.0), so the API server's service proxy reaches it and nothing else does.
    """

    def __init__(self, plane: ControlPlane, namespace: str, answers: dict[str, tuple[int, bytes]]):
        self.plane, self.namespace, self.answers = plane, namespace, answers
        self.servers: dict[tuple[str, int], http.server.HTTPServer] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def start(self) -> "PodIpServer":
        subprocess.run(["ip", "route", "replace", "local", POD_CIDR, "dev", "lo"], check=True)
        self._thread.start()
        return self

    def _watch(self) -> None:
        listing = "jsonpath={range .items[*]}{.metadata.labels.app} {.status.podIP}{\"\\n\"}{end}"
        while not self._stop.wait(1.0):
            done = self.plane.kubectl("get", "pods", "-n", self.namespace, "-o", listing, check=False)
            for line in done.stdout.splitlines():
                app, _, ip = line.partition(" ")
                port, body = self.answers.get(app, (None, b""))
                if port and ip and (ip, port) not in self.servers:
                    self._serve(ip, port, body)

    def _serve(self, ip: str, port: int, body: bytes) -> None:
        class Ok(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the stdlib's name
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        try:
            server = http.server.ThreadingHTTPServer((ip, port), Ok)
        except OSError:
            return
        self.servers[(ip, port)] = server
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for server in self.servers.values():
            server.shutdown()
            server.server_close()
        subprocess.run(["ip", "route", "del", "local", POD_CIDR, "dev", "lo"], check=False, capture_output=True)


def in_own_netns() -> bool:
    """True only inside the namespace the tier made: loopback is the one interface (the tier refuses otherwise)."""
    # socket.if_nameindex() asks the kernel about this process's own namespace; /sys/class/net would show the
    # namespace sysfs was mounted in (the host's), as `unshare --net` mounts nothing.
    return os.environ.get("KFP_LAPTOP_ENGINE_NETNS") == "1" and [n for _, n in socket.if_nameindex()] == ["lo"]
