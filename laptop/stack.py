"""This laptop's stack, driven through `pulumi.automation`: `inv up`, `inv down`, `inv port-forward`, and the
stack outputs that `pipelines` and the tasks read (the only place they learn endpoints from).

State lives in the local file backend named in Pulumi.yaml (no Pulumi Cloud account); the secrets passphrase in a
user-only file (`laptop.passphrase`). Plain `pulumi up` / `pulumi destroy` work on the same stack.
"""
from __future__ import annotations

import shutil
import sys
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Iterator

from infra import tools
from infra.cluster.engines import engine_for
from infra.config import PROJECT, PROJECT_ROOT, StackConfig, from_raw, host_arch, host_ports
from infra.tools import TIMED_OUT, run_tool
from kfp_laptop.errors import UserError
from laptop.extras import require
from laptop.host import (
    ENGINE_TOOLS,
    INSTALL_HINTS,
    busy_ports,
    default_stack_name,
    detect_engine,
    docker_arch,
    require_docker_running,
    require_tools,
)
from laptop.outputs import HOST_URL_OUTPUTS, ClusterOutput, StackOutputs
from laptop.passphrase import passphrase_env
from laptop.pulumi_cli import bounded_command
from laptop.stack_file import own_settings


def _auto():
    """The automation module, imported on use: `inv --list` and the local runner never pay for it (nor install it)."""
    require("cluster")
    import pulumi.automation as auto

    return auto


def _require_pulumi() -> None:
    if not shutil.which("pulumi"):
        raise UserError("the Pulumi CLI (`pulumi`) is not installed", INSTALL_HINTS["pulumi"])


def _options(env: dict[str, str]):
    auto = _auto()
    return auto.LocalWorkspaceOptions(work_dir=str(PROJECT_ROOT), secrets_provider="passphrase",
                                      env_vars={"PULUMI_SKIP_UPDATE_CHECK": "true", **env},
                                      pulumi_command=bounded_command())


BACKEND_FIX = ("check that the state backend (`backend.url` in Pulumi.yaml, or PULUMI_BACKEND_URL) exists and is "
               "writable by you; `pulumi stack ls` shows the problem")


def _select(name: str):
    """The existing stack `name`, or None. Selecting needs no passphrase; reading secrets does."""
    auto = _auto()
    with _pulumi_step("stack select", name, BACKEND_FIX):
        try:
            return auto.select_stack(name, work_dir=str(PROJECT_ROOT), opts=_options({}))
        except auto.StackNotFoundError:
            return None


def _require_stack(name: str):
    stack = _select(name)
    if stack is None:
        raise UserError(f"there is no stack `{name}` on this laptop", "run `inv up` first (or pass --stack NAME)")
    stack.workspace.env_vars.update(passphrase_env(create=False))
    return stack


