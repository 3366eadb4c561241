"""`inv runs`, `inv status`, `inv logs`, `inv report` and `inv clean` for local runs: read from the run folders'
records (`pipelines.run_history`), so they work with no stack and no kfp."""
from __future__ import annotations

import re
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from kfp_laptop.errors import UserError
from pipelines.run_history import (
    TASK_LOG,
    LocalRun,
    delete,
    find_run,
    human_size,
    local_runs,
    require_run,
    to_clean,
)
from pipelines.run_plan import display_name
from pipelines.run_view import styled

DEFAULT_KEEP = 5


def is_local(root: Path, name: str) -> bool:
    """Whether `name` means a local run (`latest`, or a recorded run folder's name) rather than a KFP run id."""
    return name == "latest" or find_run(root, name) is not None


def _seconds(value) -> str:
    return "" if value is None else f"{float(value):.1f} s"


def _headline(record: dict) -> str:
    result = record.get("result") or {}
    if "test_accuracy" in result:
        chosen = ", ".join(f"{k}={v}" for k, v in (result.get("hyperparameters") or {}).items())
        return f"{chosen}: test accuracy {result['test_accuracy']:.3f}"
    if result:
        return ", ".join(f"{k} {v}" for k, v in result.items())
    failure = record.get("failure") or {}
    return f"failed in {failure['task']}" if failure.get("task") else ""


def runs_lines(runs: list[LocalRun]) -> list[str]:
    """One line per run (columns padded, never wrapped: names stay whole, to be copied)."""
    rows = [("run", "state", "started", "took", "result")]
    rows += [(run.name, run.record["state"], str(run.record.get("started") or "")[:19].replace("T", " "),
              _seconds(run.record.get("duration")), _headline(run.record)) for run in runs]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return ["  ".join(f"{cell:<{widths[i]}}" for i, cell in enumerate(row[:4])) + "  " + row[4] for row in rows]


def show_runs(root: Path, console: Console) -> None:
    runs = local_runs(root)
    if runs:
        console.print(f"[bold]local runs[/] (under {root.resolve()}), newest first:", highlight=False)
        for line in runs_lines(runs):
            console.print(line, highlight=False, markup=False)
    else:
        console.print(f"no local runs under {root.resolve()} yet: `inv run-wine --local` makes one", highlight=False)


def show_status(root: Path, name: str, console: Console) -> LocalRun:
    run = require_run(root, name)
    record = run.record
    console.print(f"[bold]{run.name}[/] {styled(record['state'])}  started {record.get('started')}, took "
                  f"{_seconds(record.get('duration'))}", highlight=False)
    tasks = record.get("tasks") or []
    width = max((len(display_name(t)) for t in tasks), default=0)
    for task in tasks:
        console.print(f"  {escape(f'{display_name(task):<{width}}')}  {styled(task['state'], 11)} "
                      f"{_seconds(task.get('duration'))}",
                      highlight=False)
    failure = record.get("failure") or {}
    if failure:
        console.print(f"[bold red]failed:[/] {escape(str(failure.get('task')))}: {escape(error_line(failure))}",
                      highlight=False)
    if _headline(record) and record["state"] == "SUCCEEDED":
        console.print(f"[bold]result:[/] {escape(_headline(record))}", highlight=False)
    console.print(f"[bold]report:[/] {run.folder / 'report.html'}", highlight=False)
    return run


def error_line(failure: dict) -> str:
    """The exception line of a failed task's log tail (what went wrong), else kfp.local's message."""
    for line in reversed(failure.get("log_tail") or []):
        if re.match(r"\s*[A-Za-z_.]*(Error|Exception)\b.*:", line):
            return line.strip()
    return str(failure.get("error") or "no error message")


def task_logs(log: str, run_name: str) -> dict[str, list[str]]:
    """The log's lines per task instance (`for-loop-1-iteration-2/train-candidate`). Each task process's output
    starts with the executor's `Looking for component` line and soon names the instance's executor output file; a
    line naming another instance's file (parallel iterations interleave) goes to that instance."""
    folder = re.compile(rf"/{re.escape(run_name)}/(?P<id>(?:[^/\"\s]+-iteration-\d+/)?[^/\"\s]+)/executor_output")
    blocks: dict[str, list[str]] = {}
    current: str | None = None
    pending: list[str] = []
    for line in log.splitlines():
        if "Looking for component" in line:
            current, pending = None, [line]
            continue
        found = folder.search(line)
        if found and current is None and pending:
            current = found["id"]
            blocks.setdefault(current, []).extend(pending)
            pending = []
        if found and found["id"] != current:
            blocks.setdefault(found["id"], []).append(line)
        elif current is not None:
            blocks[current].append(line)
        elif pending:
            pending.append(line)
    return blocks


def show_logs(root: Path, name: str, task: str | None, console: Console) -> None:
    """Each task instance's part of the run's log (only `task`'s, matched by name or iteration name, if given)."""
    run = require_run(root, name)
    if not run.log.is_file():
        raise UserError(f"run {run.name} has no log at {run.log}", "the log is written beside the run folder; "
                        "a run deleted by hand cannot be shown")
    blocks = task_logs(run.log.read_text(encoding="utf-8", errors="replace"), run.name)
    tasks = run.record.get("tasks") or []
    chosen = [t for t in tasks if task is None or task in (t["task"], display_name(t))]
    if not chosen:
        names = ", ".join(sorted({t["task"] for t in tasks} | {display_name(t) for t in tasks}))
        raise UserError(f"run {run.name} has no task {task!r}", f"tasks: {names}")
    for item in chosen:
        console.rule(escape(f"{display_name(item)} ({item['state']})"))
        own = run.folder / item["id"] / TASK_LOG   # exact; the run's log interleaves tasks that ran at once
        lines = own.read_text(encoding="utf-8", errors="replace").splitlines() if own.is_file() else \
            blocks.get(item["id"])
        console.print("\n".join(lines) if lines else "(this task wrote nothing to the log: it did not run)",
                      highlight=False, markup=False)
    console.print(f"[bold]whole log:[/] {run.log}", highlight=False)


def make_report(root: Path, name: str, console: Console, open_it: bool = False) -> Path:
    from pipelines.run_report import write_report

    path = write_report(require_run(root, name))
    console.print(f"[bold]report:[/] {path}", highlight=False)
    if open_it:
        open_in_browser(path, console)
    return path


def open_in_browser(path: Path, console: Console) -> None:
    import webbrowser

    if not webbrowser.open(path.resolve().as_uri()):
        console.print("no browser found to open it: open the file above in one", highlight=False)


def clean(root: Path, keep: int | None, failed: bool, console: Console) -> int:
    """Delete old (or failed) recorded runs; returns the bytes freed."""
    kept = (0 if failed else DEFAULT_KEEP) if keep is None else keep
    if kept < 0:
        raise UserError(f"--keep must be 0 or more, got {kept}", "pass e.g. --keep 3")
    doomed = to_clean(local_runs(root), kept, failed)
    freed = sum(delete(run) for run in doomed)
    what = "failed or interrupted " if failed else ""
    if doomed:
        console.print(f"deleted {len(doomed)} {what}local run{'s' if len(doomed) != 1 else ''} "
                      f"({', '.join(r.name for r in doomed)}); freed {human_size(freed)}", highlight=False)
    else:
        console.print(f"nothing to delete: {len(local_runs(root))} local run(s), keeping the newest {kept} "
                      f"{what}one(s)", highlight=False)
    return freed
