"""engine `existing`: install into a cluster the user already has, named by a kubeconfig context. Nothing is created;
the stack keeps a kubeconfig reduced to that one context, so later runs do not depend on the current context."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from kfp_laptop.errors import UserError


class KubeconfigError(UserError):
    """The kubeconfig or the requested context is missing; the message says which and how to fix it."""


@dataclass(frozen=True)
class ExistingCluster:
    context: str
    cluster: str
    kubeconfig: str   # only this context, its cluster and its user


def kubeconfig_paths(environ: dict[str, str] | None = None) -> list[Path]:
    """KUBECONFIG (a path list) or ~/.kube/config, as kubectl reads them."""
    environ = os.environ if environ is None else environ
    value = environ.get("KUBECONFIG")
    if value:
        return [Path(p).expanduser() for p in value.split(os.pathsep) if p]
    return [Path.home() / ".kube" / "config"]


def merge_kubeconfigs(documents: list[dict]) -> dict:
    """kubectl's merge rule: the first file that defines a name (or current-context) wins."""
    merged: dict = {"clusters": [], "contexts": [], "users": [], "current-context": ""}
    for doc in documents:
        for section in ("clusters", "contexts", "users"):
            known = {item["name"] for item in merged[section]}
            merged[section] += [item for item in doc.get(section) or [] if item.get("name") not in known]
        merged["current-context"] = merged["current-context"] or doc.get("current-context") or ""
    return merged


def select_context(kubeconfig: dict, context: str | None) -> ExistingCluster:
    """The named (or current) context with only what it needs; KubeconfigError listing the contexts there are."""
    contexts = {c["name"]: c.get("context") or {} for c in kubeconfig.get("contexts") or []}
    name = context or kubeconfig.get("current-context") or ""
    if name not in contexts:
        available = ", ".join(sorted(contexts)) or "none"
        wanted = f"context {name!r} is" if name else "no current context is"
        raise KubeconfigError(f"{wanted} not in the kubeconfig (contexts: {available}); "
                              "set kfp-laptop:kubeContext to one of them")
    entry = contexts[name]

    def named(section: str, key: str) -> list[dict]:
        return [item for item in kubeconfig.get(section) or [] if item.get("name") == entry.get(key)]

    minimal = {"apiVersion": "v1", "kind": "Config", "current-context": name,
               "contexts": [{"name": name, "context": entry}],
               "clusters": named("clusters", "cluster"), "users": named("users", "user")}
    return ExistingCluster(context=name, cluster=entry.get("cluster", name),
                           kubeconfig=yaml.safe_dump(minimal, sort_keys=False))


def load_existing(context: str | None, environ: dict[str, str] | None = None) -> ExistingCluster:
    """Read the user's kubeconfig files and select the context."""
    paths = [p for p in kubeconfig_paths(environ) if p.is_file()]
    if not paths:
        raise KubeconfigError(f"no kubeconfig found at {', '.join(map(str, kubeconfig_paths(environ)))}; "
                              "engine existing needs a context to install into "
                              "(set KUBECONFIG or log in to the cluster)")
    return select_context(merge_kubeconfigs([_read_kubeconfig(p) for p in paths]), context)


def _read_kubeconfig(path: Path) -> dict:
    """One kubeconfig file as data; KubeconfigError naming the file when it cannot be read or is not a kubeconfig."""
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as err:
        raise KubeconfigError(f"cannot read the kubeconfig {path}: {str(err).splitlines()[0]}") from None
    if not isinstance(document, dict):
        raise KubeconfigError(f"{path} is not a kubeconfig (a mapping with clusters, contexts and users)")
    return document
