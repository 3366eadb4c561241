"""A kfp.local run as a short live view (one row per task, loop iterations counted) with its full log kept on disk.

kfp.local prints every task's executor input, streamed output and outputs to stdout (hundreds of lines per run).
`LocalProgress` takes that stream over for the run: every line goes to a log file, and the few lines that say a
task started or ended update the view. Parallel loop iterations all log the same task name, and kfp.local's
per-task logging handlers race between threads (a concurrent task's "finished" line can go missing), so a task
instance is recognised by the folder its executor writes to (`<run>/for-loop-1-iteration-2/train-candidate`),
which the task's own subprocess prints and which is never lost.
"""
from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import re
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from pipelines.run_view import styled

ANSI = re.compile(r"\x1b\[[0-9;]*m")
EXECUTING = re.compile(r" - INFO - Executing task '(?P<task>[^']+)'")
FAILED = re.compile(r" - (?:INFO|ERROR) - Task '(?P<task>[^']+)' finished with status FAILURE")
EXECUTOR_OUTPUT_FILE = re.compile(r'"outputFile": "(?P<folder>.+)/executor_output\.json"')
EXECUTOR_WROTE = re.compile(r"\]: Wrote executor output file to (?P<folder>.+)/executor_output\.json")
INNER_FAILURE = re.compile(r"Inner task failed: (?P<chain>'[^']+'(?: inside '[^']+')*)")
TAIL_LINES = 40


@dataclass(frozen=True)
class TaskEvent:
    kind: str                  # "executing" (kfp.local starts it), "started" (its executor runs), "succeeded", "failed"
    task: str                  # the task's name in its DAG, e.g. "train-candidate"
    folder: str | None = None  # the instance's output folder relative to the pipeline root, when known


def plain_text(text: str) -> str:
    """`text` without kfp.local's colour codes."""
    return ANSI.sub("", text)


def parse_line(line: str, pipeline_root: str | Path) -> TaskEvent | None:
    """The task event a line of kfp.local's output reports, if any."""
    text = plain_text(line)
    if found := EXECUTING.search(text):
        return TaskEvent("executing", found["task"])
    if found := FAILED.search(text):
        return TaskEvent("failed", found["task"])
    for pattern, kind in ((EXECUTOR_OUTPUT_FILE, "started"), (EXECUTOR_WROTE, "succeeded")):
        if found := pattern.search(text):
            folder = Path(found["folder"])
            if folder.is_relative_to(pipeline_root):
                return TaskEvent(kind, folder.name, folder.relative_to(pipeline_root).as_posix())
    return None


def failing_task(message: str) -> str | None:
    """The failed task as kfp.local's pipeline failure message names it (`fussy inside for-loop-1-iteration-1`)."""
    found = INNER_FAILURE.search(plain_text(message))
    return found["chain"].replace("'", "") if found else None


def _loop_size(loop: dict, arguments: dict, root_inputs: dict) -> int | None:
    """How many iterations a top-level ParallelFor runs with these arguments (None: not known before the run)."""
    items = loop["parameterIterator"]["items"]
    if "raw" in items:
        return len(json.loads(items["raw"]))
    channel = loop.get("inputs", {}).get("parameters", {}).get(items.get("inputParameter", ""), {})
    argument = channel.get("componentInputParameter")
    if argument in arguments:
        return len(arguments[argument])
    default = root_inputs.get(argument, {}).get("defaultValue")
    return len(default) if isinstance(default, list) else None


def _in_order(tasks: dict) -> list[str]:
    """Task names with each after the tasks it depends on (the IR's order otherwise)."""
    ordered: list[str] = []
    while len(ordered) < len(tasks):
        ready = [n for n, t in tasks.items() if n not in ordered
                 and all(d in ordered or d not in tasks for d in t.get("dependentTasks", []))]
        ordered.extend(ready or [n for n in tasks if n not in ordered])
    return ordered


