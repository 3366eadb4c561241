"""Stack configuration: read once from `pulumi.Config`, validated into a frozen dataclass before anything is registered.

`from_raw` is the pure half (plain dict in, `StackConfig` out, or a `ConfigError`, a kind of `UserError`, naming key,
value and what is allowed); `load` is the Pulumi half that turns a `ConfigError` into a `pulumi.RunError` (one message,
no traceback).
"""
from __future__ import annotations

import os
import platform
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from infra.data_dir import claim_problem
from kfp_laptop.errors import UserError

PROJECT = "kfp-laptop"
ENGINES = ("kind", "k3d", "existing")
ARCHES = ("amd64", "arm64")
# The MinIO community edition is archived; quay.io still serves this multi-arch (amd64+arm64) release.
DEFAULT_MINIO_IMAGE = "quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z"
KFP_MANIFEST_FILES = ("cluster-scoped-resources.yaml", "platform-agnostic.yaml")
# The one table of host ports: config key -> StackConfig field (doctor, `inv up` and the engines read it).
PORT_FIELDS = {"kfpPort": "kfp_port", "minioPort": "minio_port", "minioConsolePort": "minio_console_port",
               "registryPort": "registry_port"}
PORT_KEYS = tuple(PORT_FIELDS)
# Below 1024 a port needs root (or CAP_NET_BIND_SERVICE): Docker would publish it only as root, and a laptop's
# user tools (kubectl port-forward) could not bind it at all.
MIN_HOST_PORT = 1024
# The longest cluster name each engine accepts: k3d refuses names over 32 characters (pkg/types/defaults.go
# DefaultClusterNameMaxLength, k3d v5.9.0); kind warns above 50 that the node's host name (<name>-control-plane)
# may not fit the 64-character limit (pkg/cluster/internal/create/create.go clusterNameMax, kind v0.29.0).
# `existing` creates no cluster: the name only names the registry container, a DNS label.
CLUSTER_NAME_MAX = {"kind": 50, "k3d": 32, "existing": 63}

# Every key of the `kfp-laptop` namespace with its default ("" = unset); Pulumi.yaml declares the same (tested).
DEFAULTS: dict[str, Any] = {
    "engine": "kind",
    "clusterName": "kfp",
    "kubeContext": "",
    "arch": "auto",
    "kfpVersion": "2.17.0",
    "kfpManifests": "",
    "minioImage": DEFAULT_MINIO_IMAGE,
    "kfpPort": 8080,
    "minioPort": 9000,
    "minioConsolePort": 9001,
    "registryPort": 5001,
    "dataDir": "",
}

