"""A warm task server under kfp.local: each task is a fork of one process that has already imported what the
components import, instead of a fresh interpreter that spends about a second importing scikit-learn, pandas and
pyarrow and another fifth shutting down.

kfp.local has no plug-in point for runners. The narrowest seam is the module-level function that launches a
task's subprocess, `kfp.local.subprocess_task_handler.run_local_subprocess(full_command, env_vars)`:
`SubprocessTaskHandler.run` looks it up at call time. `session()` replaces it for one run with `WarmClient.run`,
which sends the task to the server and streams its output back exactly as the stock function does. The server
(`python -m pipelines.warm_runner SOCKET`) is started by a process's first run and serves its later runs too (a
notebook's second run starts warm at once); it forks one child per task; the child does what kfp's command line does
(`sh -ec 'program_path=$(mktemp -d); printf "%s" "$0" > .../ephemeral_component.py; _KFP_RUNTIME=true python3 -m
kfp.dsl.executor_main ...'`, kfp/dsl/component_factory.py) and ends with `os._exit`. Each task stays its own process,
with its own exit status, output and failure; the compiled pipeline does not change.

Fork safety: the server starts with one BLAS/OpenMP thread and no allocator thread (SERVER_ENV), checks that it has
exactly one thread before it says it is ready, and never starts one; each child sets its own BLAS/OpenMP limit
(threadpoolctl), resets the signal handlers a fresh interpreter has, and leaves with `os._exit` (no atexit handlers of
the server run). Each child is the leader of a process group of its own, as `pipelines.local_interrupt` starts the
stock runner's tasks: the terminal's Ctrl-C reaches this process only, and `session(on_task=...)` hands each task's
group to whoever stops the run (`CtrlC.adopt`); a client interrupted while it waits passes SIGINT on to its task.

It also lifts kfp.local's cap of 2 workers per loop, which ignores the pipeline's `parallelism`
(`ParallelExecutor`, kfp/local/orchestrator/enhanced_dag_orchestrator.py): a loop runs min(parallelism, cores) at once.

Everything it relies on is checked first (`internals_problem`): if kfp's code differs from what this was written
for, or the platform is not Linux, the run uses the stock runner and says so in one line.
"""
from __future__ import annotations

import atexit
import contextlib
import hashlib
import inspect
import io
import json
import os
import selectors
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

from pipelines.run_history import TASK_LOG

OFF_SWITCH = "KFP_LAPTOP_WARM_RUNNER"      # =off: kfp.local's stock runner
EXECUTOR_MODULE = "kfp.dsl.executor_main"
# What the components' tasks import (pipelines/wine/logic.py and components.py, kfp's executor), imported once.
# Not EXECUTOR_MODULE itself: each task runs it as __main__, as `python -m` does.
PRELOAD = ("kfp.dsl.executor", "kfp.dsl.kfp_config", "kfp.dsl.utils", "pandas", "pyarrow.parquet",
           "pandas.io.parquet", "joblib", "sklearn.base", "sklearn.datasets", "sklearn.metrics",
           "sklearn.model_selection", "sklearn.neighbors", "sklearn.pipeline", "sklearn.preprocessing")
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")
# pyarrow's bundled jemalloc starts a background purging thread when it loads, unless told not to.
SERVER_ENV = {**{name: "1" for name in THREAD_VARIABLES}, "JE_ARROW_MALLOC_CONF": "background_thread:false",
              "_KFP_RUNTIME": "true"}
READY = "ready"
READY_TIMEOUT = 120.0    # seconds the first task waits for the server's imports (a loaded 2-core laptop: ~3 s)

# The kfp 2.17.3 code this module relies on, by the SHA-256 of its source (`inspect.getsource`).
SEAMS = {
    # the function replaced: its output handling is reproduced by WarmClient.run
    "kfp.local.subprocess_task_handler:run_local_subprocess":
        "4f82b209ba51fc9e24792fe42561f942782675f5301e04335305e22e89728e88",
    # calls the seam by its module-level name with (full_command=..., env_vars=...), python3 already replaced
    "kfp.local.subprocess_task_handler:SubprocessTaskHandler.run":
        "c79dba3c8c4ca0b5b38b375a4384d7eff67430710184cc9345984f34e7d40bf0",
    # the lightweight component's command line that `parse_command` takes apart
    "kfp.dsl.component_factory:_get_command_and_args_for_lightweight_component":
        "130dc37857d9413614e765cc8f0ad51fcd67ed24219286420cbfed1a33b7705c",
    # the 2-worker cap that `_lift_loop_cap` widens
    "kfp.local.orchestrator.enhanced_dag_orchestrator:ParallelExecutor":
        "3920fabfc5d876b1e07dd0dea6c36a8007c7b7710597df8630cc03713a780e5e",
}


