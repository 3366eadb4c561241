"""`inv port-forward` for engine `existing`: the same 127.0.0.1 endpoints as kind/k3d publish, via kubectl."""
from __future__ import annotations

import subprocess
import tempfile
import time
from typing import Callable

from infra import topology
from kfp_laptop.errors import UserError
from laptop.outputs import StackOutputs

# A forward that ends within this long after it started, this many times in a row, is failing, not being
# interrupted by a pod restart: stop with kubectl's own last words instead of restarting it forever.
STEADY_SECONDS = 10.0
FAILED_STARTS = 3


def port_forward_commands(outputs: StackOutputs) -> list[list[str]]:
    """One `kubectl port-forward` per Service, bound to 127.0.0.1 at the ports in the stack's outputs."""
    base = ["kubectl", "--context", outputs.cluster.context, "--namespace", topology.NAMESPACE,
            "port-forward", "--address", "127.0.0.1"]
    ports = outputs.host_ports()
    return [
        [*base, f"service/{topology.KFP_UI_SERVICE}", f"{ports['kfp_endpoint']}:{topology.KFP_UI_PORT}"],
        [*base, f"service/{topology.MINIO_NAME}", f"{ports['minio_endpoint']}:{topology.MINIO_API_PORT}",
         f"{ports['minio_console']}:{topology.MINIO_CONSOLE_PORT}"],
    ]


class _Forward:
    """One kubectl child, its stderr kept in a file (read only when it ended), and how often it failed at once."""

    def __init__(self, command: list[str]):
        self.command, self.quick_exits = command, 0
        self.errors = tempfile.TemporaryFile(mode="w+")
        self.start()

    def start(self) -> None:
        self.errors.seek(0)
        self.errors.truncate()
        self.started = time.monotonic()
        try:
            self.proc = subprocess.Popen(self.command, stderr=self.errors)
        except OSError as err:   # kubectl removed, or not executable, after the check
            raise UserError(f"`kubectl port-forward` cannot be run: {err.strerror or err}",
                            "install kubectl: https://kubernetes.io/docs/tasks/tools/") from None

    def last_words(self) -> str:
        self.errors.seek(0)
        lines = [line.strip() for line in self.errors.read().splitlines() if line.strip()]
        return lines[-1][:300] if lines else f"exit status {self.proc.returncode}"

    def restart_if_ended(self) -> None:
        if self.proc.poll() is None:
            return
        self.quick_exits = self.quick_exits + 1 if time.monotonic() - self.started < STEADY_SECONDS else 0
        if self.quick_exits >= FAILED_STARTS:
            target = " ".join(self.command[-2:])
            raise UserError(f"`kubectl port-forward {target}` keeps exiting at once ({FAILED_STARTS} times): "
                            f"{self.last_words()}",
                            "check the context and that the service exists: "
                            f"`kubectl --context {self.command[2]} -n {topology.NAMESPACE} get svc`; `inv doctor`")
        self.start()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.errors.close()


def keep_forwarding(commands: list[list[str]], restart_delay: float = 2.0,
                    sleep: Callable[[float], None] = time.sleep) -> None:
    """Run every forward; restart one that exits (a pod restart ends it) until Ctrl-C stops them all. One that keeps
    failing at once stops everything with kubectl's message."""
    forwards: list[_Forward] = []
    try:
        forwards.extend(_Forward(cmd) for cmd in commands)
        print("forwarding (Ctrl-C stops): " + ", ".join(" ".join(cmd[-2:]) for cmd in commands), flush=True)
        while True:
            sleep(restart_delay)
            for forward in forwards:
                forward.restart_if_ended()
    except KeyboardInterrupt:
        pass
    finally:
        for forward in forwards:
            forward.stop()
