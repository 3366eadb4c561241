"""The watchdog's notion of "now": the API server's clock, carried forward with the process's monotonic clock.

The times the watchdog compares against (a pod's lastTransitionTime, deletionTimestamp, its own saved restart times)
are written by the API server, so "now" is the API server's time, read from the `Date` header every answer carries
(RFC 9110; Go's net/http adds it). Between answers, and when no answer had one, elapsed time comes from
`time.monotonic()`, so a node clock that is behind, ahead or stepped (NTP after a laptop sleep) changes nothing;
the node's wall clock is used only to start from when the API has not told its time yet. Once the API's time is
known, now never goes backwards within one process.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


def stamp(now: float) -> str:
    """RFC 3339 UTC, rounded to the millisecond: how the watchdog writes times (`shape.epoch` reads them back as
    `round(now, 3)` exactly, so a restart recorded in two places is recognised as one)."""
    return datetime.fromtimestamp(round(now, 3), UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"


def http_date(value: str | None) -> float | None:
    """An HTTP `Date` header in epoch seconds (None when absent or unreadable)."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
        return parsed.timestamp() if parsed.tzinfo is not None else None
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


class ApiClock:
    def __init__(self, wall: Callable[[], float] = time.time, monotonic: Callable[[], float] = time.monotonic):
        self.monotonic = monotonic
        self.anchor = (wall(), monotonic())   # (API-or-wall time, monotonic time it was true at)
        self.source = "node"
        self.last = float("-inf")

    def saw_server_date(self, server_time: float | None) -> None:
        """Re-anchor on the time an API answer carried (1 s resolution: it only moves the anchor forward by more
        than that, or backward when the server clock really is behind ours)."""
        if server_time is None:
            return
        estimate = self._estimate()
        if self.source == "node":
            self.last = float("-inf")      # the node's guess is dropped: from now on the API server's time counts
        if self.source == "node" or abs(server_time - estimate) > 1.0:
            self.anchor, self.source = (server_time, self.monotonic()), "api-server"

    def now(self) -> float:
        self.last = max(self.last, self._estimate())
        return self.last

    def _estimate(self) -> float:
        at, mono = self.anchor
        return at + (self.monotonic() - mono)
