"""The pulumi CLI as `pulumi.automation` drives it, bounded in time.

Its own `PulumiCommand` asks `pulumi version` without a timeout and raises a traceback on a version it cannot parse;
here the version is read once through `infra.tools.run_tool` (a missing, hung, killed or garbled CLI is one message
naming it), and every command that prints no progress (stack select, config, stack output) ends within
`QUERY_SECONDS`. Previews, updates and destroys stream their progress as they go; their steps carry their own
timeouts (the readiness check's 20 minutes).
"""
from __future__ import annotations

import json
import os
import re

from infra.tools import CANNOT_RUN, NOT_FOUND, TIMED_OUT, command_name, failure, run_tool
from kfp_laptop.errors import UserError
from laptop.host import INSTALL_HINTS

QUERY_SECONDS = 120   # reading a local file backend; generous for a large state on a slow disk
_VERSION = re.compile(r"v?([0-9]+\.[0-9]+\.[0-9]+\S*)")


def pulumi_version() -> str:
    """`pulumi version`, checked: UserError naming what the CLI did, with the fix."""
    result = run_tool(["pulumi", "version"])
    if result.returncode != 0:
        raise UserError(failure(result), INSTALL_HINTS["pulumi"])
    found = _VERSION.fullmatch(result.stdout.strip())
    if not found:
        raise UserError(f"`pulumi version` printed no version (got {result.stdout.strip()[:80]!r})",
                        f"reinstall the Pulumi CLI: {INSTALL_HINTS['pulumi']}")
    return found.group(1)


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def bounded_command():
    """A `PulumiCommand` for `LocalWorkspaceOptions(pulumi_command=...)` whose queries are bounded."""
    from pulumi.automation import CommandResult, PulumiCommand
    from pulumi.automation.errors import create_command_error
    from semver import VersionInfo

    class BoundedPulumiCommand(PulumiCommand):
        def __init__(self, version: str):   # the version is already checked: no second, unbounded `pulumi version`
            self.command = "pulumi"
            try:
                self.version = VersionInfo.parse(version)
            except ValueError:
                self.version = None   # a prerelease spelling semver refuses: the CLI answered, that is enough

        def run(self, args, cwd, additional_env, on_output=None, on_error=None):
            if on_output is not None:   # progress streams to the terminal: the steps bound themselves
                return super().run(args, cwd, additional_env, on_output, on_error)
            argv = ["pulumi", *([] if "--non-interactive" in args else ["--non-interactive"]), *args]
            env = {**os.environ, **additional_env, "PULUMI_AUTOMATION_API": "true"}
            result = run_tool(argv, timeout=QUERY_SECONDS, env=env, cwd=cwd)
            if result.returncode != 0:
                own = result.returncode in (TIMED_OUT, CANNOT_RUN, NOT_FOUND)   # run_tool's, not pulumi's
                stderr = failure(result) if own else result.stderr
                raise create_command_error(CommandResult(stdout=result.stdout, stderr=stderr,
                                                         code=result.returncode))
            if "--json" in args and not _is_json(result.stdout):   # the automation API would json.loads it
                printed = result.stdout.strip()[:80]
                raise create_command_error(CommandResult(stdout=result.stdout, code=1, stderr=(
                    f"`{command_name(argv)}` printed something other than JSON ({printed!r}): reinstall the "
                    "Pulumi CLI")))
            return CommandResult(stdout=result.stdout, stderr=result.stderr, code=0)

    return BoundedPulumiCommand(pulumi_version())
