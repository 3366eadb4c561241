"""How long the whole Pulumi program takes to evaluate from the cached KFP render, against just parsing that render.

    .venv/bin/python benchmarks/program_eval.py [--repeat N] [--render DIR]

The program runs under the test harness's mocks (every resource registered, no engine and no cluster), reading KFP
from a per-user cache that is pre-filled from DIR (default: the shared 2.17.0 render), as on a second
`pulumi up`/`preview`. Baseline: parsing the same two files with PyYAML (libyaml). Prints both and the ratio: what
the program adds on top of the parse; then the whole process (`python benchmarks/program_eval.py --once`:
interpreter start, imports, one evaluation), as `pulumi preview` starts it, with the caches the evaluations before it
filled (the render's parse among them). Wall times move with the load of whatever else runs on the machine; CPU
times (this process only) much less, so both are printed.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from infra.manifests.source import UPSTREAM_TREES, parse  # noqa: E402
from tests.support.pulumi_harness import run_program  # noqa: E402
from tests.support.upstream import KFP_FIXTURE  # noqa: E402


def best_of(repeat: int, fn) -> tuple[float, float]:
    """(wall, CPU) seconds of the fastest of `repeat` calls."""
    times = []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        times.append((time.perf_counter() - wall, time.process_time() - cpu))
    return min(times)


def whole_process(render: Path, home: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of a fresh interpreter that imports everything and evaluates the program once, with the
    caches the evaluations before it filled (as a second `pulumi up` finds them)."""
    started = time.perf_counter()
    before = os.times()
    subprocess.run([sys.executable, __file__, "--once", "--render", str(render), "--home", str(home)], check=True)
    after = os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return time.perf_counter() - started, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--render", type=Path, help="folder with the two upstream renders (default: the shared one)")
    parser.add_argument("--once", action="store_true", help="evaluate once and print nothing (the whole-process run)")
    parser.add_argument("--home", type=Path, help=argparse.SUPPRESS)   # the whole-process run: its parent's caches
    args = parser.parse_args()
    if args.render is None:
        args.render = KFP_FIXTURE
    if args.repeat < 1:
        parser.error(f"--repeat must be at least 1, got {args.repeat}")
    if not all((args.render / name).is_file() for name in UPSTREAM_TREES):
        parser.error(f"--render {args.render} must hold {' and '.join(UPSTREAM_TREES)}")

    home = args.home or Path(tempfile.mkdtemp(prefix="kfp-laptop-bench-"))
    try:
        if args.home is None:
            shutil.copytree(args.render, home / "cache" / "kfp-laptop" / "kfp-2.17.0")
        os.environ["XDG_CACHE_HOME"] = str(home / "cache")     # the program reads the cache, never the network
        os.environ["KFP_LAPTOP_HOME"] = str(home / "laptop")   # default dataDir stays inside the temp folder
        files = [args.render / name for name in UPSTREAM_TREES]

        def parse_only():
            for f in files:
                parse(f.read_text())

        def evaluate():
            # amd64: an arm64 stack asks a registry for amd64 digests at `pulumi up`, which needs the network
            run = run_program({"engine": "kind", "arch": "amd64", "kfpVersion": "2.17.0"})
            if run.error:
                raise SystemExit(f"program failed: {run.error}")
            evaluate.resources = len(run.resources)

        if args.once:
            evaluate()
            return
        baseline = best_of(args.repeat, parse_only)
        program = best_of(args.repeat, evaluate)
        whole = min(whole_process(args.render, home) for _ in range(args.repeat))
    finally:
        if args.home is None:
            shutil.rmtree(home, ignore_errors=True)
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; best of {args.repeat}; seconds as wall / CPU")
    print(f"parse the cached render (baseline):   {baseline[0]:7.3f} / {baseline[1]:.3f}")
    print(f"evaluate the program from the cache:  {program[0]:7.3f} / {program[1]:.3f}  "
          f"({evaluate.resources} resources registered)")
    print(f"ratio program / parse:                {program[0] / baseline[0]:7.1f}x / {program[1] / baseline[1]:.1f}x")
    print(f"whole process (start, imports, once): {whole[0]:7.3f} / {whole[1]:.3f}")


if __name__ == "__main__":
    main()
