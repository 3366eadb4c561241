"""What every end-to-end test shares: the opt-in switch and the tools it needs on PATH.

These tests need a machine with Docker, kind or k3d, kubectl and the Pulumi CLI; nothing here stands in for them.
"""
from __future__ import annotations

import os
import shutil

import pytest

OPT_IN = "KFP_LAPTOP_E2E"


def why_skipped(*tools: str) -> str | None:
    """The reason to skip on this machine, or None when the user opted in and every tool is installed."""
    if os.environ.get(OPT_IN) != "1":
        return (f"opt-in end-to-end test: set {OPT_IN}=1 (or run `inv test --e2e`) on a machine with "
                f"{', '.join(tools)}")
    missing = [tool for tool in tools if not shutil.which(tool)]
    return f"end-to-end test needs {', '.join(missing)} on PATH" if missing else None


def requires(*tools: str) -> list[pytest.MarkDecorator]:
    """`pytestmark` for an end-to-end module: marked e2e, skipped with the reason unless it can run."""
    reason = why_skipped(*tools)
    return [pytest.mark.e2e, pytest.mark.skipif(reason is not None, reason=reason or "")]
