"""The engine tier as a background process: started as soon as collection ends, so it runs beside the rest of the
suite (it mostly waits on the engine and the control plane), and judged by `tests/engine/test_tier.py`, which the
suite runs last.

The tier's own pytest (`tests/engine/tier/`) runs inside a network namespace of its own with only loopback up
(`unshare --net`), and a PID namespace, so every server it started dies with it. Extra pytest arguments for the
tier: KFP_LAPTOP_ENGINE_ARGS.
"""
from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.engine import toolchain

TIER = Path(__file__).with_name("tier")
TEST_ID = "tests/engine/test_tier.py::test_engine_tier_in_its_own_network_namespace"
TIMEOUT = 900   # seconds from its start; it takes about 5 minutes alone on 2 cores, more beside the suite


def skip_reason() -> str | None:
    missing = toolchain.missing()
    if missing:
        return (f"engine tier: toolchain not built ({', '.join(missing)} missing): run `inv toolchain` once "
                "(over an hour cold on 2 cores, see docs/engine-tier.md)")
    if not shutil.which("unshare") or os.geteuid() != 0:
        return "engine tier: needs root and `unshare` to run in its own network namespace"
    return None


@dataclass
class TierRun:
    proc: subprocess.Popen
    log: Path

    @classmethod
    def start(cls) -> TierRun:
        inner = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "-rA", str(TIER),
                 *shlex.split(os.environ.get("KFP_LAPTOP_ENGINE_ARGS", ""))]
        log = Path(tempfile.mkstemp(prefix="kfp-laptop-engine-tier-", suffix=".log")[1])
        with open(log, "w") as out:
            proc = subprocess.Popen(["unshare", "--net", "--pid", "--fork", "--kill-child", "--", "sh", "-c",
                                     'ip link set lo up && exec "$@"', "sh", *inner],
                                    cwd=toolchain.ROOT, env=dict(os.environ, KFP_LAPTOP_ENGINE_NETNS="1"),
                                    stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        return cls(proc, log)

    def result(self, timeout: float = TIMEOUT) -> tuple[int | None, str]:
        """(exit code, output); the code is None when the tier did not finish in time (it is stopped then)."""
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._kill()
            code = None
        return code, self.log.read_text(errors="replace")

    def stop(self) -> None:
        """At the session's end: the tier stopped if it still runs, and its log removed."""
        self._kill()
        self.log.unlink(missing_ok=True)

    def _kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, 9)   # its PID namespace takes every server with it
            self.proc.wait()