def expected_tasks(spec: dict, arguments: dict) -> list[tuple[str, int | None]]:
    """(task name, how many times it runs) for each container task of a pipeline's IR (`pipeline_spec` as a dict),
    in dependency order; tasks inside a top-level loop run once per iteration."""
    components = spec.get("components", {})
    root_inputs = spec["root"].get("inputDefinitions", {}).get("parameters", {})

    def walk(tasks: dict, times: int | None) -> list[tuple[str, int | None]]:
        rows = []
        for name in _in_order(tasks):
            task = tasks[name]
            inner = components.get(task["componentRef"]["name"], {}).get("dag")
            if inner is None:
                rows.append((name, times))
                continue
            runs = times
            if "parameterIterator" in task:
                size = _loop_size(task, arguments, root_inputs) if times == 1 else None
                runs = None if size is None or times is None else times * size
            rows.extend(walk(inner["tasks"], runs))
        return rows

    return walk(spec["root"]["dag"]["tasks"], 1)


@dataclass
class TaskProgress:
    """One task name's instances (one per loop iteration), counted from the events seen so far."""
    task: str
    total: int | None = 1
    executing: int = 0
    started: set = field(default_factory=set)
    succeeded: set = field(default_factory=set)
    failed: int = 0

    @property
    def done(self) -> int:
        return len(self.succeeded)

    @property
    def running(self) -> int:
        return max(max(self.executing, len(self.started)) - self.done - self.failed, 0)

    @property
    def state(self) -> str:
        if self.failed:
            return "FAILED"
        if self.total is not None and self.done >= self.total:
            return "SUCCEEDED"
        return "RUNNING" if self.running > 0 or self.done else "PENDING"

    def detail(self) -> str:
        """`3/7 done, 2 running` for a task that runs once per loop iteration; empty for a single task."""
        if self.total == 1:
            return ""
        parts = [f"{self.done}/{self.total if self.total is not None else '?'} done"]
        parts += [f"{self.running} running"] if self.running > 0 else []
        parts += [f"{self.failed} failed"] if self.failed else []
        return ", ".join(parts)

    def summary(self) -> str:
        """`SUCCEEDED` for a single task, `RUNNING (3/7 done, 2 running)` for one that runs per loop iteration."""
        return f"{self.state} ({self.detail()})" if self.detail() else self.state

    def apply(self, event: TaskEvent) -> None:
        if event.kind == "executing":
            self.executing += 1
        elif event.kind == "started":
            self.started.add(event.folder)
        elif event.kind == "succeeded":
            self.started.add(event.folder)
            self.succeeded.add(event.folder)
        elif event.kind == "failed":
            self.failed += 1


@dataclass
class RunProgress:
    """Every task of one run, in the pipeline's order; where the run's artifacts are, once a task has said so."""
    tasks: dict[str, TaskProgress]
    run_folder: str | None = None
    failed_task: str | None = None

    @classmethod
    def planned(cls, expected: list[tuple[str, int | None]]) -> RunProgress:
        return cls({name: TaskProgress(name, total) for name, total in expected})

    def apply(self, event: TaskEvent) -> str | None:
        """Record `event`; returns the task's line (`train-candidate  RUNNING (2/7 done, 1 running)`) if its summary
        changed."""
        task = self.tasks.setdefault(event.task, TaskProgress(event.task, None))
        if event.folder and self.run_folder is None:
            self.run_folder = event.folder.split("/")[0]
        if event.kind == "failed":
            self.failed_task = self.failed_task or event.task
        before = task.summary()
        task.apply(event)
        width = max(len(name) for name in self.tasks)
        return f"{event.task:<{width}}  {task.summary()}" if task.summary() != before else None

    def table(self, title: str) -> Table:
        view = Table(title=title, title_justify="left", show_edge=False, box=None, padding=(0, 2, 0, 0))
        view.add_column("task")
        view.add_column("state")
        for task in self.tasks.values():
            view.add_row(task.task, f"{styled(task.state)} {task.detail()}")
        return view


