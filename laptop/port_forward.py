"""`inv port-forward` for engine `existing`: the same 127.0.0.1 endpoints as kind/k3d publish, via kubectl."""
from __future__ import annotations

import subprocess
import time
from typing import Any
from urllib.parse import urlsplit

from infra import topology

KFP_UI_SERVICE, KFP_UI_PORT = "ml-pipeline-ui", 80


def port_forward_commands(outputs: dict[str, Any]) -> list[list[str]]:
    """One `kubectl port-forward` per Service, bound to 127.0.0.1 at the ports in the stack's outputs."""
    base = ["kubectl", "--context", outputs["cluster"]["context"], "--namespace", topology.NAMESPACE,
            "port-forward", "--address", "127.0.0.1"]
    kfp = urlsplit(outputs["kfp_endpoint"]).port
    minio = urlsplit(outputs["minio_endpoint"]).port
    console = urlsplit(outputs["minio_console"]).port
    return [
        [*base, f"service/{KFP_UI_SERVICE}", f"{kfp}:{KFP_UI_PORT}"],
        [*base, f"service/{topology.MINIO_NAME}", f"{minio}:{topology.MINIO_API_PORT}",
         f"{console}:{topology.MINIO_CONSOLE_PORT}"],
    ]


def keep_forwarding(commands: list[list[str]], restart_delay: float = 2.0) -> None:
    """Run every forward; restart one that exits (a pod restart ends it) until Ctrl-C stops them all."""
    procs = {i: subprocess.Popen(cmd) for i, cmd in enumerate(commands)}
    print("forwarding (Ctrl-C stops): " + ", ".join(" ".join(cmd[-2:]) for cmd in commands), flush=True)
    try:
        while True:
            time.sleep(restart_delay)
            for i, proc in procs.items():
                if proc.poll() is not None:
                    procs[i] = subprocess.Popen(commands[i])
    except KeyboardInterrupt:
        pass
    finally:
        for proc in procs.values():
            proc.terminate()
