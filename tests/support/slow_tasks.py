"""Tasks as slow as a real training step, for tests that press Ctrl-C while a loop's tasks run: on the warm runner
(pipelines/warm_runner.py) a wine candidate trains in about a tenth of a second, before a person (or a test) could
press Ctrl-C twice. `environment` gives a child process's environment in which every Python process (the run, the
warm runner's server and so its forks, the stock runner's tasks) loads this through a `sitecustomize` in `folder`,
and the task `train_candidate` sleeps `seconds` before it runs. Its helpers are shipped inside the component's
source (pipelines/packaging.py), so the wait is put where every task passes: kfp's `Executor.execute`
(kfp/dsl/executor.py), which runs the component's function `Executor.func`. The run's code is otherwise unchanged."""
from __future__ import annotations

import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
SECONDS = "KFP_LAPTOP_TEST_SLOW_FIT"


def environment(folder: Path, seconds: float, env: dict[str, str]) -> dict[str, str]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text("import tests.support.slow_tasks as slow\nslow.install()\n")
    path = os.pathsep.join(p for p in (str(folder), str(ROOT), env.get("PYTHONPATH", "")) if p)
    return {**env, "PYTHONPATH": path, SECONDS: str(seconds)}


def install() -> None:
    """Run by the sitecustomize: train_candidate's executor waits first."""
    import functools

    from kfp.dsl.executor import Executor

    execute, seconds = Executor.execute, float(os.environ.get(SECONDS, "0"))

    @functools.wraps(execute)
    def slow_execute(self, *args, **kwargs):
        if getattr(self.func, "__name__", "") == "train_candidate":
            time.sleep(seconds)
        return execute(self, *args, **kwargs)

    Executor.execute = slow_execute
