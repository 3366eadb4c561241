"""Renders of other supported KFP releases, for the per-release tests: made here from bare git mirrors, never
committed. Their Argo parts are remote kustomize references to argoproj/argo-workflows; those are rewritten to a
local export of the same tag, so a render needs no network.

    python -m tests.support.renders --kfp-git DIR --argo-git DIR [2.14.4 2.15.0 2.16.1]

writes `<cache>/renders/<version>/{cluster-scoped-resources,platform-agnostic}.yaml` (the `kfpManifests` layout),
with <cache> = $XDG_CACHE_HOME/kfp-laptop or ~/.cache/kfp-laptop.
"""
from __future__ import annotations

import argparse
import io
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import pytest

from infra.manifests.source import UPSTREAM_TREES, cache_root, kustomize

RELEASES = ("2.14.4", "2.15.0", "2.16.1")
ARGO_REF = re.compile(r"https://github\.com/argoproj/argo-workflows/(?P<path>[^?\s]+)\?ref=(?P<ref>[^&\s]+)\S*")
HOW = "make them with `python -m tests.support.renders --kfp-git DIR --argo-git DIR` (bare clones of " \
      "kubeflow/pipelines and argoproj/argo-workflows)"


def renders_root() -> Path:
    return cache_root() / "renders"


def _export(git_dir: Path, ref: str, subtree: str, into: Path) -> None:
    """`subtree`'s folders at `ref` (its loose top-level files, e.g. Argo's big quick-start YAMLs, are not needed
    and may be absent from a partial mirror)."""
    folders = subprocess.run(["git", f"--git-dir={git_dir}", "ls-tree", "-d", "--name-only", ref, f"{subtree}/"],
                             capture_output=True, check=True, text=True).stdout.split()
    archive = subprocess.run(["git", f"--git-dir={git_dir}", "archive", "--format=tar", ref, *folders],
                             capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")


def render_release(version: str, kfp_git: Path, argo_git: Path, out: Path) -> Path:
    """Render `version` into `out/<version>/`; returns that folder."""
    with tempfile.TemporaryDirectory(prefix=f"kfp-{version}-") as work:
        root = Path(work)
        _export(kfp_git, version, "manifests/kustomize", root / "kfp")
        for kustomization in (root / "kfp").rglob("kustomization.yaml"):
            text = kustomization.read_text()

            def local(match: re.Match, here: Path = kustomization.parent) -> str:
                argo = root / f"argo-{match['ref']}"
                if not argo.exists():
                    _export(argo_git, match["ref"], "manifests", argo)
                return os.path.relpath(argo / match["path"], here)   # kustomize refuses absolute roots

            rewritten = ARGO_REF.sub(local, text)
            if rewritten != text:
                kustomization.write_text(rewritten)
        folder = out / version
        folder.mkdir(parents=True, exist_ok=True)
        for file, tree in UPSTREAM_TREES.items():
            (folder / file).write_text(kustomize(str(root / "kfp" / "manifests" / "kustomize" / tree)))
    return folder


def rendered(version: str) -> Path:
    """The render of `version` for a test; skips (saying how to make it) when there is none."""
    folder = renders_root() / version
    if not all((folder / f).is_file() for f in UPSTREAM_TREES):
        pytest.skip(f"no render of KFP {version} in {renders_root()}: {HOW}")
    return folder


SUPPORTED = ("2.14.4", "2.15.0", "2.16.1", "2.17.0")


def release_folder(version: str) -> Path:
    """The upstream render of a supported release: 2.17.0 from ../shared/fixtures, the others from `renders_root()`
    (the test skips, saying how to make them, when there is none)."""
    from tests.support.upstream import KFP_FIXTURE

    if version == "2.17.0":
        if not all((KFP_FIXTURE / f).is_file() for f in UPSTREAM_TREES):
            pytest.skip(f"upstream KFP 2.17.0 render not found at {KFP_FIXTURE}")
        return KFP_FIXTURE
    return rendered(version)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.renders", description=__doc__.splitlines()[0])
    parser.add_argument("--kfp-git", type=Path, required=True)
    parser.add_argument("--argo-git", type=Path, required=True)
    parser.add_argument("versions", nargs="*", default=list(RELEASES))
    args = parser.parse_args(argv)
    for version in args.versions:
        print(f"rendered KFP {version} into {render_release(version, args.kfp_git, args.argo_git, renders_root())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
