"""Shared fixtures. The upstream KFP render lives in ../shared/fixtures (test data, never copied into the project)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.backend import backend_faithful  # noqa: F401  (shared fixture: kfp.local with backend hand-over)

ROOT = Path(__file__).resolve().parent.parent
KFP_FIXTURE = Path(os.environ.get("KFP_LAPTOP_FIXTURE", ROOT.parent / "shared" / "fixtures" / "kfp-2.17.0"))


@pytest.fixture(scope="session")
def kfp_fixture() -> Path:
    """The upstream KFP 2.17.0 render (`kubectl kustomize` of both trees); skips when this checkout has none beside it."""
    files = [KFP_FIXTURE / "cluster-scoped-resources.yaml", KFP_FIXTURE / "platform-agnostic.yaml"]
    if not all(f.is_file() for f in files):
        pytest.skip(f"upstream KFP 2.17.0 render not found at {KFP_FIXTURE} "
                    "(expected ../shared/fixtures/kfp-2.17.0 beside the repo, or set KFP_LAPTOP_FIXTURE)")
    return KFP_FIXTURE
