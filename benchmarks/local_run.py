#!/usr/bin/env python3
"""How much `inv run-wine --local` costs over the same tuning as one plain scikit-learn process, and per task.

    .venv/bin/python benchmarks/local_run.py            # plain script vs `inv run-wine --local`, per-task overhead
    .venv/bin/python benchmarks/local_run.py --stock    # also kfp.local's stock runner (a fresh interpreter per task)
    .venv/bin/python benchmarks/local_run.py --with-pip # also the cluster flavour locally: each task re-runs pip

Both sides are whole commands, timed from a fresh process to its end: `python benchmarks/local_run.py --plain` (load,
validate, split, fit + 5-fold CV per candidate, select, evaluate, in one process) and `inv run-wine --local` with the
default candidates. The per-task overhead is measured apart, on a chain of tasks that do nothing: the time from
kfp.local starting a task to kfp.local seeing it finished, averaged (the first task, which waits for the server's
imports, is shown on its own). Wall times move with whatever else the machine runs: the load is printed.
"""
import argparse
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CHAIN = 8
STAMP = re.compile(r"^(\d\d:\d\d:\d\d\.\d+) - INFO - (Executing task|Task '.*' finished)")


def plain_script() -> float:
    """The same tuning as one single-process scikit-learn script; returns the test accuracy."""
    from pipelines.arguments import wine_arguments
    from pipelines.wine import logic
    from pipelines.wine.pipeline import DEFAULT_FOLDS, DEFAULT_MIN_CLASS_FRACTION

    arguments = wine_arguments()
    frame = logic.load_wine_frame()
    assert not logic.validation_problems(frame, DEFAULT_MIN_CLASS_FRACTION)
    train, test = logic.split_frame(frame, arguments.test_size, arguments.random_state)
    candidates, models = [], []
    for k in arguments.neighbors:
        model = logic.fit_candidate(train, k)
        mean, std = logic.cross_validated_accuracy(model, train, DEFAULT_FOLDS)
        candidates.append({"n_neighbors": k, "cv_accuracy": mean, "cv_accuracy_std": std})   # flat, as tasks pass it
        models.append(model)
    return logic.evaluation(models[logic.pick_best(candidates)], test)["accuracy"]


def timed_command(command: list[str], env: dict | None = None, cwd: Path | None = None) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}")
    return seconds, done.stdout


def run_wine(env: dict) -> tuple[float, str]:
    """`inv run-wine --local` as a user types it, from a scratch folder (its runs land there)."""
    with tempfile.TemporaryDirectory() as scratch:
        return timed_command([str(Path(sys.executable).with_name("inv")), "--search-root", str(ROOT), "run-wine",
                              "--local"], env=env, cwd=Path(scratch))


def nothing() -> None:
    """A task that does nothing: what remains is what starting and ending a task costs."""


def task_overhead() -> tuple[float, float]:
    """(first task, mean of the others) seconds from kfp.local starting a task to its end, on a chain of no-ops."""
    import contextlib
    import io

    from kfp import dsl

    from pipelines.local_run import init_local, run_pipeline
    from pipelines.packaging import LOCAL, lightweight

    step = lightweight(nothing, LOCAL)

    @dsl.pipeline(name="no-op-chain")
    def chain():
        previous = step()
        for _ in range(CHAIN - 1):
            previous = step().after(previous)

    with tempfile.TemporaryDirectory() as root, contextlib.redirect_stdout(io.StringIO()) as output:
        init_local(Path(root))
        run_pipeline(chain, {})
        log = Path(root) / output.getvalue().split("log: ")[-1].split()[0]
        stamps = [datetime.strptime(m[1], "%H:%M:%S.%f") for m in map(STAMP.match, log.read_text().splitlines()) if m]
    spans = [(end - start).total_seconds() for start, end in zip(stamps[::2], stamps[1::2], strict=True)]
    return spans[0], sum(spans[1:]) / len(spans[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plain", action="store_true", help="run the plain script only (the baseline's process)")
    parser.add_argument("--stock", action="store_true", help="also time kfp.local's stock runner")
    parser.add_argument("--with-pip", action="store_true", help="also time the cluster flavour (pip per task)")
    parser.add_argument("--overhead", action="store_true", help=argparse.SUPPRESS)   # the per-task measurement
    options = parser.parse_args()
    if options.plain:
        print(f"{plain_script():.3f}")
        return
    if options.overhead:
        first, rest = task_overhead()
        print(f"{first:.3f} {rest:.3f}")
        return
    say = lambda line: print(line, flush=True)   # noqa: E731
    say(f"{platform.machine()} {platform.system()}, {len(os.sched_getaffinity(0))} cores, Python "
        f"{platform.python_version()}; load average before: {os.getloadavg()[0]:.1f}")
    base, accuracy = timed_command([sys.executable, __file__, "--plain"])
    say(f"plain scikit-learn script (whole process): {base:6.2f} s  (test accuracy {float(accuracy):.3f})")
    variants = [("warm runner", {})] + ([("stock runner", {"KFP_LAPTOP_WARM_RUNNER": "off"})] if options.stock else [])
    for name, extra in variants:
        env = {**os.environ, **extra}
        seconds, output = run_wine(env)
        found = re.search(r"test accuracy: ([0-9.]+)", output)
        say(f"inv run-wine --local, {name:13}: {seconds:6.2f} s  (test accuracy {found[1] if found else '?'}; "
            f"19 tasks)  ratio {seconds / base:4.1f}x")
        first, rest = (float(v) for v in timed_command([sys.executable, __file__, "--overhead"], env=env)[1].split())
        say(f"  per-task overhead, {name:13}: {rest:6.3f} s  (mean of {CHAIN - 1} no-op tasks; the first one "
            f"{first:.2f} s)")
    if options.with_pip:
        import contextlib
        import io

        from pipelines.arguments import wine_arguments
        from pipelines.local_run import run_wine_locally
        from pipelines.packaging import CLUSTER

        with tempfile.TemporaryDirectory() as root, contextlib.redirect_stdout(io.StringIO()):
            started = time.perf_counter()
            run_wine_locally(wine_arguments(), Path(root), flavour=CLUSTER)
            seconds = time.perf_counter() - started
        say(f"kfp.local, cluster flavour (pip per task, in-process): {seconds:6.2f} s  ratio {seconds / base:4.1f}x")
    say(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
