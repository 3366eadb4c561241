"""The stack's outputs (the contract's names, as `pulumi stack output --json --show-secrets` prints them), parsed once
into one typed object and passed along: `pipelines` (Endpoints, Target), `inv port-forward` and `inv doctor` read
this object, never the raw dict. Every bad field is named in one message, with the fix.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from typing import Any, Callable, Mapping, Sequence
from urllib.parse import urlsplit

from infra.config import ARCHES, ENGINES
from kfp_laptop.errors import UserError

UP_FIX = "run `inv up` to bring the stack up to date (it exports every output the tasks read)"
# The outputs that are URLs on the host, each with its own port (the ones `inv port-forward` serves).
HOST_URL_OUTPUTS = ("kfp_endpoint", "minio_endpoint", "minio_console")
_VERSION = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+")
_PORT = re.compile(r"[0-9]{1,5}")
_HOST = re.compile(r"[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]")


@dataclass(frozen=True)
class ClusterOutput:
    engine: str     # kind | k3d | existing
    name: str
    context: str
    arch: str       # amd64 | arm64


@dataclass(frozen=True)
class StackOutputs:
    """Every output of the contract. A field a caller did not require (see `parse`) may be None; the ones it did
    require are present and valid."""
    kfp_endpoint: str | None = None       # http://127.0.0.1:8080, UI and API, without a trailing '/'
    kfp_version: str | None = None
    minio_endpoint: str | None = None
    minio_console: str | None = None
    minio_access_key: str | None = field(default=None, repr=False)
    minio_secret_key: str | None = field(default=None, repr=False)
    pipeline_root: str | None = None      # minio://mlpipeline/v2/artifacts
    registry: str | None = None           # localhost:5001
    cluster: ClusterOutput | None = None
    kubeconfig: str | None = field(default=None, repr=False)

    @classmethod
    def parse(cls, raw: Mapping[str, Any], required: Sequence[str] | None = None) -> "StackOutputs":
        """Validate `raw`: each key in `required` (default: all) must be there; every key there must be valid.
        One UserError lists every bad field."""
        if not isinstance(raw, Mapping):
            raise UserError(f"the stack's outputs are not a mapping of name to value (got {type(raw).__name__})",
                            UP_FIX)
        wanted = set(OUTPUT_NAMES if required is None else required)
        values, problems = {}, []
        for name in OUTPUT_NAMES:
            value = raw.get(name)
            if value is None or value == "" or value == {}:
                if name in wanted:
                    problems.append(f"`{name}` is missing")
                continue
            try:
                values[name] = _PARSERS[name](value)
            except ValueError as err:
                problems.append(f"`{name}`{err}")
        if problems:
            raise UserError("the stack's outputs are not what `inv up` writes: " + "; ".join(problems), UP_FIX)
        return cls(**values)

    @classmethod
    def of(cls, outputs: "StackOutputs | Mapping[str, Any]", required: Sequence[str] | None = None) -> "StackOutputs":
        """`outputs` itself when already parsed, else parsed."""
        return outputs if isinstance(outputs, StackOutputs) else cls.parse(outputs, required)

    def host_ports(self) -> dict[str, int]:
        """The 127.0.0.1 port of each host URL output (kfp_endpoint, minio_endpoint, minio_console) that is set."""
        return {name: urlsplit(getattr(self, name)).port for name in HOST_URL_OUTPUTS if getattr(self, name)}


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f" is {type(value).__name__} {value!r:.60}, not text")
    if any(ord(char) < 32 or ord(char) == 127 for char in value):
        raise ValueError(f" = {value!r:.80} holds control characters")
    return value


def _url(value: Any) -> str:
    text = _text(value)
    parts = urlsplit(text)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f" = {text!r:.80} is not an http(s) URL")
    if port in (-1, 0) or not _PORT.fullmatch(parts.netloc.rsplit(":", 1)[-1]):
        raise ValueError(f" = {text!r:.80} has no valid port (the stack publishes each endpoint on its own port)")
    if parts.query or parts.fragment:
        raise ValueError(f" = {text!r:.80} has a query or fragment; an endpoint is scheme://host:port[/path]")
    return text.rstrip("/")


def _version(value: Any) -> str:
    text = _text(value)
    if not _VERSION.fullmatch(text):
        raise ValueError(f" = {text!r:.80} is not a release like 2.17.0")
    return text


def _secret(value: Any) -> str:
    """Credentials and the kubeconfig (a YAML text, so newlines are allowed); never quoted in a message."""
    if not isinstance(value, str):
        raise ValueError(f" is {type(value).__name__}, not text (value not shown: it is a secret)")
    return value


def _pipeline_root(value: Any) -> str:
    text = _text(value)
    if not text.startswith("minio://") or not text[len("minio://"):].strip("/"):
        raise ValueError(f" = {text!r:.80} is not a minio://bucket/... URI")
    return text.rstrip("/")


def _registry(value: Any) -> str:
    text = _text(value)
    host, _, port = text.rpartition(":")
    if not host or not _HOST.fullmatch(host) or not _PORT.fullmatch(port) or not 1 <= int(port) <= 65535:
        raise ValueError(f" = {text!r:.80} is not host:port (the registry's port on 127.0.0.1)")
    return text


def _cluster(value: Any) -> ClusterOutput:
    if not isinstance(value, Mapping):
        raise ValueError(f" is {type(value).__name__} {value!r:.60}, not a mapping of engine, name, context, arch")
    problems = []
    parsed = {}
    for key, allowed in (("engine", ENGINES), ("name", None), ("context", None), ("arch", ARCHES)):
        item = value.get(key)
        if not isinstance(item, str) or not item or (allowed and item not in allowed):
            problems.append(f"`cluster.{key}` is {item!r:.60}" + (f", not one of {', '.join(allowed)}" if allowed else
                                                                   ", not a name"))
        parsed[key] = item
    if problems:
        # The caller prefixes "`cluster`"; name the nested fields instead.
        raise ValueError(": " + "; ".join(problems))
    return ClusterOutput(**parsed)


_PARSERS: dict[str, Callable[[Any], Any]] = {
    "kfp_endpoint": _url, "kfp_version": _version, "minio_endpoint": _url, "minio_console": _url,
    "minio_access_key": _secret, "minio_secret_key": _secret, "pipeline_root": _pipeline_root,
    "registry": _registry, "cluster": _cluster, "kubeconfig": _secret,
}
OUTPUT_NAMES = tuple(f.name for f in fields(StackOutputs))
