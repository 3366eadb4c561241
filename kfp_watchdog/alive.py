"""Liveness probe: `python -m kfp_watchdog.alive FILE MAX_AGE_SECONDS` fails when the loop stopped touching its
heartbeat.

The loop writes `time.monotonic()` into the file. The probe runs in the same container, so it reads the same
system-wide monotonic clock, and a node clock that is stepped (NTP after a laptop sleep) neither fails a live loop
nor hides a stalled one. A file without that number (an older loop) is judged by its modification time.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path


def is_alive(heartbeat: Path, max_age: float, now: float, monotonic: float) -> bool:
    try:
        written = heartbeat.read_text().strip()
        return monotonic - float(written) <= max_age
    except ValueError:
        return now - heartbeat.stat().st_mtime <= max_age
    except OSError:
        return False


def beat(heartbeat: Path, monotonic: float) -> None:
    heartbeat.parent.mkdir(parents=True, exist_ok=True)
    heartbeat.write_text(repr(monotonic))


if __name__ == "__main__":
    sys.exit(0 if is_alive(Path(sys.argv[1]), float(sys.argv[2]), time.time(), time.monotonic()) else 1)
