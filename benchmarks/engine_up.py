"""How long the real `pulumi up` takes on the engine tier: from an empty cluster, and a no-op `up` right after.

    .venv/bin/python benchmarks/engine_up.py        # needs the toolchain (`inv toolchain`) and root

Runs inside a network namespace of its own with only loopback up (it re-executes itself under `unshare`), against
the tier's control plane (tests/engine/controlplane.py), with the tier's stand-ins. Prints both times, the resource
count, and the no-op's share of the first `up` (target for the no-op: under 20 s).
"""
from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.engine import toolchain  # noqa: E402
from tests.engine.controlplane import ControlPlane, PodIpServer, in_own_netns  # noqa: E402
from tests.engine.pulumi_cli import Stack, tier_env  # noqa: E402
from tests.engine.tier.conftest import POD_ANSWERS, stack_config  # noqa: E402


def main() -> int:
    missing = toolchain.missing()
    if missing:
        print(f"toolchain not built ({', '.join(missing)} missing): run `inv toolchain` first")
        return 1
    if not in_own_netns():
        env = dict(os.environ, KFP_LAPTOP_ENGINE_NETNS="1")
        return subprocess.call(["unshare", "--net", "--pid", "--fork", "--kill-child", "--", "sh", "-c",
                                'ip link set lo up && exec "$@"', "sh", sys.executable, *sys.argv], env=env)
    work = Path(tempfile.mkdtemp(prefix="kfp-laptop-engine-bench-"))
    plane = ControlPlane(toolchain.cache_dir(), work / "control-plane")
    answers = None
    try:
        plane.start()
        answers = PodIpServer(plane, "kubeflow", POD_ANSWERS).start()
        env = tier_env(work / "pulumi", plane.kubeconfig_path)
        env.pop("PULUMI_SKIP_CHECKPOINTS")   # timed as a user's `pulumi up` runs: every checkpoint written
        stack = Stack(f"bench-{secrets.token_hex(3)}", env)
        stack.init(stack_config(work / "data"))
        try:
            first = stack.up()
            if not first.ok:
                print(first.out[-3000:])
                return 1
            noop = stack.up()
            count = stack.resource_count()
            print(f"pulumi up, empty cluster: {first.seconds:6.1f} s  ({count} resources)")
            print(f"pulumi up, no changes:    {noop.seconds:6.1f} s  ({noop.seconds / first.seconds:.2f} of the first; "
                  f"target < 20 s: {'met' if noop.seconds < 20 else 'NOT met'})")
        finally:
            stack.destroy()
            stack.remove()
    finally:
        if answers:
            answers.stop()
        plane.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
