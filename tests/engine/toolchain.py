"""Build the engine tier's toolchain from Go modules into a cache outside the repo, keyed by the versions.

    python3 tests/engine/toolchain.py        # or: inv toolchain

Each piece is built once into ~/.cache/kfp-laptop/toolchain/<key>/ (override with KFP_LAPTOP_TOOLCHAIN) and marked
done, so a second call is instant. Everything comes from the Go module proxy (GOPROXY without `direct`, never a code
host). A piece that fails stops the build with one line naming it and its log. Versions and why they differ from the
Python pins where they do: docs/engine-tier.md.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# What the Python SDKs in constraints.txt ask for (their pulumi-plugin.json); checked against constraints.txt below.
SDK_PINS = {"pulumi": "3.272.0", "pulumi_kubernetes": "4.34.2", "pulumi_random": "4.21.4",
            "pulumi_command": "1.2.1"}
# What the Go module proxy here serves (see docs/engine-tier.md, "what could be built").
GO = {
    "pulumi_pkg": "v3.274.1",       # pkg/v3 v3.272.0 is refused by the proxy; the nearest newer served CLI
    "k8s_provider": "v4.0.0-20260115033456-f47bc2d6f199",   # the only provider/v4 version the proxy serves
    "k8s_sdk": "v4.29.0",           # the nearest served sdk/v4 at or above what that provider commit requires
    "k8s_pulumi": "v3.229.0",       # pkg/v3 and sdk/v3 must match; sdk/v4 v4.29.0 pulls sdk/v3 up to v3.226.0
    "kube": "v1.33.13", "staging": "v0.33.13",
    "etcd": "v3.5.35",
    "kwok": "v0.8.0",
}
KWOK_STAGES = ("node/fast/node-initialize", "node/heartbeat-with-lease/node-heartbeat-with-lease",
               "pod/fast/pod-ready", "pod/fast/pod-complete", "pod/fast/pod-delete")


class BuildError(Exception):
    """A piece failed; the message names it and where its log is."""


def key() -> str:
    blob = json.dumps([SDK_PINS, GO, KWOK_STAGES], sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


def cache_dir() -> Path:
    base = Path(os.environ.get("KFP_LAPTOP_TOOLCHAIN", Path.home() / ".cache" / "kfp-laptop" / "toolchain"))
    return base / key()


def pulumi_home() -> Path:
    return cache_dir() / "pulumi-home"


def bin_dir() -> Path:
    return cache_dir() / "bin"


def _is_done(name: str) -> bool:
    marker = cache_dir() / f".done-{name}"
    return marker.exists() and (name != "python-plugins" or marker.read_text().split()[-1] == plugins_digest())


def missing() -> list[str]:
    """Names of pieces not built yet (empty when the tier can run)."""
    return [name for name, _ in PIECES if not _is_done(name)]


def check_pins() -> None:
    """The SDK_PINS above must be what constraints.txt installs; a drift would build the wrong plugins."""
    text = (ROOT / "constraints.txt").read_text()
    for name, version in SDK_PINS.items():
        if not re.search(rf"^{re.escape(name)}=={re.escape(version)}$", text, re.MULTILINE | re.IGNORECASE):
            raise BuildError(f"constraints.txt does not pin {name}=={version}; update SDK_PINS in {__file__}")


# ---------------------------------------------------------------------------------------------------------------------

def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(CGO_ENABLED="0", GOFLAGS="-mod=mod -p=2", GOPROXY="https://proxy.golang.org", GOTOOLCHAIN="local")
    return env


def _run(cmd: list[str], cwd: Path, log) -> str:
    log.write(f"$ {' '.join(cmd)}\n")
    log.flush()
    done = subprocess.run(["nice", "-n", "10", *cmd], cwd=cwd, env=_env(), stdout=subprocess.PIPE,
                          stderr=log, text=True)
    log.write(done.stdout)
    if done.returncode != 0:
        raise subprocess.CalledProcessError(done.returncode, cmd)
    return done.stdout


def _wrapper(name: str, log) -> Path:
    src = cache_dir() / "src" / name
    if src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True)
    _run(["go", "mod", "init", f"local/{name}"], src, log)
    return src


def _gomod(module: str, log) -> str:
    return json.loads(_run(["go", "mod", "download", "-json", module], cache_dir(), log))["GoMod"]


def _moddir(module: str, src: Path, log) -> Path:
    return Path(_run(["go", "list", "-m", "-f", "{{.Dir}}", module], src, log).strip())


def _copy_replaces(gomod: str, src: Path, log) -> None:
    """Copy a dependency's non-local replace directives (local `=> ../x` ones point into its own repo)."""
    for old, new in re.findall(r"^(?:replace\s+)?\s*(\S+)(?:\s+\S+)?\s+=>\s+(\S+ \S+)\s*$", Path(gomod).read_text(),
                               re.MULTILINE):
        if not new.startswith("."):
            _run(["go", "mod", "edit", f"-replace={old}={new.replace(' ', '@')}"], src, log)


