"""The engine tier's guard (its tests are collected only inside a network namespace with loopback alone), and its
background run's time limit."""
import os
import subprocess
import sys
import time

import pytest

from tests.engine import tier_run
from tests.engine.controlplane import in_own_netns
from tests.engine.toolchain import ROOT

CHECK = [sys.executable, "-c", "from tests.engine.controlplane import in_own_netns; print(in_own_netns())"]


def test_the_hosts_network_is_never_taken_for_the_tiers(monkeypatch):
    monkeypatch.setenv("KFP_LAPTOP_ENGINE_NETNS", "1")
    assert in_own_netns() is False


@pytest.mark.skipif(tier_run.namespace_reason() is not None, reason=str(tier_run.namespace_reason()))
def test_a_namespace_of_its_own_is_recognised_though_sysfs_still_shows_the_hosts():
    env = dict(os.environ, KFP_LAPTOP_ENGINE_NETNS="1")
    inside = subprocess.run(["unshare", "--net", "sh", "-c", 'ip link set lo up && exec "$@"', "sh", *CHECK],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert inside.stdout.strip() == "True", inside.stderr
    unflagged = subprocess.run(["unshare", "--net", *CHECK], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert unflagged.stdout.strip() == "False", unflagged.stderr


@pytest.mark.skipif(tier_run.namespace_reason() is not None, reason=str(tier_run.namespace_reason()))
def test_a_tier_that_overruns_is_stopped_and_its_output_kept(tmp_path):
    """A stand-in for the tier's pytest (this test must not start the real one), in the tier's namespaces: a
    process that never ends on its own."""
    run = tier_run.TierRun.start(tmp_path / "tier", ["sh", "-c", "echo still previewing ...; exec sleep 60"])
    log = tmp_path / "tier" / tier_run.LOG
    for _ in range(600):   # the stand-in has started and written its line
        if log.read_text():
            break
        time.sleep(0.05)
    code, output = run.result(timeout=0.1, poll=0.05)
    assert code is None and output == "still previewing ...\n" and run.proc.poll() is not None
    run.stop()
    assert not (tmp_path / "tier").exists()


@pytest.mark.skipif(tier_run.namespace_reason() is not None, reason=str(tier_run.namespace_reason()))
def test_any_process_of_the_session_gets_the_tiers_exit_code_and_output(tmp_path):
    """A stand-in for the tier's pytest that fails: the process that started it and another one that only knows
    its folder (an xdist worker) both see its code and output, and only the starter removes the folder."""
    run = tier_run.TierRun.start(tmp_path / "tier", ["sh", "-c", "echo 1 failed; exit 3"])
    worker = tier_run.TierRun.started(tmp_path / "tier")
    assert worker is not None and worker.proc is None
    assert worker.result(poll=0.05) == (3, "1 failed\n") == run.result(poll=0.05)
    worker.stop()
    assert (tmp_path / "tier").is_dir()
    run.stop()
    assert not (tmp_path / "tier").exists() and tier_run.TierRun.started(tmp_path / "tier") is None
