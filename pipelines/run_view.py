"""What a KFP run looks like to a person: its tasks as a tree, what changed since the last poll, what failed.

Pure functions over the run as a plain dict: `V2beta1Run.to_dict()` (the REST shape of `GET /apis/v2beta1/runs/ID`)
for the run's state, plus the key `workflow`, the run's Argo Workflow as KFP stored it (`GET /apis/v1beta1/runs/ID`,
`pipeline_runtime.workflow_manifest`). The tasks come from the workflow's nodes because KFP 2.17 fills the v2beta1
`task_details` from those nodes without their pod names, parents or error messages
(backend/src/apiserver/server/api_converter.go `toModelTask`/`toApiPipelineTaskDetail`).

A task is labelled by its path of display names inside the pipeline (e.g.
`root › for-loop-2 › iteration-iterations(1:1) › iteration-item › train-candidate › executor`), so each loop
iteration shows up as itself. Argo's bookkeeping nodes (the workflow itself, retry wrappers, the group of loop
iterations) and KFP's driver pods are left out, unless a driver failed: then its log is where the error is.
"""
from __future__ import annotations

import base64
import binascii
import gzip
import json
import re
import zlib
from dataclasses import dataclass

from rich.tree import Tree

TERMINAL_STATES = frozenset({"SUCCEEDED", "FAILED", "CANCELED", "SKIPPED"})
STATE_STYLES = {"SUCCEEDED": "green", "FAILED": "bold red", "CANCELED": "yellow", "CANCELING": "yellow",
                "RUNNING": "cyan", "PENDING": "dim", "SKIPPED": "dim"}
# Argo node phases as KFP names run states (backend/src/apiserver/model/runtime_state.go `ToV2`).
NODE_STATES = {"Pending": "PENDING", "Running": "RUNNING", "Succeeded": "SUCCEEDED", "Failed": "FAILED",
               "Error": "FAILED", "Skipped": "SKIPPED", "Omitted": "SKIPPED"}
BOOKKEEPING_TYPES = frozenset({"Retry", "TaskGroup", "StepGroup"})
DRIVER_TEMPLATES = ("system-container-driver", "system-dag-driver")   # backend/src/v2/compiler/argocompiler
POD_NAME_FORMAT = "workflows.argoproj.io/pod-name-format"               # Argo's per-workflow pod naming switch
ATTEMPT = re.compile(r"\((\d+)\)$")


@dataclass(frozen=True)
class TaskState:
    task_id: str             # the Argo node id
    path: tuple[str, ...]    # display names from the top, e.g. ("root", "for-loop-2", ..., "train-candidate")
    name: str
    state: str
    parent_id: str | None
    pod_name: str | None
    error: str | None
    created_on: str | None = None   # YYYY-MM-DD the workflow was created: the UI server's key for archived logs

    @property
    def label(self) -> str:
        return " › ".join(self.path)


def run_state(run: dict) -> str:
    return str(run.get("state") or "PENDING")


def _fnv1a_32(text: str) -> int:
    value = 0x811C9DC5
    for byte in text.encode():
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return value


def pod_name(workflow: dict, node: dict) -> str:
    """The pod Argo created for a Pod node: `<workflow>-<template>-<fnv32a(node name)>` (argo-workflows
    workflow/util/pod_name.go `GeneratePodName`, the default v2 format), or the node id in the v1 format."""
    meta = workflow.get("metadata") or {}
    name = meta.get("name") or ""
    if (meta.get("annotations") or {}).get(POD_NAME_FORMAT) == "v1":
        return node["id"]
    if node.get("name") == name:
        return name
    template = node.get("templateName") or ""
    prefix = f"{name}-{template}" if template else name
    return f"{prefix[:242]}-{_fnv1a_32(node.get('name') or '')}"


def _display_names(nodes: dict) -> dict[str, str]:
    """Display names with retry attempts named after their task: `executor(0)` is `executor`, `executor(1)` is
    `executor (retry 1)`."""
    names = {node_id: node.get("displayName") or node_id for node_id, node in nodes.items()}
    for retry in nodes.values():
        if retry.get("type") != "Retry":
            continue
        for child in retry.get("children") or []:
            attempt = ATTEMPT.search(names.get(child, ""))
            if child in names and attempt:
                number = int(attempt.group(1))
                base = retry.get("displayName") or retry.get("id")
                names[child] = base if number == 0 else f"{base} (retry {number})"
    return names


def _shown(node: dict, state: str) -> bool:
    if not node.get("boundaryID") or node.get("type") in BOOKKEEPING_TYPES:
        return False
    return state == "FAILED" or not (node.get("templateName") or "").endswith(DRIVER_TEMPLATES)


def workflow_nodes(workflow: dict) -> dict:
    """The workflow's nodes by id. A workflow past Argo's size limit keeps them in `status.compressedNodes` (the
    nodes' JSON, gzipped, then base64) and leaves `status.nodes` empty (argo-workflows workflow/packer/packer.go
    `compressWorkflow`, util/file/fileutil.go `CompressEncodeString`); a value that does not decode counts as none."""
    status = workflow.get("status") or {}
    nodes = status.get("nodes") or {}
    if not nodes and status.get("compressedNodes"):
        try:
            nodes = json.loads(gzip.decompress(base64.b64decode(status["compressedNodes"], validate=True)))
        except (binascii.Error, OSError, EOFError, zlib.error, ValueError, TypeError):
            nodes = {}
    return nodes if isinstance(nodes, dict) else {}


def tasks_of(run: dict) -> list[TaskState]:
    """The run's tasks in a stable order (by label), each labelled with its path of enclosing DAGs."""
    workflow = run.get("workflow") or {}
    nodes = {node_id: {"id": node_id, **node} for node_id, node in workflow_nodes(workflow).items()
             if isinstance(node, dict)}
    names = _display_names(nodes)
    created_on = str((workflow.get("metadata") or {}).get("creationTimestamp") or "")[:10] or None

    def path(node: dict) -> tuple[str, ...]:
        parts, seen = [], set()
        while node is not None and node["id"] not in seen and node.get("boundaryID"):
            seen.add(node["id"])
            parts.append(names[node["id"]])
            node = nodes.get(node["boundaryID"])
        return tuple(reversed(parts))

    tasks = []
    for node in nodes.values():
        state = NODE_STATES.get(node.get("phase") or "", "PENDING")
        if not _shown(node, state):
            continue
        tasks.append(TaskState(
            task_id=node["id"], path=path(node), name=names[node["id"]], state=state,
            parent_id=node.get("boundaryID") or None,
            # a skipped Pod node (e.g. an executor on a cache hit) never had a pod
            pod_name=pod_name(workflow, node) if node.get("type") == "Pod" and state != "SKIPPED" else None,
            error=(node.get("message") or None) if state == "FAILED" else None, created_on=created_on))
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