def build_kube(log) -> None:
    src = _wrapper("kube", log)
    gomod = Path(_gomod(f"k8s.io/kubernetes@{GO['kube']}", log)).read_text()
    godebug = re.search(r"^godebug\s+(\S+)$", gomod, re.MULTILINE)
    if godebug:
        (src / "go.mod").write_text((src / "go.mod").read_text() + f"\ngodebug {godebug.group(1)}\n")
    for name in re.findall(r"^\s*(k8s\.io/[a-z0-9-]+) => \./staging/src/", gomod, re.MULTILINE):
        _run(["go", "mod", "edit", f"-replace={name}={name}@{GO['staging']}"], src, log)
    cmds = [f"k8s.io/kubernetes/cmd/{c}" for c in ("kube-apiserver", "kube-controller-manager", "kube-scheduler")]
    _run(["go", "get", *(f"{c}@{GO['kube']}" for c in cmds)], src, log)
    flags = []
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [f"-X {pkg}.gitVersion={GO['kube']}", f"-X {pkg}.gitMajor=1", f"-X {pkg}.gitMinor=33",
                  f"-X {pkg}.gitTreeState=clean"]
    _run(["go", "build", "-trimpath", "-ldflags", " ".join(["-s -w", *flags]), "-o", f"{bin_dir()}/", *cmds],
         src, log)


def build_etcd(log) -> None:
    src = _wrapper("etcd", log)
    _run(["go", "get", f"go.etcd.io/etcd/server/v3@{GO['etcd']}"], src, log)
    _run(["go", "build", "-trimpath", "-ldflags", "-s -w", "-o", str(bin_dir() / "etcd"), "go.etcd.io/etcd/server/v3"],
         src, log)


def build_kwok(log) -> None:
    src = _wrapper("kwok", log)
    _run(["go", "get", f"sigs.k8s.io/kwok@{GO['kwok']}"], src, log)
    _run(["go", "build", "-trimpath", "-ldflags", f"-s -w -X sigs.k8s.io/kwok/pkg/consts.Version={GO['kwok']}",
          "-o", str(bin_dir() / "kwok"), "sigs.k8s.io/kwok/cmd/kwok"], src, log)
    stages = _moddir("sigs.k8s.io/kwok", src, log) / "kustomize" / "stage"
    text = "\n---\n".join((stages / f"{s}.yaml").read_text() for s in KWOK_STAGES)
    (cache_dir() / "kwok-stages.yaml").write_text(text)


def build_pulumi(log) -> None:
    src = _wrapper("pulumi", log)
    v = GO["pulumi_pkg"]
    _copy_replaces(_gomod(f"github.com/pulumi/pulumi/pkg/v3@{v}", log), src, log)
    _copy_replaces(_gomod(f"github.com/pulumi/pulumi/sdk/v3@{v}", log), src, log)
    _run(["go", "get", f"github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@{v}", f"github.com/pulumi/pulumi/sdk/v3@{v}"],
         src, log)
    _run(["go", "build", "-trimpath", "-tags", "osusergo,grpcnotrace", "-ldflags",
          f"-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version={v}",
          "-o", str(bin_dir() / "pulumi"), "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"], src, log)


def build_kubernetes_provider(log) -> None:
    src = _wrapper("k8sprov", log)
    mod = "github.com/pulumi/pulumi-kubernetes/provider/v4"
    _copy_replaces(_gomod(f"{mod}@{GO['k8s_provider']}", log), src, log)
    _run(["go", "get", f"{mod}@{GO['k8s_provider']}", f"github.com/pulumi/pulumi-kubernetes/sdk/v4@{GO['k8s_sdk']}",
          f"github.com/pulumi/pulumi/pkg/v3@{GO['k8s_pulumi']}", f"github.com/pulumi/pulumi/sdk/v3@{GO['k8s_pulumi']}"],
         src, log)
    upstream = _moddir(mod, src, log) / "cmd" / "pulumi-resource-kubernetes"
    cmd = src / "cmd" / "pulumi-resource-kubernetes"
    cmd.mkdir(parents=True)
    shutil.copyfile(upstream / "main.go", cmd / "main.go")
    if (upstream / "helm-mapping.json").exists():   # in later releases only
        shutil.copyfile(upstream / "helm-mapping.json", cmd / "helm-mapping.json")
    schema = json.loads((upstream / "schema.json").read_text())   # what upstream's generate.go does, in Python
    schema["version"] = SDK_PINS["pulumi_kubernetes"]
    (cmd / "schema-embed.json").write_text(json.dumps(schema, separators=(",", ":")))
    mapping = json.loads((upstream / "terraform-mapping.json").read_text())
    (cmd / "terraform-mapping-embed.json").write_text(json.dumps(mapping, separators=(",", ":")))
    _run(["go", "mod", "tidy"], src, log)
    out = cache_dir() / "plugins-built" / "pulumi-resource-kubernetes"
    _run(["go", "build", "-trimpath", "-ldflags",
          f"-s -w -X {mod}/pkg/version.Version={SDK_PINS['pulumi_kubernetes']}", "-o", str(out),
          "./cmd/pulumi-resource-kubernetes"], src, log)
    _plugin_install("kubernetes", SDK_PINS["pulumi_kubernetes"], out, log)


