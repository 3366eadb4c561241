"""The engine tier as a background process: started as soon as collection ends, so it runs beside the rest of the
suite (it mostly waits on the engine and the control plane), and judged by `tests/engine/test_tier.py`, which the
suite runs last.

The run lives in a folder (its log, its process and start time, and its exit code once it ends), so any pytest
process of the session can judge it: the one that started it, or, under pytest-xdist, whichever worker runs the test
while the controller, which started it, outlives them all.

The tier's own pytest (`tests/engine/tier/`) runs inside a network namespace of its own with only loopback up
(`unshare --net`), and a PID namespace, so every server it started dies with it. Extra pytest arguments for the
tier: KFP_LAPTOP_ENGINE_ARGS.
"""
from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.engine import toolchain

TIER = Path(__file__).with_name("tier")
TEST_ID = "tests/engine/test_tier.py::test_engine_tier_in_its_own_network_namespace"
LOG, CODE, RUN = "tier.log", "code", "run.json"   # in the run's folder
TIMEOUT = 900   # seconds from its start; it takes about 5 minutes alone on 2 cores, more beside the suite


def namespace_reason() -> str | None:
    if not shutil.which("unshare") or os.geteuid() != 0:
        return "engine tier: needs root and `unshare` to run in its own network namespace"
    return None


def skip_reason() -> str | None:
    missing = toolchain.missing()
    if missing:
        return (f"engine tier: toolchain not built ({', '.join(missing)} missing): run `inv toolchain` once "
                "(over an hour cold on 2 cores, see docs/engine-tier.md)")
    return namespace_reason()


def tier_command() -> list[str]:
    return [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "-rA", str(TIER),
            *shlex.split(os.environ.get("KFP_LAPTOP_ENGINE_ARGS", ""))]


@dataclass
class TierRun:
    folder: Path
    proc: subprocess.Popen | None = None   # only in the process that started the run

    @classmethod
    def start(cls, folder: Path, command: list[str] | None = None) -> TierRun:
        """`command` (the tier's pytest unless given) inside fresh network and PID namespaces, loopback up; its exit
        code is written to the folder when it ends."""
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / LOG, "w") as out:
            proc = subprocess.Popen(["unshare", "--net", "--pid", "--fork", "--kill-child", "--", "sh", "-c",
                                     'ip link set lo up && "$@"; echo $? > "$0"', str(folder / CODE),
                                     *(command or tier_command())],
                                    cwd=toolchain.ROOT, env=dict(os.environ, KFP_LAPTOP_ENGINE_NETNS="1"),
                                    stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        (folder / RUN).write_text(json.dumps({"pid": proc.pid, "started": time.time()}))
        return cls(folder, proc)

    @classmethod
    def started(cls, folder: Path) -> TierRun | None:
        """The run another process of this session started in `folder` (None when none was)."""
        return cls(folder) if (folder / RUN).is_file() else None

    def result(self, timeout: float | None = None, poll: float = 0.5) -> tuple[int | None, str]:
        """(exit code, output) once the run ends; the code is None when it did not end within `timeout` seconds
        (by default, TIMEOUT from its start): it is stopped then."""
        run = json.loads((self.folder / RUN).read_text())
        deadline = time.time() + timeout if timeout is not None else run["started"] + TIMEOUT
        while (code := self._code()) is None and time.time() < deadline:
            time.sleep(poll)
        if code is None:
            self._kill(run["pid"])
        return code, (self.folder / LOG).read_text(errors="replace")

    def stop(self) -> None:
        """At the session's end, in the process that started it (elsewhere nothing): the run stopped if it still
        runs, its folder removed."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self._kill(self.proc.pid)
        shutil.rmtree(self.folder, ignore_errors=True)

    def _code(self) -> int | None:
        try:
            return int((self.folder / CODE).read_text())
        except (OSError, ValueError):   # not ended yet, or still being written
            return None

    def _kill(self, pid: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, 9)   # its PID namespace takes every server with it
        if self.proc is not None:
            self.proc.wait()
