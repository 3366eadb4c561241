"""Liveness probe: `python -m watchdog.alive FILE MAX_AGE_SECONDS` fails when the loop stopped touching its
heartbeat."""
from __future__ import annotations

import sys
import time
from pathlib import Path


def is_alive(heartbeat: Path, max_age: float, now: float) -> bool:
    return heartbeat.exists() and now - heartbeat.stat().st_mtime <= max_age


if __name__ == "__main__":
    sys.exit(0 if is_alive(Path(sys.argv[1]), float(sys.argv[2]), time.time()) else 1)
