"""Ctrl-C during a kfp.local run: the first lets the running tasks finish and starts no new one, the second stops now.

Left alone, Ctrl-C reaches every process of the terminal's process group: each running task dies with its own
traceback, kfp.local's loop threads keep running (and printing) after the main thread gave up, and the interpreter's
exit waits for them ("Exception ignored in threading ..."). Instead, for the run:

- each task process starts in a process group of its own, so the terminal's Ctrl-C never reaches it: kfp.local
  (kfp 2.17.3) starts them with `subprocess.Popen` in `kfp/local/subprocess_task_handler.py` `run_local_subprocess`,
  which is given a `subprocess` whose Popen adds `process_group=0`;
- SIGINT reaches this process only: `signal.set_wakeup_fd` hands each one at once to a watcher thread (the main
  thread's Python handler does nothing, so no KeyboardInterrupt lands inside kfp.local);
- kfp.local runs each container task through `kfp.local.task_dispatcher.run_single_task_implementation` (called from
  `kfp/local/orchestrator/task_executor.py`); while stopping, a task that is not part of a loop iteration already
  under way is answered FAILURE without running, so kfp.local ends the run soon and cleanly;
- the second Ctrl-C calls `on_stop`, which kills the task processes (`kill_tasks`), records the run and leaves the
  process (`os._exit`: kfp.local's threads are still waiting on the killed tasks).

Tasks started another way (the warm runner's forks, `pipelines.warm_runner`) are put in groups of their own by their
starter and handed over with `adopt`. If kfp.local does not make the calls above (`internals_problem`), Ctrl-C is
left to kfp.local, said in one line.
"""
from __future__ import annotations

import os
import signal
import subprocess
import threading
import types
from collections.abc import Callable

ITERATION = "-iteration-"
# What this relies on in kfp.local (2.17.3): the calls its modules make, by name, at call time, so replacing the names
# for the run reaches every task. Checked in kfp's own source files (`internals_problem`), not in what this process
# may have wrapped since (the warm runner replaces run_local_subprocess for its run, and falls back to it).
CALLS = {"kfp.local.orchestrator.task_executor": "task_dispatcher.run_single_task_implementation(",
         "kfp.local.subprocess_task_handler": "subprocess.Popen("}


def internals_problem() -> str | None:
    """Why Ctrl-C cannot be taken over here (None: it can)."""
    import importlib
    import inspect

    changed = []
    for module, call in CALLS.items():
        try:
            source = inspect.getsource(importlib.import_module(module))
        except (ImportError, OSError, TypeError):
            source = ""
        if call not in source:
            changed.append(module.rsplit(".", 1)[1])
    if changed:
        import kfp

        return f"kfp {kfp.__version__}'s internals differ from those it was written for ({', '.join(changed)})"
    return None


class CtrlC:
    """Context manager around a kfp.local run. `on_first()` returns what to print at the first Ctrl-C; `on_stop()`
    runs at the second (from the watcher thread) and must call `kill_tasks` and end the process. After the block,
    `interrupted` says whether Ctrl-C was pressed. Outside the main thread it only guards the task launches."""

    def __init__(self, say: Callable[[str], None], on_first: Callable[[], str], on_stop: Callable[[], None]):
        self.say, self.on_first, self.on_stop = say, on_first, on_stop
        self.interrupted = False
        self.active = threading.current_thread() is threading.main_thread() and os.name == "posix"
        self.problem: str | None = None      # set on entry when kfp.local is not what this was written for
        self._iterations: set[str] = set()   # loop iterations with a task started (kfp.local's resource names)
        self._groups: set[int] = set()       # the task processes' groups
        self._lock = threading.Lock()

    # -- kfp.local's task launch, wrapped --
    def _guarded(self, launch: Callable) -> Callable:
        def run_single_task_implementation(*args, **kwargs):
            resource = str(kwargs.get("pipeline_resource_name") or "")
            with self._lock:
                refused = self.interrupted and resource not in self._iterations
                if not refused and ITERATION in resource:
                    self._iterations.add(resource)
            if refused:
                from kfp.local import status

                return {}, status.Status.FAILURE
            return launch(*args, **kwargs)

        return run_single_task_implementation

    def _popen(self, *args, **kwargs) -> subprocess.Popen:
        process = subprocess.Popen(*args, process_group=0, **kwargs)
        self.adopt(process.pid)
        return process

    def adopt(self, group: int) -> None:
        """A task process started elsewhere (the warm runner's forks), in a process group of its own: killed with
        the others at the second Ctrl-C."""
        with self._lock:
            self._groups.add(group)

    def kill_tasks(self) -> None:
        """Kill every task process (with whatever it started: its whole process group)."""
        with self._lock:
            groups = list(self._groups)
        for group in groups:
            try:
                os.killpg(group, signal.SIGKILL)
            except OSError:   # already gone
                pass

    def __enter__(self) -> CtrlC:
        from kfp.local import subprocess_task_handler, task_dispatcher

        self.problem = internals_problem()
        if self.problem is not None:
            self.active = False
            self.say(f"Ctrl-C: kfp.local's own handling for this run: {self.problem}")
            return self
        self._launch = task_dispatcher.run_single_task_implementation
        task_dispatcher.run_single_task_implementation = self._guarded(self._launch)
        if not self.active:
            return self
        self._subprocess = subprocess_task_handler.subprocess
        subprocess_task_handler.subprocess = types.SimpleNamespace(**{**vars(subprocess), "Popen": self._popen})
        self._read, self._write = os.pipe()
        os.set_blocking(self._write, False)
        self._old_handler = signal.signal(signal.SIGINT, lambda *_: None)
        self._old_wakeup = signal.set_wakeup_fd(self._write, warn_on_full_buffer=False)
        self._watcher = threading.Thread(target=self._watch, name="ctrl-c", daemon=True)
        self._watcher.start()
        return self

    def _watch(self) -> None:
        while True:
            data = os.read(self._read, 64)
            if not data or 0 in data:      # 0: the run is over
                return
            if int(signal.SIGINT) not in data:
                continue
            if not self.interrupted:
                with self._lock:
                    self.interrupted = True
                self.say(self.on_first())
                continue
            self.on_stop()
            return

    def __exit__(self, *exc) -> None:
        from kfp.local import subprocess_task_handler, task_dispatcher

        if self.problem is not None:
            return
        task_dispatcher.run_single_task_implementation = self._launch
        if not self.active:
            return
        subprocess_task_handler.subprocess = self._subprocess
        os.write(self._write, b"\0")
        self._watcher.join(timeout=5)
        signal.set_wakeup_fd(self._old_wakeup)
        signal.signal(signal.SIGINT, self._old_handler)
        os.close(self._read)
        os.close(self._write)
