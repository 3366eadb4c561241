"""How lightweight components are packaged: one pinned image and pinned packages, two flavours.

KFP serializes a lightweight component from its source and, before running it, pip-installs `packages_to_install`
(and the kfp SDK) into the task's interpreter. On the cluster that is what makes scikit-learn exist in the pod. On
`kfp.local` with `SubprocessRunner(use_venv=False)` the task runs in this project's own venv, where every pin is
already installed, so the same pip calls only cost seconds per task; the LOCAL flavour leaves them out.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from kfp import dsl

# Official multi-arch image (amd64 + arm64), exact tag: the interpreter every cluster task runs on.
BASE_IMAGE = "python:3.11.14-slim-bookworm"

# Exactly the pins of pyproject.toml (tests/test_components.py checks they agree); cp311 wheels exist for both arches.
PINNED_PACKAGES = ("scikit-learn==1.9.1", "pandas==3.1.1", "pyarrow==26.0.1")


@dataclass(frozen=True)
class Flavour:
    """What a task installs before it runs: `packages` and, if `install_kfp`, the kfp SDK at this client's version."""

    name: str
    packages: tuple[str, ...]
    install_kfp: bool


CLUSTER = Flavour("cluster", PINNED_PACKAGES, install_kfp=True)
LOCAL = Flavour("local", (), install_kfp=False)
# A cluster task that needs nothing beyond the standard library (the quickstart's `add`): only the kfp SDK.
CLUSTER_PLAIN = Flavour("cluster-plain", (), install_kfp=True)


def lightweight(func: Callable, flavour: Flavour, helpers: Sequence[Callable] = ()) -> dsl.PythonComponent:
    """Make a lightweight component of `func`; `helpers` (plain functions) are shipped inside its source."""
    return dsl.component(func, base_image=BASE_IMAGE, packages_to_install=list(flavour.packages),
                         install_kfp_package=flavour.install_kfp, additional_funcs=list(helpers) or None)