def _last_error_line(err: Exception) -> str:
    """The last line pulumi wrote to stderr (CommandError carries it only in its text)."""
    lines = [line for line in str(err).split(" stderr:", 1)[-1].splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def _outputs(stack, name: str) -> dict[str, Any]:
    """Plain values with secrets revealed, as `pulumi stack output --json --show-secrets` prints them."""
    auto = _auto()
    try:
        return {key: item.value for key, item in stack.outputs().items()}
    except auto.CommandError as err:
        raise UserError(f"could not read the outputs of stack `{name}`: {_last_error_line(err)}",
                        "check that PULUMI_CONFIG_PASSPHRASE_FILE points at the passphrase this stack was "
                        "created with (default ~/.kfp-laptop/passphrase)") from None


def find_outputs(stack: str | None = None) -> dict[str, Any] | None:
    """The stack's outputs, or None when no stack is up (no pulumi CLI, no such stack, or a stack without outputs).

    A stack that exists but cannot be read (wrong or missing passphrase) raises UserError: silently falling back to
    the local runner would hide the problem.
    """
    if not shutil.which("pulumi"):
        return None
    name = stack or default_stack_name()
    selected = _select(name)
    if selected is None:
        return None
    selected.workspace.env_vars.update(passphrase_env(create=False))
    return _outputs(selected, name) or None


def stack_outputs(stack: str | None = None) -> dict[str, Any]:
    """The stack's outputs; UserError naming the problem and fix when there is no CLI, no stack or no outputs."""
    _require_pulumi()
    name = stack or default_stack_name()
    outputs = _outputs(_require_stack(name), name)
    if not outputs:
        raise UserError(f"stack `{name}` has no outputs: it is not up", "run `inv up`")
    return outputs


def _config_fix(name: str) -> str:
    """Reading settings decrypts the secret ones: a wrong passphrase fails here as well as a broken file."""
    return (f"correct Pulumi.{name}.yaml, or point PULUMI_CONFIG_PASSPHRASE_FILE at the passphrase this stack was "
            "created with; `pulumi config` shows the problem")


def _raw_config(stack, name: str) -> dict[str, Any]:
    """The stack's effective settings: `pulumi config --json` fills in Pulumi.yaml's defaults for unset keys."""
    prefix = f"{PROJECT}:"
    with _pulumi_step("config", name, _config_fix(name)):
        settings = stack.get_all_config()
    return {key[len(prefix):]: item.value for key, item in settings.items() if key.startswith(prefix)}


def _keys_set_on_stack(stack) -> set[str]:
    """The keys the stack's own file (Pulumi.<stack>.yaml) sets: only there can an unset key be told from one set
    to its default, which `_raw_config` cannot."""
    return set(own_settings(Path(stack.workspace.work_dir) / f"Pulumi.{stack.name.split('/')[-1]}.yaml"))


def detected_defaults(raw: dict[str, Any], which: Callable[[str], str | None] = shutil.which) -> dict[str, str]:
    """Settings `inv up` writes into a stack that has none: the nodes' arch (Docker's, else this host's), and the
    engine installed here."""
    found: dict[str, str] = {}
    arch = None if raw.get("arch") else docker_arch() or host_arch()
    if arch:
        found["arch"] = arch
    if not raw.get("engine"):
        engine = detect_engine(which)
        if engine is None:
            raise UserError("neither kind nor k3d is installed",
                            f"{INSTALL_HINTS['kind']}  (or: {INSTALL_HINTS['k3d']})")
        found["engine"] = engine
    return found


def _print_line(line: str) -> None:
    print(line.rstrip("\n"), flush=True)


@contextmanager
def _pulumi_step(step: str, name: str, fix: str) -> Iterator[None]:
    """A pulumi CLI call whose failure becomes one message: pulumi's last error line (any progress is above) and
    the fix."""
    try:
        yield
    except _auto().CommandError as err:
        reason = _last_error_line(err)
        raise UserError(f"`pulumi {step}` of stack `{name}` failed: {reason or 'see its message above'}", fix) from None


def _confirm(question: str, yes: bool) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise UserError(f"{question} needs a confirmation and there is no terminal to ask", "pass --yes")
    if input(f"{question} [y/N] ").strip().lower() not in ("y", "yes"):
        raise UserError("cancelled", None)


def up(stack: str | None = None, yes: bool = False) -> dict[str, Any]:
    """Create or select this laptop's stack, write detected defaults, then `pulumi up` with progress."""
    name = stack or default_stack_name()
    require_tools(_engine_set_in(name))   # every missing binary at once, before pulumi runs
    require("infra", "cluster")   # the program `pulumi up` runs in this venv, and the automation API (one line)
    auto = _auto()
    with _pulumi_step("stack select --create", name, BACKEND_FIX):
        selected = auto.create_or_select_stack(name, work_dir=str(PROJECT_ROOT),
                                               opts=_options(passphrase_env(create=True)))
    print(f"stack {name} (local state; `pulumi stack select {name}` for plain pulumi commands)", flush=True)
    raw = _raw_config(selected, name)
    own = _keys_set_on_stack(selected)
    for key, value in detected_defaults({key: raw[key] for key in own if key in raw}).items():
        with _pulumi_step("config set", name, _config_fix(name)):
            selected.set_config(f"{PROJECT}:{key}", auto.ConfigValue(value=value))
        raw[key] = value
        print(f"stack {name}: {PROJECT}:{key} = {value} (detected on this machine)", flush=True)
    config = from_raw(raw, stack=name)   # a bad value is a ConfigError: one message and its fix
    require_tools(config.engine)
    require_docker_running()
    previous = _outputs(selected, name)
    if not previous and not _has_resources(selected, name):
        _require_free_ports(config)
    else:
        _require_cluster(config, _cluster_of(previous), name)
    fix = "fix what it names, then run `inv up` again; `inv doctor` checks the machine and cluster"
    if not yes:
        with _pulumi_step("preview", name, fix):
            selected.preview(on_output=_print_line, color="always")
        _confirm(f"Apply these changes to stack `{name}`?", yes)
    with _pulumi_step("up", name, fix):
        selected.up(on_output=_print_line, color="always")
    outputs = _outputs(selected, name)
    print(summary(outputs), flush=True)
    return outputs


def _has_resources(stack, name: str) -> bool:
    """A stack with resources but no outputs is one whose first `up` failed: the ports may be held by its own
    registry or cluster, which its retry will keep using."""
    with _pulumi_step("stack export", name, BACKEND_FIX):
        return bool(stack.export_stack().deployment.get("resources"))


def _require_free_ports(config: StackConfig) -> None:
    """Before the first bring-up only: later, the stack's own cluster and registry hold these ports."""
    busy = busy_ports(host_ports(config))
    if busy:
        key, port = next(iter(busy.items()))
        raise UserError(f"port {port} on 127.0.0.1 ({PROJECT}:{key}) is already in use by another program",
                        f"stop that program, or choose another port: `pulumi config set {PROJECT}:{key} PORT`")


def _engine_set_in(name: str) -> str | None:
    """The engine the stack's own settings file names (read directly: the pulumi CLI may be the missing tool)."""
    engine = own_settings(PROJECT_ROOT / f"Pulumi.{name}.yaml").get("engine")
    return engine if engine in ENGINE_TOOLS else None


def _cluster_of(outputs: dict[str, Any]) -> ClusterOutput | None:
    """The `cluster` output of the last `up`; None when the outputs are unreadable (this `up` writes them again)."""
    try:
        return StackOutputs.parse(outputs, ("cluster",)).cluster
    except UserError:
        return None


def _require_cluster(config: StackConfig, cluster: ClusterOutput | None, name: str) -> None:
    """The kind/k3d cluster a stack is up on (its `cluster` output; the settings may name the next one) must still
    exist. If it was deleted by hand or by a Docker reset, `pulumi up` would see no change, succeed, and print
    endpoints nothing answers on."""
    if cluster is None or cluster.engine not in ("kind", "k3d"):
        return
    up_on = engine_for(replace(config, engine=cluster.engine, cluster_name=cluster.name))
    result = run_tool(["/bin/sh", "-c", up_on.exists_command()])
    if result.returncode == TIMED_OUT:
        raise UserError(f"`{cluster.engine}` did not answer within {tools.QUICK_SECONDS:g} s when asked whether "
                        f"cluster `{cluster.name}` exists, and was stopped",
                        "check that Docker answers (`docker info`), then run `inv up` again")
    if result.returncode != 0:
        raise UserError(f"stack `{name}` is up, but its {cluster.engine} cluster `{cluster.name}` no longer "
                        "exists (deleted outside Pulumi, e.g. by a Docker reset)",
                        "run `inv down`, then `inv up` (runs, artifacts and images in dataDir are kept)")


def summary(outputs: dict[str, Any]) -> str:
    """What to open next; secrets are never printed."""
    lines = [f"KFP UI and API:  {outputs.get('kfp_endpoint')}",
             f"MinIO console:   {outputs.get('minio_console')}  (credentials: "
             "`pulumi stack output minio_access_key --show-secrets` / minio_secret_key)",
             f"Registry:        {outputs.get('registry')}",
             "Next:            inv run-wine"]
    return "\n".join(lines)


def down(stack: str | None = None, purge: bool = False, yes: bool = False) -> None:
    """`pulumi destroy` this laptop's stack; with `purge`, also delete its dataDir (run history, artifacts, images)."""
    from laptop.data_dir import purge_data_dir, purgeable

    _require_pulumi()
    require("infra", "cluster")   # `pulumi destroy` loads the program too
    name = stack or default_stack_name()
    selected = _require_stack(name)
    config = from_raw(_raw_config(selected, name), stack=name)
    purge = purge and purgeable(config.data_dir)   # refused before anything is destroyed
    what = f"Destroy stack `{name}` ({config.engine} cluster `{config.cluster_name}`)"
    _confirm(what + (f" and delete kfp-laptop's data in {config.data_dir}?" if purge else "?"), yes)
    with _pulumi_step("destroy", name, "fix what it names, then run `inv down` again"):
        selected.destroy(on_output=_print_line, color="always")
    if purge and purge_data_dir(config.data_dir):
        print(f"deleted {config.data_dir}", flush=True)


def port_forward(stack: str | None = None) -> None:
    """For engine `existing`: keep `kubectl port-forward`s to the stack's 127.0.0.1 ports running until Ctrl-C."""
    from laptop.port_forward import keep_forwarding, port_forward_commands

    outputs = StackOutputs.parse(stack_outputs(stack), ("cluster", *HOST_URL_OUTPUTS))
    if outputs.cluster.engine != "existing":
        print(f"not needed: engine {outputs.cluster.engine} publishes {outputs.kfp_endpoint} itself", flush=True)
        return
    if not shutil.which("kubectl"):
        raise UserError("`kubectl` is not installed", INSTALL_HINTS["kubectl"])
    # A held port would make its kubectl exit at once, and be restarted every few seconds, forever.
    busy = busy_ports(outputs.host_ports())
    if busy:
        raise UserError(f"port(s) {', '.join(map(str, busy.values()))} on 127.0.0.1 already in use (another "
                        "`inv port-forward`, or another program)",
                        "stop it; `lsof -nP -iTCP:PORT -sTCP:LISTEN` names the program")
    keep_forwarding(port_forward_commands(outputs))

