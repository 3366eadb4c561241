"""`inv doctor`: check this machine (before `up`) and the stack (after `up`); print each problem with its fix.

Exits non-zero (through UserError, so one message and no traceback) when anything must be fixed.
"""
from __future__ import annotations

import time
from pathlib import Path

from infra.config import PROJECT_ROOT, ConfigError, StackConfig, from_raw, host_arch, host_ports
from kfp_laptop.errors import UserError
from kfp_watchdog.objects import IMAGE
from laptop.checks import FAIL, OK, WARN, Check
from laptop.doctor_cluster import deployment_checks, endpoint_checks, read_cluster, watchdog_check
from laptop.doctor_host import docker_check, emulation_check, port_check, tool_check
from laptop.host import default_stack_name
from laptop.outputs import StackOutputs
from laptop.stack_file import own_settings

STYLE = {OK: "green", WARN: "yellow", FAIL: "bold red"}


def main(stack: str | None = None) -> None:
    from laptop.stack import find_outputs

    name = stack or default_stack_name()
    checks: list[Check] = []
    try:
        found = find_outputs(name)
        outputs = None if found is None else StackOutputs.parse(found)
    except UserError as err:
        outputs = None
        checks.append(Check("stack", FAIL, err.problem, err.fix or ""))
    config, config_check = stack_config(name)
    checks += [config_check] if config_check else []
    checks += host_checks(config, up=outputs is not None)
    if outputs:
        checks += cluster_checks(outputs, time.time())
    print_report(checks, name, up=outputs is not None)
    failed = [c for c in checks if c.failed]
    if failed:
        raise UserError(f"{len(failed)} problem(s) found: " + ", ".join(c.name for c in failed),
                        "run the fix shown next to each problem, then `inv doctor` again")


def stack_config(name: str, root: Path = PROJECT_ROOT) -> tuple[StackConfig | None, Check | None]:
    """The stack's settings from `Pulumi.<stack>.yaml` (its defaults when the file is absent), validated."""
    path = root / f"Pulumi.{name}.yaml"
    try:
        settings = own_settings(path)
    except UserError as err:
        return None, Check("stack config", FAIL, err.problem, err.fix or "")
    raw = {key: value for key, value in settings.items() if not isinstance(value, dict)}   # secure values not needed
    try:
        return from_raw(raw, stack=name), None
    except ConfigError as err:
        return None, Check("stack config", FAIL, str(err), f"edit {path.name} or use `pulumi config set`")


def host_checks(config: StackConfig | None, up: bool) -> list[Check]:
    """Docker and its resources, the tools, free host ports (before up only: after, the stack holds them), emulation."""
    engine = config.engine if config else "kind"
    docker, info = docker_check()
    checks = [docker if engine != "existing" or not docker.failed else Check(docker.name, WARN, docker.detail)]
    for tool in ("kind", "k3d", "pulumi", "kubectl"):
        checks.append(tool_check(tool, needed=tool in ("pulumi", "kubectl", engine)))
    if config and not up:
        checks += [port_check(key, port) for key, port in host_ports(config).items()]
    if info and (host_arch() == "arm64" or info.get("Architecture") == "aarch64"):
        checks.append(emulation_check(IMAGE))
    return checks


def cluster_checks(outputs: StackOutputs, now: float) -> list[Check]:
    from kubernetes.client import ApiException
    from kubernetes.config import ConfigException
    from urllib3.exceptions import HTTPError
    from yaml import YAMLError

    try:
        view = read_cluster(outputs.kubeconfig, outputs.cluster.context)
    except (ConfigException, YAMLError, TypeError, AttributeError) as err:   # a finding, not a crash
        rewrite = "`inv up` reads it again" if outputs.cluster.engine == "existing" else \
            "`inv down`, then `inv up` (the cluster's create step writes it)"
        return [Check("cluster", FAIL, f"the stack's kubeconfig is unusable: {str(err).splitlines()[0][:200]}",
                      rewrite)] + endpoint_checks(outputs)
    except (ApiException, HTTPError, OSError, ValueError) as err:
        return [Check("cluster", FAIL, f"cannot read the cluster: {str(err).splitlines()[0][:200]}",
                      "start Docker (the cluster's node is a container), then `inv up`")] + endpoint_checks(outputs)
    return deployment_checks(view.deployments, view.pods) + [watchdog_check(view.watchdog_status, now)] + \
        endpoint_checks(outputs)


def print_report(checks: list[Check], stack: str, up: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"kfp-laptop doctor: stack {stack} ({'up' if up else 'not up: checking this machine'})")
    for column in ("check", "status", "found", "fix"):
        table.add_column(column, overflow="fold")
    for check in checks:
        table.add_row(check.name, f"[{STYLE[check.status]}]{check.status}[/]", check.detail, check.fix)
    Console().print(table)
