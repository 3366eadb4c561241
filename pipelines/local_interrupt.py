"""Ctrl-C during a kfp.local run: the first lets the running tasks finish and starts no new one, the second stops now.

Left alone, Ctrl-C reaches every process of the terminal's process group: each running task dies with its own
traceback, kfp.local's loop threads keep running (and printing) after the main thread gave up, and the interpreter's
exit waits for them ("Exception ignored in threading ..."). Instead, for the run:

- SIGINT is blocked in this process's threads, so the task subprocesses they start inherit it blocked (a blocked
  signal survives fork and exec) and never see the terminal's Ctrl-C; one watcher thread unblocks it, and
  `signal.set_wakeup_fd` hands it each SIGINT at once (the main thread's Python handler does nothing);
- kfp.local runs each container task through `kfp.local.task_dispatcher.run_single_task_implementation` (kfp 2.17.3,
  called from `kfp/local/orchestrator/task_executor.py`); while stopping, a task that is not part of a loop iteration
  already under way is answered FAILURE without running, so kfp.local ends the run soon and cleanly;
- the second Ctrl-C kills the task processes and calls `on_stop`, which records the run and leaves the process.
"""
from __future__ import annotations

import os
import signal
import subprocess
import threading
from typing import Callable

ITERATION = "-iteration-"


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (children first), from `ps` (the same options on Linux and macOS)."""
    try:
        listing = subprocess.run(["ps", "-A", "-o", "pid=", "-o", "ppid="], capture_output=True, text=True,
                                 timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    children: dict[int, list[int]] = {}
    for line in listing.splitlines():
        parts = line.split()
        if len(parts) == 2 and all(p.isdigit() for p in parts):
            children.setdefault(int(parts[1]), []).append(int(parts[0]))
    found, queue = [], [pid]
    while queue:
        for child in children.get(queue.pop(0), []):
            found.append(child)
            queue.append(child)
    return found


class CtrlC:
    """Context manager around a kfp.local run. `on_first()` returns what to print at the first Ctrl-C; `on_stop()`
    runs at the second (from the watcher thread) and must end the process. After the block, `interrupted` says
    whether Ctrl-C was pressed. Outside the main thread (or without POSIX signals) it does nothing."""

    def __init__(self, say: Callable[[str], None], on_first: Callable[[], str], on_stop: Callable[[], None]):
        self.say, self.on_first, self.on_stop = say, on_first, on_stop
        self.interrupted = False
        self.active = (threading.current_thread() is threading.main_thread() and hasattr(signal, "pthread_sigmask")
                       and hasattr(os, "set_blocking"))
        self._iterations: set[str] = set()   # loop iterations with a task started (kfp.local's resource names)
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

    def __enter__(self) -> CtrlC:
        from kfp.local import task_dispatcher

        self._launch = task_dispatcher.run_single_task_implementation
        task_dispatcher.run_single_task_implementation = self._guarded(self._launch)
        if not self.active:
            return self
        self._read, self._write = os.pipe()
        os.set_blocking(self._write, False)
        self._old_handler = signal.signal(signal.SIGINT, lambda *_: None)
        self._old_wakeup = signal.set_wakeup_fd(self._write, warn_on_full_buffer=False)
        self._old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        self._watcher = threading.Thread(target=self._watch, name="ctrl-c", daemon=True)
        self._watcher.start()
        return self

    def _watch(self) -> None:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})   # this thread alone takes SIGINT
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
            for pid in descendants(os.getpid()):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            self.on_stop()
            return

    def __exit__(self, *exc) -> None:
        from kfp.local import task_dispatcher

        task_dispatcher.run_single_task_implementation = self._launch
        if not self.active:
            return
        os.write(self._write, b"\0")
        self._watcher.join(timeout=5)
        signal.set_wakeup_fd(self._old_wakeup)
        signal.signal(signal.SIGINT, self._old_handler)
        signal.pthread_sigmask(signal.SIG_SETMASK, self._old_mask)
        os.close(self._read)
        os.close(self._write)
