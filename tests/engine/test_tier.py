"""The engine tier (tests/engine/tier/): the real Pulumi CLI and program against a real Kubernetes control plane.

The tier runs in a network namespace of its own with only loopback up, so no packet of the tier (the fake pod and
service IPs included) can leave this machine. It starts in the background when collection ends
(tests/engine/tier_run.py, from tests/conftest.py: by the xdist controller when there is one) and this test, which
runs last, on whichever worker, waits for it and reports it. It skips with one line when the toolchain is not built
(`inv toolchain`).
"""
from __future__ import annotations

import pytest

from tests.engine import tier_run


def test_engine_tier_in_its_own_network_namespace(engine_tier, tmp_path):
    reason = tier_run.skip_reason()
    if reason:
        pytest.skip(reason)
    code, output = (engine_tier or tier_run.TierRun.start(tmp_path / "tier")).result()
    print(output)
    assert code is not None, f"engine tier did not finish in {tier_run.TIMEOUT} s:\n{output[-6000:]}"
    assert code == 0, f"engine tier failed:\n{output[-6000:]}"