PLUGIN_SOURCES = Path(__file__).with_name("plugins")


def plugins_digest() -> str:
    """The project-written plugins are copied into the cache; editing them re-copies only them (instant)."""
    return hashlib.sha256(b"".join(p.read_bytes() for p in sorted(PLUGIN_SOURCES.glob("*.py")))).hexdigest()[:12]


def build_python_plugins(log) -> None:
    """Project-written stand-ins for what the proxy refuses (the python language host, random, command): small
    Python gRPC servers over the pulumi SDK's own protobuf stubs (tests/engine/plugins/). They run with the
    interpreter in KFP_LAPTOP_PYTHON (the tier sets it to its own), which has the pinned SDK."""
    dest = cache_dir() / "plugins-src"
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(PLUGIN_SOURCES, dest, ignore=shutil.ignore_patterns("__pycache__"))
    sdk = _moddir_download(f"github.com/pulumi/pulumi/sdk/v3@v{SDK_PINS['pulumi']}", log)
    shutil.copyfile(sdk / "python" / "cmd" / "pulumi-language-python-exec", dest / "pulumi-language-python-exec")
    _launcher(bin_dir() / "pulumi-language-python", dest / "language_python.py")
    for script, name in (("random_provider.py", "random"), ("command_provider.py", "command")):
        exe = cache_dir() / "plugins-built" / f"pulumi-resource-{name}"
        _launcher(exe, dest / script)
        _plugin_install(name, SDK_PINS[f"pulumi_{name}"], exe, log)


def _moddir_download(module: str, log) -> Path:
    return Path(json.loads(_run(["go", "mod", "download", "-json", module], cache_dir(), log))["Dir"])


def _launcher(path: Path, script: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'#!/bin/sh\nexec "${{KFP_LAPTOP_PYTHON:-python3}}" "{script}" "$@"\n')
    path.chmod(0o755)


def _plugin_install(name: str, version: str, exe: Path, log) -> None:
    with open(cache_dir() / ".lock-pulumi", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_SH)   # a concurrent build of the CLI finishes first
    _run([str(bin_dir() / "pulumi"), "plugin", "install", "resource", name, version, "--file", str(exe)],
         cache_dir(), log)


def tool_env() -> dict[str, str]:
    """The environment every engine-tier pulumi call runs in: private PULUMI_HOME, no automatic downloads."""
    return {"PULUMI_HOME": str(pulumi_home()), "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "PULUMI_SKIP_UPDATE_CHECK": "true", "PULUMI_IGNORE_AMBIENT_PLUGINS": "true",
            "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK": "true"}


PIECES = [("etcd", build_etcd), ("kwok", build_kwok), ("kube", build_kube), ("pulumi", build_pulumi),
          ("python-plugins", build_python_plugins), ("kubernetes-provider", build_kubernetes_provider)]
# Two lanes run side by side (a Go build is single-threaded while it links): the control plane, and Pulumi.
LANES = (("etcd", "kwok", "kube"), ("pulumi", "python-plugins", "kubernetes-provider"))


def _build_piece(name: str, out) -> None:
    root = cache_dir()
    with open(root / f".lock-{name}", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)   # another `inv toolchain` building the same piece: wait for it
        if _is_done(name):
            out(f"toolchain: {name}: cached")
            return
        log_path = root / "logs" / f"{name}.log"
        out(f"toolchain: {name}: building (log: {log_path}) ...")
        t0 = time.monotonic()
        with open(log_path, "w") as log:
            try:
                dict(PIECES)[name](log)
            except (subprocess.CalledProcessError, OSError, KeyError, ValueError) as err:
                raise BuildError(f"toolchain: building {name} failed ({err}); see {log_path}") from None
        (root / f".done-{name}").write_text(f"{time.monotonic() - t0:.0f}\n{plugins_digest()}\n")
        out(f"toolchain: {name}: done in {time.monotonic() - t0:.0f} s")


def build(only: list[str] | None = None, out=print) -> Path:
    """Build every missing piece (or just `only`); returns the cache directory. Raises BuildError naming the piece."""
    check_pins()
    unknown = set(only or ()) - {name for name, _ in PIECES}
    if unknown:
        raise BuildError(f"toolchain: no piece named {', '.join(sorted(unknown))}; pieces: "
                         f"{', '.join(name for name, _ in PIECES)}")
    root = cache_dir()
    (root / "logs").mkdir(parents=True, exist_ok=True)
    os.environ.update(tool_env())
    start = time.monotonic()
    failures: list[BuildError] = []

    def lane(names: tuple[str, ...]) -> None:
        for name in names:
            if failures:
                return
            if only and name not in only:
                continue
            try:
                _build_piece(name, out)
            except BuildError as err:
                failures.append(err)

    threads = [threading.Thread(target=lane, args=(names,)) for names in LANES]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    out(f"toolchain: ready in {root} ({time.monotonic() - start:.0f} s this call)")
    return root


if __name__ == "__main__":
    try:
        build(sys.argv[1:] or None)
    except BuildError as err:
        sys.exit(str(err))
