"""Where the upstream KFP objects come from: a pre-rendered folder (`kfpManifests`) or a per-user cache.

Upstream's kustomize trees pull Argo from GitHub, so a render needs the network. It happens once per version; the
result is kept in `~/.cache/kfp-laptop/kfp-<version>/` in the same layout as a `kfpManifests` folder, and every later
`pulumi up`/`preview` reads it offline.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import yaml

from infra.manifests.releases import require_version
from infra.tools import TIMED_OUT, run_tool
from kfp_laptop.errors import UserError

CLUSTER_FILE = "cluster-scoped-resources.yaml"
NAMESPACED_FILE = "platform-agnostic.yaml"
# File in the cache/kfpManifests layout -> upstream kustomize tree it is rendered from (installed in this order).
UPSTREAM_TREES = {CLUSTER_FILE: "cluster-scoped-resources", NAMESPACED_FILE: "env/platform-agnostic"}
UPSTREAM_REPO = "github.com/kubeflow/pipelines/manifests/kustomize"
RENDER_SECONDS = 600   # two git fetches from GitHub on a slow connection


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


# A render is ~1 MB of plain YAML (about 200 000 nodes, no aliases). Aliases may repeat a node, but a file whose
# aliases expand it beyond this many nodes is an alias bomb ("billion laughs") and is refused before it is built.
MAX_EXPANDED_NODES = 2_000_000
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)   # libyaml when available


class ManifestError(ValueError):
    """A manifests file that is not what `kubectl kustomize` writes; the message names the document and object."""


def parse(text: str) -> list[dict]:
    """All non-empty documents of a multi-document YAML text (libyaml when available: the renders are ~1 MB);
    ManifestError when aliases would expand it beyond `MAX_EXPANDED_NODES` or refer to themselves."""
    if "*" in text:   # only an alias can expand; plain renders skip the extra pass
        for number, node in enumerate(yaml.compose_all(text, Loader=_LOADER), 1):
            _expanded_size(node, number)
    return [doc for doc in yaml.load_all(text, Loader=_LOADER) if doc]


PARSED_KEPT = 8   # renders whose parse is kept (a few releases, a few edited kfpManifests folders)


def parse_cached(text: str) -> list[dict]:
    """`parse(text)`, kept as JSON in the cache under the text's digest: JSON reads about 20x faster than YAML, and
    every `pulumi up`/`preview` reads the same render again. Kept only when JSON gives back exactly what YAML gave
    (a Kubernetes object always does); a kept file that cannot be read is parsed again."""
    folder = cache_root() / "parsed"
    path = folder / f"{hashlib.sha256(text.encode()).hexdigest()}.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        pass
    documents = parse(text)
    try:
        encoded = json.dumps(documents)
        if json.loads(encoded) == documents:
            folder.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
            partial.write_text(encoded)
            os.replace(partial, path)
            for old in sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)[PARSED_KEPT:]:
                old.unlink(missing_ok=True)
    except (TypeError, ValueError, OSError):
        pass   # not JSON-shaped, or the cache is not writable: parsed again next time
    return documents


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [item for pair in node.value for item in pair]
    return list(node.value) if isinstance(node, yaml.SequenceNode) else []


def _expanded_size(root: yaml.Node, number: int) -> int:
    """How many nodes document `number` has once every alias is expanded; each distinct node is sized once, in a
    depth-first walk without recursion (-1 marks a node whose size is being computed: meeting it again is a cycle)."""
    sizes: dict[int, int] = {id(root): -1}
    stack = [(root, iter(_children(root)))]
    while stack:
        node, pending = stack[-1]
        child = next(pending, None)
        if child is None:
            stack.pop()
            total = 1 + sum(sizes[id(c)] for c in _children(node))
            if total > MAX_EXPANDED_NODES:
                raise ManifestError(f"document {number} expands to more than {MAX_EXPANDED_NODES:,} YAML nodes "
                                    "through aliases (an alias bomb); a render has no aliases")
            sizes[id(node)] = total
        elif sizes.get(id(child)) == -1:
            raise ManifestError(f"document {number} refers to itself through a YAML alias")
        elif id(child) not in sizes:
            sizes[id(child)] = -1
            stack.append((child, iter(_children(child))))
    return sizes[id(root)]


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
    result = run_tool(["kubectl", "kustomize", target], timeout=RENDER_SECONDS)
    if result.returncode == TIMED_OUT:
        raise UserError(f"`kubectl kustomize {target}` did not finish within {RENDER_SECONDS} s and was stopped",
                        "check the network (the first render of a KFP version fetches from GitHub), or set "
                        "kfp-laptop:kfpManifests to a folder rendered elsewhere")
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
    cluster_scoped, platform = _parse_file(folder / CLUSTER_FILE), _parse_file(folder / NAMESPACED_FILE)
    _refuse_duplicates([(folder / CLUSTER_FILE, cluster_scoped), (folder / NAMESPACED_FILE, platform)])
    return UpstreamManifests([obj for _, obj in cluster_scoped], [obj for _, obj in platform])


RENDER_AGAIN = "render it again with `kubectl kustomize` of the upstream tree (see docs/kfp-platform.md)"


def _parse_file(path: Path) -> list[tuple[int, dict]]:
    """A rendered file's objects with their document numbers; UserError naming the file (and the document and
    object) when it is not what `kubectl kustomize` writes: not UTF-8, not YAML, an alias bomb, or a document that
    is not a Kubernetes object with apiVersion, kind and metadata.name."""
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as err:
        raise UserError(f"cannot read {path}: {err.strerror or err}", RENDER_AGAIN) from None
    except UnicodeDecodeError as err:
        raise UserError(f"{path} is not YAML text: byte {err.start} is not UTF-8 (a binary file?)", RENDER_AGAIN) \
            from None
    try:
        documents = [(number, doc) for number, doc in enumerate(parse_cached(text), 1)]
    except ManifestError as err:
        raise UserError(f"{path}: {err}", RENDER_AGAIN) from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise UserError(f"cannot read {path}{where}: {str(err).splitlines()[0]}", RENDER_AGAIN) from None
    except RecursionError:
        raise UserError(f"cannot read {path}: its YAML is nested too deeply to be a Kubernetes object",
                        RENDER_AGAIN) from None
    for number, obj in documents:
        problem = _object_problem(obj)
        if problem:
            raise UserError(f"{path}, document {number}{_named(obj)}: {problem}", RENDER_AGAIN)
    return documents


def _object_problem(obj: object) -> str | None:
    if not isinstance(obj, dict):
        return f"a YAML {type(obj).__name__}, not a Kubernetes object"
    for key in ("apiVersion", "kind"):
        if not isinstance(obj.get(key), str) or not obj[key]:
            return f"`{key}` is missing or not text"
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        return "it has no `metadata`"
    if not isinstance(meta.get("name"), str) or not meta["name"]:
        return "`metadata.name` is missing or not text"
    if "namespace" in meta and not isinstance(meta["namespace"], str):
        return "`metadata.namespace` is not text"
    return None


def _named(obj: object) -> str:
    if not isinstance(obj, dict):
        return ""
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    name = meta.get("name")
    return f" ({obj.get('kind')}/{name})" if obj.get("kind") and isinstance(name, str) else \
        (f" ({obj.get('kind')})" if isinstance(obj.get("kind"), str) else "")


def _refuse_duplicates(files: list[tuple[Path, list[tuple[int, dict]]]]) -> None:
    """One object defined twice (same API group, kind, namespace and name) would be applied twice, the second
    silently winning: refused, naming both places."""
    seen: dict[tuple[str, str, str, str], str] = {}
    for path, documents in files:
        for number, obj in documents:
            group = obj["apiVersion"].rpartition("/")[0]
            key = (group, obj["kind"], obj["metadata"].get("namespace") or "", obj["metadata"]["name"])
            where = f"{path.name} document {number}"
            if key in seen:
                namespace = f" in namespace {key[2]}" if key[2] else ""
                raise UserError(f"{obj['kind']}/{key[3]}{namespace} is defined twice: in {seen[key]} and {where} "
                                f"(folder {path.parent})", RENDER_AGAIN)
            seen[key] = where


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
