"""What a local run leaves behind besides its artifacts: its record (`run.json`) and report (`report.html`) in its
run folder, whatever way it ended, and a clean Ctrl-C while it runs (`pipelines.local_interrupt`).

`RunKeeper` wraps the kfp.local call in `pipelines.local_run.run_pipeline`; the live view (`LocalProgress`) supplies
the task events, the plan (`pipelines.run_plan`) the task instances that were to run.
"""
from __future__ import annotations

import contextlib
import os
import time
from datetime import datetime, timezone
from pathlib import Path

from rich.markup import escape

from pipelines.local_interrupt import CtrlC
from pipelines.run_history import LocalRun, instances, write_record
from pipelines.run_plan import display_name, named_failure, plan


class RunKeeper:
    def __init__(self, pipeline_name: str, spec: dict, arguments: dict, view):
        self.pipeline_name, self.arguments, self.view = pipeline_name, arguments, view
        self.nodes = plan(spec, arguments)
        self.run_name: str | None = None
        self.ctrl_c: CtrlC | None = None
        self._wall = datetime.now(timezone.utc)
        self._started = time.monotonic()
        self._finished = False

    # -- while the run runs --
    @contextlib.contextmanager
    def watching(self):
        """Learn the run's name as kfp.local makes it, and take Ctrl-C over (see `pipelines.local_interrupt`)."""
        from kfp.local import executor_input_utils

        make_name = executor_input_utils.get_local_pipeline_resource_name

        def named(pipeline_name: str) -> str:
            name = make_name(pipeline_name)
            self.run_name = self.run_name or name
            return name

        executor_input_utils.get_local_pipeline_resource_name = named
        self.ctrl_c = CtrlC(self._say, self._first_ctrl_c, self._second_ctrl_c)
        try:
            with self.ctrl_c:
                yield self
        finally:
            executor_input_utils.get_local_pipeline_resource_name = make_name

    def adopt_task(self, group: int) -> None:
        """A task process group started outside kfp.local's Popen (the warm runner's), stopped with the run."""
        if self.ctrl_c is not None:
            self.ctrl_c.adopt(group)

    @property
    def interrupted(self) -> bool:
        return bool(self.ctrl_c and self.ctrl_c.interrupted)

    def _say(self, text: str) -> None:
        self.view.console.print(text, highlight=False)

    def running(self) -> tuple[list[str], bool]:
        """The running task instances by name (those launched but not yet started by count), and whether one of
        them is in a loop iteration."""
        with self.view._lock:
            named = [t for t in self._instances("INTERRUPTED") if t["state"] == "INTERRUPTED"]
            counts = {name: task.running for name, task in self.view.progress.tasks.items() if task.running}
        shown = [display_name(t) for t in named]
        for name, count in counts.items():
            extra = count - sum(1 for t in named if t["task"] == name)
            shown += [f"{extra} × {name}" if extra > 1 else name] if extra > 0 else []
        looped = any(t.get("group") for t in named) or any(n.get("group") and n["task"] in counts for n in self.nodes)
        return shown, looped

    def _first_ctrl_c(self) -> str:
        running, looped = self.running()
        many = len(running) > 1 or any(" × " in name for name in running)
        what = (f"the running task{'s' if many else ''} ({escape(', '.join(running))}) finish{'' if many else 'es'}"
                + (", with the rest of their loop iterations" if looped else "")
                if running else "the task being started finishes")
        return (f"[bold yellow]Ctrl-C:[/] stopping: {what}; no new task starts, and the run is marked interrupted. "
                "Press Ctrl-C again to stop now.")

    def _second_ctrl_c(self) -> None:
        """From the watcher thread, with kfp.local still running: kill the tasks, record the run, leave at once.
        The view's lock is taken for good first, so no kfp.local thread writes (to the log) after it is closed."""
        self.view._lock.acquire()
        try:
            self.ctrl_c.kill_tasks()
            self._say("[bold yellow]Ctrl-C again:[/] stopped the running tasks.")
            if self.view.live is not None:
                self.view.live.stop()
            self.view._log.close()
            self.view.log_path = Path(self.view.log_path).replace(self.view.root / f"{self.folder().name}.log")
            report = self.finish("INTERRUPTED", None)
            self._say(f"[bold]interrupted;[/] the partial run's log: {self.view.log_path}")
            self._say(f"[bold]report:[/] {report}")
            self.view.console.file.flush()   # the terminal (sys.stdout is still the view)
        finally:
            os._exit(130)

    # -- once it ended --
    def _instances(self, state: str) -> list[dict]:
        return instances(self.nodes, list(self.view.events), self.run_name or self.view.progress.run_folder,
                         self._started, time.monotonic(), state)

    def task_name(self, kfp_chain: str) -> str:
        """The failing task as a person knows it (`train-candidate[n_neighbors=7]`)."""
        return named_failure(kfp_chain, self.nodes)

    def folder(self) -> Path:
        name = self.run_name or self.view.progress.run_folder or \
            f"{self.pipeline_name}-{self._wall.astimezone().strftime('%Y-%m-%d-%H-%M-%S-%f')}"
        return self.view.root / name

    def finish(self, state: str, failure: dict | None, result=None) -> Path:
        """Write the record and the report; returns the report's path."""
        from pipelines.run_report import write_report

        folder = self.folder()
        log = self.view.root / f"{folder.name}.log"
        if self.view.log_path and Path(self.view.log_path).is_file() and Path(self.view.log_path) != log:
            self.view.log_path = Path(self.view.log_path).replace(log)   # no task said where the run folder is
        tasks = self._instances(state)
        record = {"name": folder.name, "pipeline": self.pipeline_name, "state": state,
                  "started": self._wall.isoformat(timespec="seconds"),
                  "duration": round(time.monotonic() - self._started, 3), "arguments": self.arguments,
                  "result": result, "tasks": tasks, "failure": failure,
                  "log": f"{folder.name}.log"}
        write_record(folder, record)
        return write_report(LocalRun(folder, record))