def _resolve(path: str):
    import importlib

    module, _, qualname = path.partition(":")
    target = importlib.import_module(module)
    for part in qualname.split("."):
        target = getattr(target, part)
    return target


def source_digest(path: str) -> str:
    return hashlib.sha256(inspect.getsource(_resolve(path)).encode()).hexdigest()


def internals_problem() -> str | None:
    """Why the warm runner cannot be used here (None: it can)."""
    if sys.platform != "linux":
        return f"it forks preloaded processes, which is checked safe on Linux only (this is {sys.platform})"
    changed = [path.split(":")[1] for path, digest in SEAMS.items() if source_digest(path) != digest]
    if changed:
        import kfp

        return f"kfp {kfp.__version__}'s internals differ from those it was written for ({', '.join(changed)})"
    return None


# -- the task: kfp's lightweight command line, taken apart ------------------------------------------------------------

def expected_script(python: str) -> str:
    """The `sh -ec` script kfp writes for a lightweight component without pip installs, `python3` replaced by
    `python` as SubprocessTaskHandler does (kfp/dsl/component_factory.py, kfp/local/subprocess_task_handler.py)."""
    from kfp.dsl import component_factory

    def probe():
        pass

    command, _ = component_factory._get_command_and_args_for_lightweight_component(probe)
    return command[2].replace("python3", python)


def own_log(task: dict) -> Path | None:
    """Where this task's output alone is kept: beside its executor output file (kfp.local prints the output of tasks
    that run at once interleaved, so the run's log cannot always tell whose a line is); None if the command names
    none."""
    args = task["args"]
    try:
        executor_input = json.loads(args[args.index("--executor_input") + 1])
        return Path(executor_input["outputs"]["outputFile"]).with_name(TASK_LOG)
    except (ValueError, IndexError, KeyError, TypeError):
        return None


def parse_command(full_command: list[str], script: str) -> dict | None:
    """{source, args} of a task whose command is exactly kfp's lightweight one (`sh -ec SCRIPT SOURCE ARGS...`);
    None for anything else (a component that pip-installs packages first runs the stock way)."""
    if len(full_command) < 4 or full_command[:3] != ["sh", "-ec", script]:
        return None
    return {"source": full_command[3], "args": full_command[4:]}


# -- the server (its own process: `python -m pipelines.warm_runner SOCKET`) -------------------------------------------

BASE_PATH: list[str] = []   # the server's sys.path without its own cwd and PYTHONPATH: what every task shares


def _python_path(env: dict[str, str]) -> list[str]:
    return [entry for entry in env.get("PYTHONPATH", "").split(os.pathsep) if entry]


def _thread_count() -> int:
    """Native threads of this process (Python's own count misses the ones C libraries start)."""
    return len(os.listdir("/proc/self/task"))


def serve(path: str) -> None:
    """Import PRELOAD, say READY on stdout, then fork a child per request until stdin closes."""
    import importlib

    global BASE_PATH
    started_with = set(_python_path(os.environ))
    BASE_PATH = [entry for entry in sys.path[1:] if entry not in started_with]
    signal.signal(signal.SIGINT, signal.SIG_IGN)    # Ctrl-C is for the run and its tasks; the client stops the server
    for module in PRELOAD:
        with contextlib.suppress(ImportError):
            importlib.import_module(module)
    from threadpoolctl import ThreadpoolController

    blas = ThreadpoolController()   # finds the BLAS/OpenMP libraries once, not in every task
    if _thread_count() != 1:
        print(f"the server has {_thread_count()} threads after its imports; forking it would not be safe", flush=True)
        return
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    print(READY, flush=True)
    quiet = os.open(os.devnull, os.O_RDWR)
    os.dup2(quiet, 1)
    os.dup2(quiet, 2)
    os.close(quiet)

    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)   # a handler, so SIGCHLD writes to the wakeup fd
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, "accept")
    selector.register(sys.stdin, selectors.EVENT_READ, "stop")
    selector.register(wake_read, selectors.EVENT_READ, "reap")
    children: dict[int, socket.socket] = {}
    running = True
    while running:
        for key, _ in selector.select():
            if key.data == "accept":
                connection, _ = listener.accept()
                child = _fork_task(connection, [listener, sys.stdin, wake_read, wake_write], selector, children,
                                   blas)
                if child:
                    children[child] = connection
            elif key.data == "reap":
                with contextlib.suppress(BlockingIOError):
                    os.read(wake_read, 4096)
                _reap(children)
            else:
                running = False
    for pid in children:      # an abandoned run (its client is gone): its tasks go too, whatever they started
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
    _remove(path)   # also when the client could not (it left with os._exit at a second Ctrl-C)


