"""The data-validation container's program: check a parquet data set with the wine pipeline's own validation logic.

    python3 validate_entry.py --data IN.parquet --min-class-fraction 0.2 --report OUT.json

Writes a JSON report (rows, class fractions, problems) and exits 1 when there is any problem, so the KFP task fails
and nothing is trained on bad data. Runs as a plain program: no KFP SDK in its image.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from pipelines.wine.logic import class_fractions, validation_problems


def report_for(frame: pd.DataFrame, min_class_fraction: float) -> dict:
    problems = validation_problems(frame, min_class_fraction)
    fractions = class_fractions(frame) if "target" in frame.columns else {}
    return {"rows": len(frame), "class_fractions": fractions, "problems": problems}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="parquet file to check")
    parser.add_argument("--min-class-fraction", required=True, type=float, help="smallest share any class may have")
    parser.add_argument("--report", required=True, help="where to write the JSON report")
    args = parser.parse_args(argv)

    report = report_for(pd.read_parquet(args.data), args.min_class_fraction)
    out = Path(args.report)
    out.parent.mkdir(parents=True, exist_ok=True)   # a container component must create its output's folder
    out.write_text(json.dumps(report, indent=2))
    for problem in report["problems"]:
        print(f"invalid data: {problem}", file=sys.stderr)
    print(f"validated {report['rows']} rows: {'FAILED' if report['problems'] else 'ok'}")
    return 1 if report["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
