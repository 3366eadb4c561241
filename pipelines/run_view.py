"""What a KFP run looks like to a person: its tasks as a tree, what changed since the last poll, what failed.

Pure functions over the run as a plain dict (`V2beta1Run.to_dict()`, the REST shape of `GET /apis/v2beta1/runs/ID`).
Tasks are labelled by their path of display names (e.g. `tune › iteration-2 › train-candidate`), so each loop
iteration shows up as itself.
"""
from __future__ import annotations

from dataclasses import dataclass

from rich.tree import Tree

TERMINAL_STATES = frozenset({"SUCCEEDED", "FAILED", "CANCELED", "SKIPPED"})
STATE_STYLES = {"SUCCEEDED": "green", "FAILED": "bold red", "CANCELED": "yellow", "CANCELING": "yellow",
                "RUNNING": "cyan", "PENDING": "dim", "SKIPPED": "dim"}


@dataclass(frozen=True)
class TaskState:
    task_id: str
    path: tuple[str, ...]    # display names from the top, e.g. ("tune", "iteration-0", "train-candidate")
    name: str
    state: str
    parent_id: str | None
    pod_name: str | None
    error: str | None

    @property
    def label(self) -> str:
        return " › ".join(self.path)


def run_state(run: dict) -> str:
    return str(run.get("state") or "PENDING")


def tasks_of(run: dict) -> list[TaskState]:
    """The run's tasks in a stable order (by label), each labelled with its path."""
    details = (run.get("run_details") or {}).get("task_details") or []
    by_id = {d.get("task_id"): d for d in details}

    def path(detail: dict) -> tuple[str, ...]:
        names, seen = [], set()
        while detail is not None and detail.get("task_id") not in seen:
            seen.add(detail.get("task_id"))
            names.append(detail.get("display_name") or detail.get("task_id") or "?")
            detail = by_id.get(detail.get("parent_task_id"))
        return tuple(reversed(names))

    tasks = [TaskState(task_id=str(d.get("task_id")), path=path(d), name=d.get("display_name") or "?",
                       state=str(d.get("state") or "PENDING"), parent_id=d.get("parent_task_id") or None,
                       pod_name=d.get("pod_name") or None, error=((d.get("error") or {}).get("message") or None))
             for d in details]
    return sorted(tasks, key=lambda t: t.label)


def changes(previous: dict[str, str], tasks: list[TaskState]) -> list[TaskState]:
    """Tasks that are new or whose state differs from `previous` (task_id -> state)."""
    return [t for t in tasks if previous.get(t.task_id) != t.state]


def failed_tasks(tasks: list[TaskState]) -> list[TaskState]:
    """The failures worth showing: failed tasks none of whose children failed too (where the error really is)."""
    failed = [t for t in tasks if t.state == "FAILED"]
    failed_parents = {t.parent_id for t in failed}
    return [t for t in failed if t.task_id not in failed_parents]


def styled(state: str, width: int = 0) -> str:
    """The state in its colour (rich markup), padded to `width` visible characters."""
    return f"[{STATE_STYLES.get(state, 'white')}]{state:<{width}}[/]"


def task_tree(run: dict) -> Tree:
    """The run's tasks as a rich Tree under the run's own name and state."""
    tasks = tasks_of(run)
    root = Tree(f"[bold]{run.get('display_name') or run.get('run_id')}[/] {styled(run_state(run))}")
    nodes = {}
    known = {t.task_id for t in tasks}
    pending = list(tasks)
    while pending:   # parents before children, whatever the API's order
        ready = [t for t in pending if t.parent_id is None or t.parent_id not in known or t.parent_id in nodes]
        for task in ready or pending:
            parent = nodes.get(task.parent_id, root)
            nodes[task.task_id] = parent.add(f"{task.name} {styled(task.state)}")
        pending = [t for t in pending if t.task_id not in nodes]
    return root
