"""The engine tier's guard (its tests are collected only inside a network namespace with loopback alone), and its
background run's time limit."""
import os
import shutil
import subprocess
import sys

import pytest

from tests.engine.controlplane import in_own_netns
from tests.engine.toolchain import ROOT

CHECK = [sys.executable, "-c", "from tests.engine.controlplane import in_own_netns; print(in_own_netns())"]


def test_the_hosts_network_is_never_taken_for_the_tiers(monkeypatch):
    monkeypatch.setenv("KFP_LAPTOP_ENGINE_NETNS", "1")
    assert in_own_netns() is False


@pytest.mark.skipif(not shutil.which("unshare") or os.geteuid() != 0, reason="needs root and unshare")
def test_a_namespace_of_its_own_is_recognised_though_sysfs_still_shows_the_hosts():
    env = dict(os.environ, KFP_LAPTOP_ENGINE_NETNS="1")
    inside = subprocess.run(["unshare", "--net", "sh", "-c", 'ip link set lo up && exec "$@"', "sh", *CHECK],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert inside.stdout.strip() == "True", inside.stderr
    unflagged = subprocess.run(["unshare", "--net", *CHECK], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert unflagged.stdout.strip() == "False", unflagged.stderr


def test_a_tier_that_overruns_is_stopped_and_its_output_kept(tmp_path):
    """A stand-in for the tier (this test must not start the real one): a process that never ends on its own."""
    from tests.engine import tier_run

    log = tmp_path / "tier.log"
    log.write_text("still previewing ...\n")
    run = tier_run.TierRun(subprocess.Popen(["sleep", "60"], start_new_session=True), log)
    code, output = run.result(timeout=0.2)
    assert code is None and output == "still previewing ...\n" and run.proc.poll() is not None
    run.stop()
    assert not log.exists()
