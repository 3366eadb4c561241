"""Where the upstream KFP 2.17.0 render is (`kubectl kustomize` of both trees): test data beside the repository in
../shared/fixtures, never copied into it. The one place that looks for it, for the tests and the benchmarks."""
from __future__ import annotations

import os
from pathlib import Path

from tests.support.imports import ROOT

KFP_FIXTURE = Path(os.environ.get("KFP_LAPTOP_FIXTURE", ROOT.parent / "shared" / "fixtures" / "kfp-2.17.0"))
FILES = ("cluster-scoped-resources.yaml", "platform-agnostic.yaml")


def missing_reason() -> str | None:
    """Why the render cannot be used here, or None when it can."""
    if all((KFP_FIXTURE / name).is_file() for name in FILES):
        return None
    return (f"upstream KFP 2.17.0 render not found at {KFP_FIXTURE} "
            "(expected ../shared/fixtures/kfp-2.17.0 beside the repo, or set KFP_LAPTOP_FIXTURE)")
