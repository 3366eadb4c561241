"""The engine tier (tests/engine/tier/): the real Pulumi CLI and program against a real Kubernetes control plane.

This test runs the tier's pytest inside a network namespace of its own with only loopback up (`unshare --net`), so
no packet of the tier (the fake pod and service IPs included) can leave this machine. It skips with one line when
the toolchain is not built (`inv toolchain`). Extra pytest arguments for the tier: KFP_LAPTOP_ENGINE_ARGS.
"""
from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.engine import toolchain

TIER = Path(__file__).with_name("tier")
TIMEOUT = 540


def test_engine_tier_in_its_own_network_namespace():
    missing = toolchain.missing()
    if missing:
        pytest.skip(f"engine tier: toolchain not built ({', '.join(missing)} missing): run `inv toolchain` once "
                    "(over an hour cold on 2 cores, see docs/engine-tier.md)")
    if not shutil.which("unshare") or os.geteuid() != 0:
        pytest.skip("engine tier: needs root and `unshare` to run in its own network namespace")
    inner = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "-rA", str(TIER),
             *shlex.split(os.environ.get("KFP_LAPTOP_ENGINE_ARGS", ""))]
    env = dict(os.environ, KFP_LAPTOP_ENGINE_NETNS="1")
    # Own PID namespace too: when the tier ends (or times out), every server it started dies with it.
    done = subprocess.run(["unshare", "--net", "--pid", "--fork", "--kill-child", "--", "sh", "-c",
                           'ip link set lo up && exec "$@"', "sh", *inner],
                          cwd=toolchain.ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=TIMEOUT)
    print(done.stdout)
    assert done.returncode == 0, f"engine tier failed:\n{done.stdout[-6000:]}"
