"""One error type for mistakes a user can fix, shown as a message (never a traceback)."""
from __future__ import annotations

import functools
import sys
from typing import Callable, TypeVar

F = TypeVar("F", bound=Callable)


class UserError(Exception):
    """A problem the user can fix: says what is wrong and, when known, the command or change that fixes it."""

    def __init__(self, problem: str, fix: str | None = None):
        self.problem = problem
        self.fix = fix
        super().__init__(problem if not fix else f"{problem}\n  fix: {fix}")


def exit_on_user_error(fn: F) -> F:
    """Decorator for command entry points: print a UserError as one clear message and exit 1."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except UserError as err:
            from rich.console import Console

            console = Console(stderr=True, soft_wrap=True)   # URLs and commands stay whole, copyable
            console.print(f"[bold red]error:[/] {err.problem}", highlight=False)
            if err.fix:
                console.print(f"[bold]fix:[/] {err.fix}", highlight=False)
            sys.exit(1)
        except KeyboardInterrupt:
            sys.exit(130)

    return wrapper  # type: ignore[return-value]
