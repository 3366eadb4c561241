"""Where the upstream KFP objects come from: a pre-rendered folder (`kfpManifests`) or a per-user cache.

Upstream's kustomize trees pull Argo from GitHub, so a render needs the network. It happens once per version; the
result is kept in `~/.cache/kfp-laptop/kfp-<version>/` in the same layout as a `kfpManifests` folder, and every later
`pulumi up`/`preview` reads it offline.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import yaml

from infra.manifests.releases import require_version
from kfp_laptop.errors import UserError

CLUSTER_FILE = "cluster-scoped-resources.yaml"
NAMESPACED_FILE = "platform-agnostic.yaml"
# File in the cache/kfpManifests layout -> upstream kustomize tree it is rendered from (installed in this order).
UPSTREAM_TREES = {CLUSTER_FILE: "cluster-scoped-resources", NAMESPACED_FILE: "env/platform-agnostic"}
UPSTREAM_REPO = "github.com/kubeflow/pipelines/manifests/kustomize"


@dataclass(frozen=True)
class UpstreamManifests:
    """The two upstream trees as lists of objects, in the order they are installed."""
    cluster_scoped: list[dict]
    platform: list[dict]


def upstream_target(tree: str, version: str) -> str:
    """The kustomize target of one upstream tree at a release tag."""
    return f"{UPSTREAM_REPO}/{tree}?ref={version}"


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "kfp-laptop"


def parse(text: str) -> list[dict]:
    """All non-empty documents of a multi-document YAML text (libyaml when available: the renders are ~1 MB)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return [doc for doc in yaml.load_all(text, Loader=loader) if doc]


def dump(objects: list[dict]) -> str:
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump_all(objects, Dumper=dumper, sort_keys=False)


def dump_for_machines(objects: list[dict]) -> str:
    """The same objects as a YAML stream of JSON documents (YAML reads JSON): for the provider, not for people.
    About 20x faster to write than `dump`, which matters for the CRDs' schemas (most of a release's text)."""
    return "".join(f"---\n{json.dumps(o)}\n" for o in objects)


def failure_reason(stderr: str) -> str:
    """The telling line of kubectl's multi-line error (git's `fatal: ...` when a fetch failed)."""
    lines = [line.strip() for line in stderr.splitlines() if len(line.strip()) > 2]
    telling = [line for line in lines if "fatal:" in line or "error:" in line.lower()]
    return (telling or lines or ["(no message)"])[-1][:400]


def kustomize(target: str) -> str:
    """`kubectl kustomize TARGET` (a folder or a remote git reference); its YAML text."""
    if not shutil.which("kubectl"):
        raise UserError("`kubectl` is needed to render the upstream KFP manifests but is not installed",
                        "install kubectl (https://kubernetes.io/docs/tasks/tools/), "
                        "or set kfp-laptop:kfpManifests to a pre-rendered folder")
    result = subprocess.run(["kubectl", "kustomize", target], capture_output=True, text=True)
    if result.returncode != 0:
        raise UserError(f"rendering {target} failed: {failure_reason(result.stderr)}",
                        "the first render of a KFP version needs the network (GitHub); connect once, or set "
                        "kfp-laptop:kfpManifests to a folder rendered elsewhere")
    return result.stdout


def render_to_cache(version: str, folder: Path,
                    target: Callable[[str, str], str] = upstream_target) -> None:
    """Render both trees into `folder`, all or nothing: a failed render never leaves a half-filled cache."""
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    except OSError as err:
        raise UserError(f"cannot create the KFP manifest cache in {folder.parent}: {err.strerror or err}",
                        "make it writable by you, or set XDG_CACHE_HOME to a folder of yours") from None
    try:
        for file, tree in UPSTREAM_TREES.items():
            (staging / file).write_text(kustomize(target(tree, version)))
        try:
            staging.rename(folder)
        except OSError:
            if not is_complete(folder):   # else a concurrent run (a second preview) finished first: same render
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def is_complete(folder: Path) -> bool:
    return all((folder / f).is_file() for f in UPSTREAM_TREES)


def read_folder(folder: Path) -> UpstreamManifests:
    missing = [f for f in UPSTREAM_TREES if not (folder / f).is_file()]
    if missing:
        raise UserError(f"{folder} does not hold {', '.join(missing)}",
                        "render it with `kubectl kustomize` of the upstream trees (see docs/kfp-platform.md)")
    return UpstreamManifests(_parse_file(folder / CLUSTER_FILE), _parse_file(folder / NAMESPACED_FILE))


def _parse_file(path: Path) -> list[dict]:
    """A rendered file's objects; UserError naming the file when it is not YAML `kubectl kustomize` wrote."""
    try:
        objects = parse(path.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise UserError(f"cannot read {path}: {str(err).splitlines()[0]}",
                        "render it again with `kubectl kustomize` of the upstream tree (see docs/kfp-platform.md)") \
            from None
    if not all(isinstance(obj, dict) and "kind" in obj for obj in objects):
        raise UserError(f"{path} holds something other than Kubernetes objects",
                        "render it again with `kubectl kustomize` of the upstream tree (see docs/kfp-platform.md)")
    return objects


def load_upstream(version: str, kfp_manifests: Path | None = None, cache: Path | None = None,
                  target: Callable[[str, str], str] = upstream_target) -> UpstreamManifests:
    """The upstream objects of `version`: from `kfp_manifests` when given, else the cache (rendered on first use);
    UserError when they are another release than `version` (`releases.require_version`)."""
    if kfp_manifests is not None:
        folder = Path(kfp_manifests)
    else:
        folder = (cache or cache_root()) / f"kfp-{version}"
        if not is_complete(folder):
            shutil.rmtree(folder, ignore_errors=True)
            render_to_cache(version, folder, target)
    upstream = read_folder(folder)
    require_version(upstream.cluster_scoped + upstream.platform, version, str(folder))
    return upstream