def _remove(path: str) -> None:
    """The socket and the private folder it is in."""
    for remove, target in ((os.unlink, path), (os.rmdir, os.path.dirname(path))):
        with contextlib.suppress(OSError):
            remove(target)


def _reap(children: dict[int, socket.socket]) -> None:
    """Tell each finished child's client its exit code (as Popen reports it: -N for a signal)."""
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        connection = children.pop(pid, None)
        if connection is not None:
            with contextlib.suppress(OSError):
                connection.sendall(f"exit {os.waitstatus_to_exitcode(status)}\n".encode())
            connection.close()


def _receive(connection: socket.socket) -> tuple[dict, int]:
    header, fds, _, _ = socket.recv_fds(connection, 8, 1)
    while len(header) < 8:
        header += connection.recv(8 - len(header))
    size, = struct.unpack("!Q", header)
    body = bytearray()
    while len(body) < size:
        chunk = connection.recv(min(size - len(body), 1 << 20))
        if not chunk:
            raise ConnectionError("the client went away mid-request")
        body += chunk
    return json.loads(body), fds[0]


def _fork_task(connection: socket.socket, server_fds: list, selector, children: dict, blas) -> int | None:
    """Fork the task `connection` asks for; returns the child's pid (None if the request was broken)."""
    try:
        request, output = _receive(connection)
    except (OSError, ValueError, IndexError):
        connection.close()
        return None
    pid = os.fork()
    if pid:
        with contextlib.suppress(OSError):   # also set by the child: whichever runs first, the group exists
            os.setpgid(pid, pid)
        os.close(output)
        with contextlib.suppress(OSError):
            connection.sendall(f"pid {pid}\n".encode())
        return pid
    try:   # the child: nothing of the server's may survive into the task
        os.setpgid(0, 0)
        signal.set_wakeup_fd(-1)
        selector.close()
        for item in server_fds:
            with contextlib.suppress(OSError):
                os.close(item if isinstance(item, int) else item.fileno())
        for other in children.values():
            other.close()
        connection.close()
        code = _run_task(request, output, blas)
    except BaseException:   # noqa: BLE001 - whatever happens, the child must not return into the server's loop
        code = 70
    os._exit(code)


def _run_task(request: dict, output: int, blas) -> int:
    """In the child: what kfp's `sh -ec` script does, then the interpreter's exit code."""
    import logging
    import runpy
    import traceback

    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    stdin = os.open(os.devnull, os.O_RDONLY)
    os.dup2(stdin, 0)
    os.close(stdin)
    os.dup2(output, 1)
    os.dup2(output, 2)
    os.close(output)
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8", line_buffering=True)
    sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding="utf-8", errors="backslashreplace",
                                  line_buffering=True)
    logging.root.handlers.clear()
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.path[:] = [request["cwd"], *_python_path(request["env"]), *BASE_PATH]   # as `python3 -m` in the task's cwd
    os.environ["_KFP_RUNTIME"] = "true"
    threads = request["threads"]
    for name in THREAD_VARIABLES:
        os.environ.setdefault(name, str(threads))
    if threads != 1:   # 1 is what the server's libraries were loaded with (SERVER_ENV)
        blas.limit(limits=threads)
    program_path = tempfile.mkdtemp()
    module_path = os.path.join(program_path, "ephemeral_component.py")
    with open(module_path, "w", encoding="utf-8") as module:
        module.write(request["source"])
    sys.argv = [EXECUTOR_MODULE, "--component_module_path", module_path, *request["args"]]
    code = 0
    try:
        runpy.run_module(EXECUTOR_MODULE, run_name="__main__", alter_sys=True)
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        if stop.code is not None and not isinstance(stop.code, int):
            print(stop.code, file=sys.stderr)
    except BaseException:   # noqa: BLE001 - reported as a fresh interpreter reports it
        traceback.print_exc()
        code = 1
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    return code


