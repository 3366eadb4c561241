"""How long the whole Pulumi program takes to evaluate from the cached KFP render, against just parsing that render.

    .venv/bin/python benchmarks/program_eval.py [--repeat N] [--render DIR]

The program runs under the test harness's mocks (every resource registered, YAML decoded for real, no engine and no
cluster), reading KFP from a per-user cache that is pre-filled from DIR (default: the shared 2.17.0 render), as on a
second `pulumi up`/`preview`. Baseline: parsing the same two files with PyYAML (libyaml). Prints both and the ratio:
what the program adds on top of the unavoidable parse.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from infra.manifests.source import UPSTREAM_TREES, parse  # noqa: E402
from tests.support.pulumi_harness import run_program  # noqa: E402
from tests.support.upstream import KFP_FIXTURE  # noqa: E402


def best_of(repeat: int, fn) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--render", type=Path, default=KFP_FIXTURE, help="folder with the two upstream renders")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error(f"--repeat must be at least 1, got {args.repeat}")
    if not all((args.render / name).is_file() for name in UPSTREAM_TREES):
        parser.error(f"--render {args.render} must hold {' and '.join(UPSTREAM_TREES)}")

    home = Path(tempfile.mkdtemp(prefix="kfp-laptop-bench-"))
    try:
        shutil.copytree(args.render, home / "cache" / "kfp-laptop" / "kfp-2.17.0")
        os.environ["XDG_CACHE_HOME"] = str(home / "cache")     # the program reads the cache, never the network
        os.environ["KFP_LAPTOP_HOME"] = str(home / "laptop")   # default dataDir stays inside the temp folder
        files = [args.render / name for name in UPSTREAM_TREES]

        def parse_only():
            for f in files:
                parse(f.read_text())

        def evaluate():
            run = run_program({"engine": "kind", "arch": "arm64", "kfpVersion": "2.17.0"})
            if run.error:
                raise SystemExit(f"program failed: {run.error}")
            evaluate.resources = len(run.resources)

        baseline = best_of(args.repeat, parse_only)
        program = best_of(args.repeat, evaluate)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    print(f"parse the cached render (baseline):   {baseline:7.3f} s")
    print(f"evaluate the program from the cache:  {program:7.3f} s  ({evaluate.resources} resources registered)")
    print(f"ratio program / parse:                {program / baseline:7.1f}x")


if __name__ == "__main__":
    main()