# Every pattern is matched with re.fullmatch (`$` would accept a trailing newline) and spells digits as [0-9]
# (`\d` also matches non-ASCII digits).
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_VERSION = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+")
_PORT = re.compile(r"[0-9]{1,5}")
# Docker's reference grammar (distribution/reference): the first part is a registry host only when it has a '.'
# or a ':port' or is `localhost`; every path part is lower case, the whole name at most 255 characters.
_DOMAIN_PART = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:localhost|{_DOMAIN_PART}(?:\.{_DOMAIN_PART})+|{_DOMAIN_PART}(?=:))(?::[0-9]+)?"
_PATH_PART = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_IMAGE = re.compile(rf"(?P<name>(?:{_DOMAIN}/)?{_PATH_PART}(?:/{_PATH_PART})*)"
                    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(?:@(?P<digest>sha256:[0-9a-f]{64}))?")
IMAGE_NAME_MAX = 255
# Characters no path or context name may hold: they would break a generated shell step or config file (control
# characters, newlines) or the volume specs of Docker and k3d, which split on ':'.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_MACHINE_ARCH = {"x86_64": "amd64", "amd64": "amd64", "arm64": "arm64", "aarch64": "arm64"}
PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class StackConfig:
    engine: str                  # "kind" | "k3d" | "existing"
    cluster_name: str            # DNS label
    kube_context: str | None     # for engine "existing"; None = current context
    arch: str                    # resolved: "amd64" | "arm64" (never "auto")
    kfp_version: str             # e.g. "2.17.0"
    kfp_manifests: Path | None   # pre-rendered upstream folder, or None = render upstream (cached)
    minio_image: str
    kfp_port: int
    minio_port: int
    minio_console_port: int
    registry_port: int
    data_dir: Path

    @property
    def registry(self) -> str:
        """Where the host pushes and pods pull: the same name on both sides."""
        return f"localhost:{self.registry_port}"


class ConfigError(UserError):
    """One bad config value: the message names the key, the value and what is allowed."""

    def __init__(self, key: str, value: Any, allowed: str, fix: str | None = None):
        self.key, self.value, self.allowed = key, value, allowed
        super().__init__(f"invalid config {PROJECT}:{key} = {value!r}: {allowed}",
                         fix or f"change it with `pulumi config set {PROJECT}:{key} VALUE`")

    def __str__(self) -> str:
        """One line, as `pulumi up` and `inv doctor` show it."""
        return f"{self.problem} ({self.fix})"


def laptop_home() -> Path:
    """Per-user folder for kfp-laptop's own files (passphrase, default data dirs); outside every repository."""
    return Path(os.environ.get("KFP_LAPTOP_HOME") or Path.home() / ".kfp-laptop")


def default_data_dir(stack: str) -> Path:
    """Per stack, so two stacks on one laptop never share MinIO/MySQL/registry data."""
    return laptop_home() / "stacks" / stack / "data"


def host_arch(machine: str | None = None) -> str | None:
    """The host's architecture in container terms (amd64/arm64), or None when it is neither."""
    return _MACHINE_ARCH.get((machine or platform.machine()).lower())


def host_ports(config: StackConfig) -> dict[str, int]:
    """Each host port setting (config key -> port), from the one table `PORT_FIELDS`."""
    return {key: getattr(config, name) for key, name in PORT_FIELDS.items()}


def _value(raw: Mapping[str, Any], key: str) -> Any:
    value = raw.get(key)
    return DEFAULTS[key] if value is None or value == "" else value


def _choice(raw: Mapping[str, Any], key: str, allowed: tuple[str, ...]) -> str:
    value = _value(raw, key)
    if value not in allowed:
        raise ConfigError(key, value, "allowed values are " + ", ".join(allowed))
    return value


def _port(raw: Mapping[str, Any], key: str) -> int:
    value = _value(raw, key)
    text = str(value) if isinstance(value, (int, str)) and not isinstance(value, bool) else ""
    port = int(text) if _PORT.fullmatch(text) else 0
    if not MIN_HOST_PORT <= port <= 65535:
        raise ConfigError(key, value, f"a TCP port number between {MIN_HOST_PORT} and 65535 (lower ports need root)")
    return port


def _ports(raw: Mapping[str, Any]) -> dict[str, int]:
    ports: dict[str, int] = {}
    for key in PORT_KEYS:
        port = _port(raw, key)
        clash = next((other for other, used in ports.items() if used == port), None)
        if clash:
            raise ConfigError(key, port, f"already used by {PROJECT}:{clash}; each host port must be different")
        ports[key] = port
    return ports


def _arch(raw: Mapping[str, Any], machine: str | None) -> str:
    value = _choice(raw, "arch", ("auto", *ARCHES))
    if value != "auto":
        return value
    detected = host_arch(machine)
    if detected is None:
        raise ConfigError("arch", value, f"this host's architecture ({machine or platform.machine()}) is not "
                                         "supported; set amd64 or arm64 explicitly")
    return detected


def _image(raw: Mapping[str, Any], key: str) -> str:
    value = str(_value(raw, key))
    match = _IMAGE.fullmatch(value)
    if not match or not (match["tag"] or match["digest"]) or match["tag"] == "latest" \
            or len(match["name"]) > IMAGE_NAME_MAX:
        raise ConfigError(key, value, "an image reference pinned to an exact tag or digest "
                                      "(e.g. registry/name:RELEASE-tag; the repository in lower case), not :latest")
    return value


def _text(raw: Mapping[str, Any], key: str) -> str:
    """A path or name as text, refused when it holds a character that would break a generated step."""
    value = str(_value(raw, key))
    if _CONTROL.search(value):
        raise ConfigError(key, value, "text without control characters (newlines, tabs, escapes)")
    return value


def _user_path(key: str, value: str) -> Path:
    """`~` expanded; relative paths are relative to the repository root (where Pulumi.yaml is)."""
    try:
        path = Path(value).expanduser()
    except RuntimeError:   # `~name` of a user this machine does not know
        raise ConfigError(key, value, "a path; its `~user` is not a user on this machine") from None
    return path if path.is_absolute() else PROJECT_ROOT / path


def _manifests(raw: Mapping[str, Any]) -> Path | None:
    value = _text(raw, "kfpManifests")
    if not value:
        return None
    folder = _user_path("kfpManifests", value)
    missing = [name for name in KFP_MANIFEST_FILES if not (folder / name).is_file()]
    if missing:
        raise ConfigError("kfpManifests", value, f"a folder holding {' and '.join(KFP_MANIFEST_FILES)} "
                                                 f"(`kubectl kustomize` renders); missing: {', '.join(missing)}")
    return folder


def _data_dir(raw: Mapping[str, Any], stack: str) -> Path:
    value = _text(raw, "dataDir")
    if not value:
        return default_data_dir(stack)
    path = _user_path("dataDir", value).resolve()
    if path in (Path(path.anchor), Path.home().resolve()):
        raise ConfigError("dataDir", value, "a folder of its own (not / or your home folder): "
                                            "`inv down --purge` deletes it")
    if ":" in str(path):
        raise ConfigError("dataDir", value, "a path without ':' (Docker and k3d volume specs split on it)")
    if path.exists() and not path.is_dir():
        raise ConfigError("dataDir", value, "a folder (this path is a file)")
    if path.is_relative_to(PROJECT_ROOT) and not _git_ignored(path):
        raise ConfigError("dataDir", value, "a folder outside the repository, or one git ignores (MySQL, MinIO "
                                            "and registry data must never be committed)")
    problem = claim_problem(path)
    if problem:
        raise ConfigError("dataDir", value, f"a new or empty folder, or one kfp-laptop created: {problem}")
    return path


def _git_ignored(path: Path) -> bool:
    """Whether git ignores `path` in this repository (False when git cannot say: the safe answer)."""
    from infra.tools import run_tool

    if not (PROJECT_ROOT / ".git").exists():
        return True   # not a git checkout: there is no repository to commit the data into
    return run_tool(["git", "-C", str(PROJECT_ROOT), "check-ignore", "-q", "--no-index", f"{path}/"],
                    timeout=10).returncode == 0


def from_raw(raw: Mapping[str, Any], *, stack: str = "dev", machine: str | None = None) -> StackConfig:
    """Validate plain config values (keys as in Pulumi.yaml, without the `kfp-laptop:` prefix; missing = default).

    `machine` overrides `platform.machine()` for `arch: auto` (tests, and `inv render --arch`).
    """
    unknown = sorted(set(raw) - set(DEFAULTS))
    if unknown:
        raise ConfigError(unknown[0], raw[unknown[0]], "unknown key; known keys are " + ", ".join(DEFAULTS),
                          fix=f"remove it with `pulumi config rm {PROJECT}:{unknown[0]}`")
    engine = _choice(raw, "engine", ENGINES)
    cluster_name = str(_value(raw, "clusterName"))
    longest = CLUSTER_NAME_MAX[engine]
    if not _DNS_LABEL.fullmatch(cluster_name) or len(cluster_name) > longest:
        raise ConfigError("clusterName", cluster_name, "a DNS label: lowercase letters, digits and '-', "
                                                       "starting and ending with a letter or digit, "
                                                       f"at most {longest} characters for engine {engine}")
    kube_context = _text(raw, "kubeContext") or None
    if kube_context and engine != "existing":
        raise ConfigError("kubeContext", kube_context, f"only used with engine existing (engine is {engine})",
                          fix=f"remove it with `pulumi config rm {PROJECT}:kubeContext`")
    kfp_version = str(_value(raw, "kfpVersion"))
    if not _VERSION.fullmatch(kfp_version):
        raise ConfigError("kfpVersion", kfp_version, "a KFP backend release like 2.17.0")
    ports = _ports(raw)
    return StackConfig(
        engine=engine,
        cluster_name=cluster_name,
        kube_context=kube_context,
        arch=_arch(raw, machine),
        kfp_version=kfp_version,
        kfp_manifests=_manifests(raw),
        minio_image=_image(raw, "minioImage"),
        kfp_port=ports["kfpPort"],
        minio_port=ports["minioPort"],
        minio_console_port=ports["minioConsolePort"],
        registry_port=ports["registryPort"],
        data_dir=_data_dir(raw, stack),
    )


def raw_from_pulumi() -> dict[str, Any]:
    """Every `kfp-laptop:*` value the engine passed in, including unknown keys so that a typo is caught."""
    import pulumi
    import pulumi.runtime.config as runtime_config

    config = pulumi.Config(PROJECT)
    raw = {key: config.get(key) for key in DEFAULTS}
    prefix = f"{PROJECT}:"
    passed = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    raw.update({key[len(prefix):]: value for key, value in passed.items()
                if key.startswith(prefix) and key[len(prefix):] not in DEFAULTS})
    return raw


def load() -> StackConfig:
    """Read the stack's config once; a bad value stops the program before any resource, as one message."""
    import pulumi

    try:
        return from_raw(raw_from_pulumi(), stack=pulumi.get_stack())
    except ConfigError as err:
        raise pulumi.RunError(str(err)) from None
