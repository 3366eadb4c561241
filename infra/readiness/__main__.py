"""Poll the cluster until KFP is ready or stuck; exit 0, or print why (pods, reasons, fixes) and exit 1.

    python -m infra.readiness --endpoint http://127.0.0.1:8080 [--service-proxy] [--timeout 1200]

The kubeconfig (its text, a secret the stack passes in) is read from standard input: never from the environment,
which every child process and `ps e` would see.
With --service-proxy (engine existing, where no host port is published) KFP is asked through the API server.
"""
from __future__ import annotations

import argparse
import http.client
import sys
import time
import urllib.error
import urllib.request

import yaml

from infra import topology
from infra.readiness.assess import Tracker, assess
from infra.readiness.healthz import PATH as HEALTHZ
from infra.readiness.healthz import healthz_problem

UI_SERVICE = f"{topology.KFP_UI_SERVICE}:{topology.KFP_UI_PORT}"


def _clients(kubeconfig: str):
    from kubernetes import client, config

    api_client = config.new_client_from_config_dict(yaml.safe_load(kubeconfig))
    return client.CoreV1Api(api_client), client.AppsV1Api(api_client)


def _answers_directly(endpoint: str) -> bool:
    """KFP answers and its API server is ready (the UI server alone answers 200 too: see infra.readiness.healthz)."""
    try:
        with urllib.request.urlopen(f"{endpoint.rstrip('/')}/{HEALTHZ}", timeout=5) as response:
            return response.status == 200 and healthz_problem(response.read()) is None
    except (urllib.error.URLError, http.client.HTTPException, OSError):
        return False


def _answers_via_proxy(core) -> bool:
    """GET healthz through the API server's service proxy (the literal path: the generated client would escape '/')."""
    from kubernetes.client.exceptions import ApiException

    path = f"/api/v1/namespaces/{topology.NAMESPACE}/services/{UI_SERVICE}/proxy/{HEALTHZ}"
    try:
        response = core.api_client.call_api(path, "GET", auth_settings=["BearerToken"], _preload_content=False,
                                            _request_timeout=5)
        raw = response[0] if isinstance(response, tuple) else response
        return healthz_problem(raw.data) is None
    except (ApiException, OSError):
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.readiness")
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--service-proxy", action="store_true")
    parser.add_argument("--timeout", type=float, default=1200.0)
    parser.add_argument("--interval", type=float, default=10.0)
    args = parser.parse_args(argv)

    kubeconfig = sys.stdin.read()
    if not kubeconfig.strip():
        print("readiness: no kubeconfig on standard input", file=sys.stderr, flush=True)
        return 2
    core, apps = _clients(kubeconfig)
    api = core.api_client
    tracker, deadline, last = Tracker(), time.monotonic() + args.timeout, ""
    while True:
        try:
            deployments = api.sanitize_for_serialization(apps.list_namespaced_deployment(topology.NAMESPACE).items)
            pods = api.sanitize_for_serialization(core.list_namespaced_pod(topology.NAMESPACE).items)
        except Exception as err:  # noqa: BLE001 - the API server may still be starting; keep polling
            deployments, pods = [], []
            print(f"readiness: cannot list {topology.NAMESPACE} yet: {err}", file=sys.stderr, flush=True)
        answers = _answers_via_proxy(core) if args.service_proxy else _answers_directly(args.endpoint)
        verdict = assess(deployments, pods, answers, args.endpoint, tracker, time.monotonic(), deadline)
        if verdict.message != last or verdict.done:
            print(f"readiness: {verdict.message}", file=sys.stderr, flush=True)
            last = verdict.message
        if verdict.done:
            return 0 if verdict.ok else 1
        time.sleep(args.interval)


if __name__ == "__main__":
    sys.exit(main())