# -- the client (inside kfp.local's process) ---------------------------------------------------------------------------

def task_threads(env: dict[str, str]) -> int:
    """BLAS/OpenMP threads per task: the user's OMP_NUM_THREADS, else 1 (a loop's tasks already share the cores)."""
    value = env.get("OMP_NUM_THREADS", "")
    return int(value) if value.isdigit() and int(value) > 0 else 1


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


class TaskServer:
    """The preloaded process. One per Python process, shared by its runs (`shared_server`): a notebook's second run
    starts warm at once. It ends with this process (at exit, or when its stdin closes because this process died)."""

    def __init__(self):
        self.folder = tempfile.mkdtemp(prefix="kfp-laptop-warm-")
        self.path = os.path.join(self.folder, "server.sock")
        try:
            self.process = subprocess.Popen([sys.executable, "-m", "pipelines.warm_runner", self.path],
                                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                            env={**os.environ, **SERVER_ENV}, text=True)
        except OSError:
            _remove(self.path)
            raise
        self.lock = threading.Lock()
        self.state: bool | None = None    # None: not known yet; True: serving; False: not usable
        self.problem = ""                 # why not, when it is not

    def ready(self) -> bool:
        """Whether it serves; the first call waits for its imports."""
        with self.lock:
            if self.state is None:
                self.problem = self._await_ready()
                self.state = not self.problem
            return self.state

    def _await_ready(self) -> str:
        import select

        started, said = time.monotonic(), []
        while time.monotonic() - started < READY_TIMEOUT:
            ready, _, _ = select.select([self.process.stdout], [], [], 1.0)
            if not ready:
                continue
            line = self.process.stdout.readline()
            if line.strip() == READY:
                return ""
            if not line:
                break
            said.append(line.strip())
        return f"the task server did not start ({said[-1] if said else f'no answer in {READY_TIMEOUT:.0f} s'})"

    def failed(self, why: str) -> None:
        self.state, self.problem = False, why

    def usable(self) -> bool:
        return self.state is not False and self.process.poll() is None

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()
        _remove(self.path)


_shared: list[TaskServer] = []


def shared_server() -> TaskServer:
    """This process's task server: the running one, or a new one in place of one that stopped or never started."""
    if _shared and _shared[0].usable():
        return _shared[0]
    if _shared:
        _shared.pop().close()
    else:
        atexit.register(_close_shared)
    _shared.append(TaskServer())
    return _shared[0]


def _close_shared() -> None:
    while _shared:
        _shared.pop().close()


