"""What the watchdog remembers between checks, and how records of it from several places are joined.

Saved as JSON in the status ConfigMap, read back from there (whatever another release or a hand edit left) and
merged with what another watchdog wrote, and with the restart record on each Deployment. Restart times stay as
recorded, so the same record read from two places is recognised as one; a restart "in the future" (a hand edit, a
clock stepped back) counts from when it was first seen.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace

from kfp_watchdog.shape import count, epoch, obj, objs, text

HISTORY_LENGTH = 20


@dataclass(frozen=True)
class State:
    """What the watchdog remembers between checks; saved in its status ConfigMap so a watchdog restart keeps it."""

    restarts: tuple[tuple[float, str], ...] = ()           # (when, deployment): restarts the API accepted
    explained: dict[str, float] = field(default_factory=dict)  # "<name>/<reason>" -> when last explained
    healthz_failures: dict[str, int] = field(default_factory=dict)
    api_errors: int = 0                                    # consecutive checks that could not read the pods
    history: tuple[dict, ...] = ()                         # the last actions, newest last, for `inv doctor`
    failures: dict[str, tuple[int, float, str]] = field(default_factory=dict)  # deployment -> (refused restarts
                                                           # in a row, when the last was refused, the API's answer)
    first_seen: dict[str, float] = field(default_factory=dict)  # "<pod>/<reason>" -> when first seen
    future_seen: dict[str, float] = field(default_factory=dict)  # "<deployment>@<when>" of a restart recorded in
                                                           # the future -> when first seen (kept while in the future)

    def to_dict(self) -> dict:
        return {"restarts": [list(r) for r in self.restarts], "explained": self.explained,
                "healthz_failures": self.healthz_failures, "api_errors": self.api_errors, "history": list(self.history),
                "failures": {d: list(f) for d, f in self.failures.items()}, "first_seen": self.first_seen,
                "future_seen": self.future_seen}

    @classmethod
    def from_dict(cls, data) -> State:
        """Whatever JSON is there (another release's, a hand edit): entries that do not fit are dropped."""
        data = obj(data)
        restarts = tuple(sorted({(round(at, 3), dep) for at, dep in
                                 (_pair(r) for r in (data.get("restarts") if isinstance(data.get("restarts"), list)
                                                     else [])) if at is not None and dep}))
        failures = {}
        for dep, entry in obj(data.get("failures")).items():
            if isinstance(entry, list) and len(entry) == 3 and _finite(entry[1]) is not None:
                failures[dep] = (count(entry[0]), _finite(entry[1]), text(entry[2]))
        return cls(restarts=restarts, explained=_times(data.get("explained")),
                   healthz_failures={k: count(v) for k, v in obj(data.get("healthz_failures")).items()},
                   api_errors=count(data.get("api_errors")), history=tuple(objs(data.get("history")))[-HISTORY_LENGTH:],
                   failures=failures, first_seen=_times(data.get("first_seen")),
                   future_seen=_times(data.get("future_seen")))


def forget(state: State, now: float, window: float, explain_every: float) -> State:
    """Drop what fell out of its window (restarts and refusals: `window`; explanations: `explain_every`). A restart
    time from the future stays as recorded (so the same record read again is recognised) and counts from when it
    was first seen; other times from the future count as now."""
    future_seen = {k: min(t, now) for k, t in state.future_seen.items() if _future_key_at(k) > now}
    restarts = []
    for at, dep in sorted(set(state.restarts)):
        if at > now:
            future_seen.setdefault(_future_key(at, dep), now)
        if now - _effective(at, dep, now, future_seen) < window:
            restarts.append((at, dep))
    explained = {k: min(t, now) for k, t in state.explained.items() if now - min(t, now) < explain_every}
    failures = {d: (n, min(at, now), err) for d, (n, at, err) in state.failures.items() if now - min(at, now) < window}
    return replace(state, restarts=tuple(restarts), explained=explained, failures=failures, future_seen=future_seen)


def recent_restarts(state: State, deployment: str, now: float) -> list[float]:
    """When the Deployment's restarts in the state happened, as far as the limit and cooldown are concerned."""
    return [_effective(at, dep, now, state.future_seen) for at, dep in state.restarts if dep == deployment]


def _future_key(at: float, dep: str) -> str:
    return f"{dep}@{at:.3f}"


def _future_key_at(key: str) -> float:
    try:
        return float(key.rsplit("@", 1)[1])
    except (IndexError, ValueError):
        return float("-inf")


def _effective(at: float, dep: str, now: float, future_seen: dict[str, float]) -> float:
    return at if at <= now else future_seen.get(_future_key(at, dep), now)


def merge(mine: State, theirs: State) -> State:
    """My state joined with one another watchdog wrote (a racing or earlier one): every restart of either counts, so
    neither can lift the other's limit; for what each remembers per key (explanations, refusals) mine wins and
    theirs fills in. Which problems exist now, and since when, is mine alone: a problem the other saw that has gone
    since must not make a new one look old."""
    history, seen = [], set()
    for entry in sorted(theirs.history + mine.history, key=lambda e: str(e.get("at", ""))):
        key = repr(sorted(entry.items(), key=str))
        if key not in seen:
            seen.add(key)
            history.append(entry)
    restarts = tuple(sorted(set(mine.restarts) | set(theirs.restarts)))
    # A refusal older than a restart of the same Deployment is over (the restart went through since).
    failures = {d: f for d, f in {**theirs.failures, **mine.failures}.items()
                if not any(dep == d and at >= f[1] for at, dep in restarts)}
    return replace(mine, restarts=restarts, explained={**theirs.explained, **mine.explained}, failures=failures,
                   future_seen={**theirs.future_seen, **mine.future_seen}, history=tuple(history[-HISTORY_LENGTH:]))


def restart_times(annotation) -> list[float]:
    """The restart times a Deployment's `kfp-laptop/watchdog-restarts` annotation lists (a JSON list of RFC 3339
    times); anything unreadable is skipped."""
    try:
        values = json.loads(annotation) if isinstance(annotation, str) else []
    except ValueError:
        return []
    values = values[-HISTORY_LENGTH:] if isinstance(values, list) else []    # a hand-made list cannot bloat the state
    return [t for t in map(epoch, values) if t is not None]


def _finite(value) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _pair(entry) -> tuple[float | None, str]:
    if isinstance(entry, list) and len(entry) == 2:
        return _finite(entry[0]), text(entry[1])
    return None, ""


def _times(value) -> dict[str, float]:
    return {k: t for k, t in ((k, _finite(v)) for k, v in obj(value).items()) if t is not None}
