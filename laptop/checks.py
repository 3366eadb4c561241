"""One result of `inv doctor`: what was checked, what was found, and the command that fixes it."""
from __future__ import annotations

from dataclasses import dataclass

OK, WARN, FAIL = "ok", "warn", "fail"


@dataclass(frozen=True)
class Check:
    name: str
    status: str          # OK, WARN (works, but worth knowing) or FAIL (must be fixed)
    detail: str
    fix: str = ""

    @property
    def failed(self) -> bool:
        return self.status == FAIL