class WarmClient:
    """One run's client of the task server: hands it the tasks, falls back to the stock function for the rest of
    the run if it fails."""

    def __init__(self, stock: Callable[..., int], say: Callable[[str], None], server: TaskServer,
                 on_task: Callable[[int], None] | None = None):
        self.stock, self.say, self.server, self.on_task = stock, say, server, on_task
        self.script = expected_script(sys.executable)
        self.lock = threading.Lock()
        self.warm: bool | None = None    # None: not known yet; True: serving; False: stock from now on

    def _ready(self) -> bool:
        with self.lock:
            if self.warm is None:
                self.warm = self.server.ready()
                if not self.warm:
                    self._give_up(self.server.problem)
            return self.warm

    def _give_up(self, why: str) -> None:
        self.warm = False
        self.server.failed(why)
        self.say(f"warm runner: {why}; the remaining tasks use kfp.local's stock runner")

    def run(self, full_command: list[str], env_vars: dict | None = None) -> int:
        """The stock `run_local_subprocess`'s contract: the task's merged output printed line by line (then a blank
        line), its exit code returned."""
        task = parse_command(full_command, self.script)
        if task is None or not self._ready():
            return self.stock(full_command=full_command, env_vars=env_vars)
        env = {**os.environ, **(env_vars or {})}
        request = json.dumps({**task, "cwd": os.getcwd(), "env": env, "threads": task_threads(env)}).encode()
        read_end, write_end = os.pipe()
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            connection.connect(self.server.path)
            socket.send_fds(connection, [struct.pack("!Q", len(request))], [write_end])
            connection.sendall(request)
        except OSError as err:
            connection.close()
            os.close(read_end)
            with self.lock:
                if self.warm:
                    self._give_up(f"the task server stopped ({err.strerror or err})")
            return self.stock(full_command=full_command, env_vars=env_vars)
        finally:
            os.close(write_end)
        replies = connection.makefile("r", encoding="utf-8")
        pid = None
        try:
            pid = int(replies.readline().split()[1])
            if self.on_task is not None:
                self.on_task(pid)    # the task's process group (see _fork_task)
            with open(read_end, encoding="utf-8", errors="replace") as output, _kept(own_log(task)) as kept:
                for line in output:
                    print(line, end="")
                    kept.write(line)
            print("\n")
            reply = replies.readline().split()
            return int(reply[1]) if reply[:1] == ["exit"] else 1
        except KeyboardInterrupt:
            if pid:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGINT)
            raise
        except (IndexError, ValueError):   # the server went away before it forked the task
            print("warm runner: the task server stopped before running this task\n")
            return 1
        finally:
            replies.close()
            connection.close()


@contextlib.contextmanager
def _kept(path: Path | None):
    """A file to copy a task's output into; a stand-in that keeps nothing when there is no place or it cannot be
    written (the run's own log still has every line)."""
    try:
        if path is None:
            raise FileNotFoundError("no place for this task's log")
        path.parent.mkdir(parents=True, exist_ok=True)
        kept = open(path, "w", encoding="utf-8")
    except OSError:
        yield io.StringIO()
        return
    with kept:
        yield kept


def _lift_loop_cap(limit: int) -> Callable[[], None]:
    """Let ParallelExecutor run up to `limit` iterations at once (the loop's own parallelism still bounds it);
    returns the undo."""
    from kfp.local.orchestrator.enhanced_dag_orchestrator import ParallelExecutor

    original = ParallelExecutor.__init__

    def widened(self, max_workers: int | None = None) -> None:
        original(self, max_workers)
        self.conservative_max = limit
        self.max_workers = limit if max_workers is None else min(max_workers, limit)

    ParallelExecutor.__init__ = widened
    return lambda: setattr(ParallelExecutor, "__init__", original)


@contextlib.contextmanager
def session(say: Callable[[str], None], on_task: Callable[[int], None] | None = None) -> Iterator[None]:
    """For one kfp.local run: tasks start warm and loops honour their parallelism (bounded by the cores), said in
    one line; or, when that cannot be, the stock runner, also said in one line. `on_task(group)` learns each warm
    task's process group as it starts. The stock function is called as it was found, so what wraps it (or the
    `subprocess` it uses) before the session began still applies to the tasks that fall back to it."""
    if os.environ.get(OFF_SWITCH, "").lower() in ("off", "0", "false", "no"):
        say(f"warm runner off ({OFF_SWITCH}); kfp.local's stock runner starts a fresh interpreter per task")
        yield
        return
    problem = internals_problem()
    if problem is not None:
        say(f"warm runner off: {problem}; using kfp.local's stock runner")
        yield
        return
    from kfp.local import subprocess_task_handler as handler

    limit = cores()
    try:
        client = WarmClient(handler.run_local_subprocess, say, shared_server(), on_task)
    except OSError as err:
        say(f"warm runner off: its server cannot start ({err.strerror or err}); using kfp.local's stock runner")
        yield
        return
    restore = _lift_loop_cap(limit)
    handler.run_local_subprocess = client.run
    say(f"warm runner: tasks start as forks of a preloaded process; a loop runs up to its parallelism at once, "
        f"bounded by this machine's {limit} cores (kfp.local alone caps it at 2)")
    try:
        yield
    finally:
        handler.run_local_subprocess = client.stock
        restore()


if __name__ == "__main__":
    serve(sys.argv[1])
    os._exit(0)   # at once: unloading the preloaded libraries only costs time (and a run stopped by a second Ctrl-C
    #               does not wait for it)
