"""Read JSON from the API defensively: a field that is missing, `null` or of the wrong type reads as empty.

The API server, an aggregated API, a proxy or a hand edit can answer `items: null`, `status: null` or a string where an
object belongs; the watchdog must read such an answer as "nothing there", never raise on it.
"""
from __future__ import annotations

from datetime import datetime


def obj(value) -> dict:
    """`value` if it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def objs(value) -> list[dict]:
    """The JSON objects in `value` if it is a list (other members dropped), else none."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def text(value, default: str = "") -> str:
    return value if isinstance(value, str) else default


def count(value) -> int:
    """A non-negative integer count (restartCount, replicas); anything else reads as 0."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def epoch(stamp) -> float | None:
    """An RFC 3339 time as the API writes it (`2026-01-01T00:00:00Z`, maybe with fractions), in epoch seconds."""
    if not isinstance(stamp, str) or not stamp:
        return None
    try:
        parsed = datetime.fromisoformat(stamp)   # 3.11+ reads the "Z" suffix
        # The API always writes UTC with "Z"; a zone-less time is not its answer.
        return parsed.timestamp() if parsed.tzinfo is not None else None
    except (ValueError, OverflowError):
        return None
