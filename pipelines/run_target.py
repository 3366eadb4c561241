"""Where a run goes: the stack's KFP when one is up, else the embedded local runner, and saying which."""
from __future__ import annotations

from rich.console import Console

from kfp_laptop.errors import UserError
from pipelines.endpoints import Endpoints

TARGETS = ("auto", "local", "cluster")


def resolve_target(local: bool, target: str | None, stack: str | None, console: Console) -> Endpoints | None:
    """The stack's endpoints for a cluster run, or None for a local run (`--local`, `--target local`, or no stack)."""
    from laptop import stack as stacks

    chosen = (target or "auto").strip().lower()
    if chosen not in TARGETS:
        raise UserError(f"--target must be one of {', '.join(TARGETS)}, got {target!r}", "pass e.g. --target local")
    if local and chosen == "cluster":
        raise UserError("--local and --target cluster contradict each other", "pass only one of them")
    if local or chosen == "local":
        console.print("running on the embedded local runner (kfp.local)")
        return None
    if chosen == "cluster":
        endpoints = Endpoints.from_outputs(stacks.stack_outputs(stack))
    else:
        outputs = stacks.find_outputs(stack)
        if outputs is None:
            console.print("no stack is up: running on the embedded local runner (kfp.local); "
                          "`inv up` creates a cluster to run on")
            return None
        endpoints = Endpoints.from_outputs(outputs)
    console.print(f"running on the stack's KFP {endpoints.kfp_version} at {endpoints.kfp}")
    return endpoints
