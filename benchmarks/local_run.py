#!/usr/bin/env python3
"""How much the wine pipeline on kfp.local costs over the same tuning as one plain scikit-learn process.

    .venv/bin/python benchmarks/local_run.py             # baseline vs kfp.local (LOCAL flavour), in one run
    .venv/bin/python benchmarks/local_run.py --with-pip  # also the cluster flavour locally: each task re-runs pip

The baseline does the same work in-process: load, validate, split, fit + 5-fold CV per candidate, select, evaluate.
"""
import argparse
import contextlib
import functools
import io
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipelines.arguments import wine_arguments  # noqa: E402
from pipelines.local_run import run_wine_locally  # noqa: E402
from pipelines.packaging import CLUSTER, LOCAL  # noqa: E402
from pipelines.wine import logic  # noqa: E402
from pipelines.wine.pipeline import DEFAULT_FOLDS, DEFAULT_MIN_CLASS_FRACTION  # noqa: E402


def plain_script(arguments) -> float:
    """The same tuning as one single-process scikit-learn script; returns the test accuracy."""
    frame = logic.load_wine_frame()
    assert not logic.validation_problems(frame, DEFAULT_MIN_CLASS_FRACTION)
    train, test = logic.split_frame(frame, arguments.test_size, arguments.random_state)
    candidates, models = [], []
    for k in arguments.neighbors:
        model = logic.fit_candidate(train, k)
        mean, std = logic.cross_validated_accuracy(model, train, DEFAULT_FOLDS)
        candidates.append({"hyperparameters": {"n_neighbors": k}, "cv_accuracy": mean, "cv_accuracy_std": std})
        models.append(model)
    return logic.evaluation(models[logic.pick_best(candidates)], test)["accuracy"]


def say(line: str) -> None:
    """Write a line (not print(): kfp.local's parallel loop can leave builtins.print patched to indent)."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def timed(call) -> tuple[float, object]:
    started = time.perf_counter()
    result = call()
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--with-pip", action="store_true", help="also time the cluster flavour (pip per task)")
    options = parser.parse_args()
    arguments = wine_arguments()
    flavours = [LOCAL, CLUSTER] if options.with_pip else [LOCAL]
    base_seconds, base_accuracy = timed(lambda: plain_script(arguments))
    say(f"candidates {list(arguments.neighbors)}, parallelism {arguments.parallelism}, cores {_cores()}")
    say(f"plain scikit-learn script : {base_seconds:6.2f} s  (test accuracy {base_accuracy:.3f})")
    for flavour in flavours:
        with tempfile.TemporaryDirectory() as root, contextlib.redirect_stdout(io.StringIO()):
            seconds, result = timed(functools.partial(run_wine_locally, arguments, Path(root), flavour=flavour))
        tasks = 5 + 2 * len(arguments.neighbors)
        say(f"kfp.local, {flavour.name + ' flavour':15}: {seconds:6.2f} s  (test accuracy "
              f"{result.summary['test_accuracy']:.3f}; {tasks} tasks)  ratio {seconds / base_seconds:5.1f}x")


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


if __name__ == "__main__":
    main()
