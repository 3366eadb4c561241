"""Local runs' history: each run folder keeps a small JSON record (`run.json`) of what ran and how it ended.

The record holds the arguments, the state (SUCCEEDED, FAILED or INTERRUPTED), the start, the duration, the headline
result and every task instance with its state and duration, so `inv runs`, `inv status`, `inv logs`, `inv report`
and `inv clean` work from the folder alone, with no stack and no kfp. Only folders holding a record are this
project's runs; nothing else under the runs' root is ever listed or deleted.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from kfp_laptop.errors import UserError

RECORD = "run.json"
REPORT = "report.html"
TASK_LOG = "task.log"   # in a task's own folder: its output alone (warm runs; a stock run has only the run's log)
FORMAT = 1
STATES = ("SUCCEEDED", "FAILED", "INTERRUPTED")


def instances(nodes: list[dict], events: list[tuple[float, object]], run_folder: str | None,
              started: float, ended: float, run_state: str) -> list[dict]:
    """The planned task instances with what the run's events say about each: state, start (seconds after the run
    started) and duration. `events` are (monotonic time, `TaskEvent`) as the live view saw them."""
    by_id = {n["id"]: {**n, "state": "NOT RUN", "started": None, "duration": None} for n in nodes}
    prefix = f"{run_folder}/" if run_folder else None
    launched: dict[str, list[float]] = {}   # task name -> when kfp.local launched instances not yet seen to start
    for at, event in events:
        if event.kind == "executing":
            launched.setdefault(event.task, []).append(at)
        node_id = event.folder[len(prefix):] if prefix and event.folder and event.folder.startswith(prefix) else None
        if event.kind in ("started", "succeeded") and node_id:
            node = by_id.setdefault(node_id, {"id": node_id, "task": event.task, "label": None, "group": None,
                                              "depends": [], "state": "NOT RUN", "started": None, "duration": None})
            if node["started"] is None:
                begun = launched[event.task].pop(0) if launched.get(event.task) else at
                node["started"], node["state"] = round(begun - started, 3), "RUNNING"
            if event.kind == "succeeded":
                node["state"], node["duration"] = "SUCCEEDED", round(at - started - node["started"], 3)
        elif event.kind == "failed":   # kfp.local names the task only: the instance is one still running
            running = [n for n in by_id.values() if n["task"] == event.task and n["state"] == "RUNNING"]
            if running:
                running[0]["state"] = "FAILED"
                running[0]["duration"] = round(at - started - running[0]["started"], 3)
    for node in by_id.values():
        if node["state"] == "RUNNING":   # never finished: the run was stopped under it
            node["state"] = "INTERRUPTED" if run_state == "INTERRUPTED" else "FAILED"
            node["duration"] = round(ended - started - node["started"], 3)
    return list(by_id.values())


def write_record(folder: Path, record: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / RECORD
    path.write_text(json.dumps({"format": FORMAT, **record}, indent=1, default=str) + "\n", encoding="utf-8")
    return path


def read_record(folder: Path) -> dict | None:
    """The run's record, or None when `folder` is not a run this project recorded."""
    try:
        record = json.loads((folder / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and record.get("state") in STATES and record.get("name") else None


@dataclass(frozen=True)
class LocalRun:
    folder: Path
    record: dict

    @property
    def name(self) -> str:
        return self.folder.name

    @property
    def log(self) -> Path:
        return self.folder.parent / f"{self.folder.name}.log"


def local_runs(root: Path) -> list[LocalRun]:
    """The recorded runs under `root`, newest first."""
    if not root.is_dir():
        return []
    found = [LocalRun(folder, record) for folder in root.iterdir()
             if folder.is_dir() and (record := read_record(folder)) is not None]
    return sorted(found, key=lambda run: (str(run.record.get("started") or ""), run.name), reverse=True)


def find_run(root: Path, name: str) -> LocalRun | None:
    """The local run called `name` (its folder's name, or `latest`), or None if there is no such recorded run."""
    runs = local_runs(root)
    if name == "latest":
        return runs[0] if runs else None
    return next((run for run in runs if run.name == name), None)


def require_run(root: Path, name: str) -> LocalRun:
    run = find_run(root, name)
    if run is None:
        runs = local_runs(root)
        known = ", ".join(r.name for r in runs[:3]) if runs else None
        raise UserError(f"no local run {name!r} under {root.resolve()}" if name != "latest"
                        else f"no local runs under {root.resolve()} yet",
                        f"`inv runs` lists them (newest: {known})" if known else
                        "run one with `inv run-wine --local` (run the command from the project's folder)")
    return run


def size_of(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def to_clean(runs: list[LocalRun], keep: int, failed_only: bool) -> list[LocalRun]:
    """The runs `inv clean` deletes: of the runs considered (all, or only failed and interrupted ones), all but the
    newest `keep`. `runs` are newest first."""
    considered = [r for r in runs if not failed_only or r.record.get("state") != "SUCCEEDED"]
    return considered[keep:]


def delete(run: LocalRun) -> int:
    """Delete the run's folder and its log; returns the bytes freed."""
    freed = size_of(run.folder) + (size_of(run.log) if run.log.is_file() else 0)
    shutil.rmtree(run.folder)
    run.log.unlink(missing_ok=True)
    return freed


def human_size(count: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if count < 1024 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "bytes" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} GB"
