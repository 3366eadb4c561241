#!/usr/bin/env python3
"""What the run record and report add to a local run (the budget is 2 s): the time `RunKeeper.finish` spends writing
run.json and report.html, against the run's own duration.

    .venv/bin/python benchmarks/report.py                      # one real wine run (2 candidates), then the timing
    .venv/bin/python benchmarks/report.py --run local_outputs/wine-tuning-...   # time an existing run's report
    .venv/bin/python benchmarks/report.py --candidates 200     # also a made-up run with that many loop iterations
"""
import argparse
import contextlib
import io
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipelines import report_html  # noqa: E402
from pipelines.run_history import LocalRun, read_record, write_record  # noqa: E402
from pipelines.run_report import local_report, write_report  # noqa: E402


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def best_of(call, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return min(times)


def real_run(root: Path) -> Path:
    from pipelines.arguments import wine_arguments
    from pipelines.local_run import run_wine_locally

    with contextlib.redirect_stdout(io.StringIO()):
        return Path(run_wine_locally(wine_arguments(neighbors="5,9", parallelism=2), root).run_folder)


def made_up(candidates: int) -> dict:
    tasks = [{"id": "split", "task": "split-data", "state": "SUCCEEDED", "duration": 1.0, "depends": []}]
    for i in range(candidates):
        tasks += [{"id": f"it-{i}/train", "task": "train-candidate", "label": f"n_neighbors={i}", "group": "tune",
                   "state": "SUCCEEDED", "duration": 2.0, "depends": ["split"]},
                  {"id": f"it-{i}/score", "task": "score-candidate", "label": f"n_neighbors={i}", "group": "tune",
                   "state": "SUCCEEDED", "duration": 2.0, "depends": [f"it-{i}/train"]}]
    return {"name": "made-up", "state": "SUCCEEDED", "tasks": tasks,
            "candidates": [{"label": f"n_neighbors={i}", "score": 0.9 + i % 7 / 100, "spread": 0.02,
                            "chosen": i == 0} for i in range(candidates)]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, help="an existing local run folder (default: make one)")
    parser.add_argument("--candidates", type=int, default=0, help="also render a made-up run this wide")
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = options.run or real_run(Path(scratch))
        record = read_record(folder)
        if record is None:
            parser.error(f"{folder} holds no run.json: not a recorded local run")
        run = LocalRun(folder, record)
        seconds = best_of(lambda: (write_record(folder, record), write_report(run)), options.repeat)
        data_only = best_of(lambda: local_report(run), options.repeat)
        say(f"run {folder.name}: {record['duration']:.1f} s, {len(record['tasks'])} task instances")
        say(f"record + report     : {seconds * 1000:7.1f} ms  (gathering the data {data_only * 1000:.1f} ms)  "
            f"= {seconds / record['duration']:.2%} of the run; budget 2 s: {'within' if seconds < 2 else 'OVER'}")
    if options.candidates:
        data = made_up(options.candidates)
        seconds = best_of(lambda: report_html.render(data), options.repeat)
        say(f"render, {options.candidates} candidates: {seconds * 1000:7.1f} ms")


if __name__ == "__main__":
    main()