class LocalProgress(io.TextIOBase):
    """Context manager: while active, stdout and stderr (kfp.local's logs and its tasks' output) go to a log file in
    `pipeline_root`, and the run's progress is shown live on a terminal, else as one line per state change.
    With `verbose`, the raw output is shown as well (and no view). On exit the log is renamed after the run folder
    (`<pipeline_root>/<run>.log`, beside it) once known."""

    def __init__(self, pipeline_name: str, expected: list[tuple[str, int | None]], pipeline_root: str | Path,
                 verbose: bool = False):
        self.pipeline_name = pipeline_name
        self.root = Path(os.path.abspath(pipeline_root))   # as kfp.local spells it (no symlinks resolved)
        self.progress = RunProgress.planned(expected)
        self.verbose = verbose
        self.lines: list[str] = []
        self.first_failure: int | None = None   # index in `lines` of the first task failure reported
        self.events: list[tuple[float, TaskEvent]] = []   # (monotonic time, event): the run's record times tasks
        self.log_path: Path | None = None
        self.live: Live | None = None
        self._pending = ""
        self._lock = threading.RLock()
        self._started = time.monotonic()

    # -- the stream kfp.local writes to (from several threads) --
    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        with self._lock:
            if self.verbose:
                self.console.file.write(text)
            self._pending += text
            *lines, self._pending = self._pending.split("\n")
            for line in lines:
                self._take(line)
        return len(text)

    def _take(self, line: str) -> None:
        plain = plain_text(line)
        self._log.write(plain + "\n")
        self.lines.append(plain)
        event = parse_line(plain, self.root)
        if event is None:
            return
        self.events.append((time.monotonic(), event))
        if event.kind == "failed" and self.first_failure is None:
            self.first_failure = len(self.lines) - 1
        changed = self.progress.apply(event)
        if changed and self.live is None and not self.verbose:
            self.console.print(f"[{time.strftime('%H:%M:%S')}] {changed}", highlight=False, markup=False)

    def flush(self) -> None:
        self._log.flush()

    # -- the run --
    def __rich__(self) -> Table:
        with self._lock:
            return self.progress.table(f"{self.pipeline_name}  {time.monotonic() - self._started:.0f}s")

    def __enter__(self) -> LocalProgress:
        self.console = Console(file=sys.stdout, soft_wrap=True)
        self.root.mkdir(parents=True, exist_ok=True)
        descriptor, name = tempfile.mkstemp(prefix=f"{self.pipeline_name}-", suffix=".log.partial", dir=self.root)
        self.log_path = Path(name)
        self._log = os.fdopen(descriptor, "w", encoding="utf-8")
        # kfp.local swaps the root logger's handlers per task (racily, from threads): put them back afterwards.
        root_logger = logging.getLogger()
        self._handlers, self._level = root_logger.handlers[:], root_logger.level
        if self.console.is_terminal and not self.verbose:
            self.live = Live(self, console=self.console, refresh_per_second=4, redirect_stdout=False,
                             redirect_stderr=False)
            self.live.start()
        else:
            shown = "its whole output follows" if self.verbose else "one line per task state change"
            self.console.print(f"running {self.pipeline_name} on kfp.local; {shown}", highlight=False)
        self._redirects = contextlib.ExitStack()
        self._redirects.enter_context(contextlib.redirect_stdout(self))
        self._redirects.enter_context(contextlib.redirect_stderr(self))
        return self

    def __exit__(self, *exc) -> None:
        self._redirects.close()
        root_logger = logging.getLogger()
        root_logger.handlers[:] = self._handlers
        root_logger.setLevel(self._level)
        with self._lock:
            if self._pending:
                self._take(self._pending)
                self._pending = ""
        if self.live is not None:
            self.live.stop()
        self._log.close()
        if self.progress.run_folder:
            final = self.root / f"{self.progress.run_folder}.log"
            self.log_path = self.log_path.replace(final)
        else:
            self.log_path = self.log_path.replace(self.log_path.with_suffix(""))   # `.log.partial` -> `.log`

    def tail(self) -> list[str]:
        """The log's last lines up to the first task failure (parallel tasks go on logging after it)."""
        end = len(self.lines) if self.first_failure is None else self.first_failure + 1
        return self.lines[max(0, end - TAIL_LINES):end]

    def report_failure(self, message: str, task: str | None = None) -> None:
        """Print the failing `task` (else as kfp.local's failure `message` or its log names it) and the log before
        it."""
        task = task or failing_task(message) or self.progress.failed_task or "unknown"
        tail = self.tail()
        self.console.print(f"[bold red]failed:[/] {escape(task)}; the last {len(tail)} log lines up to the failure:",
                           highlight=False)
        self.console.rule(style="red")
        self.console.print("\n".join(tail), highlight=False, markup=False)
        self.console.rule(style="red")
