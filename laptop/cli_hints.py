"""invoke's command line, a little kinder (a thin hook, invoke 3.0): a misspelled flag or task name gets the nearest
right one suggested, `--help` works on tasks with a required argument, an optional positional argument (`inv report
[RUN]`) can be given, and every option's --help line says its type and default.

invoke reports an unknown token with `ParseMachine.error("No idea what '--neighbours' is!")`
(invoke/parser/parser.py); `install()` wraps that method to add the suggestion. `HelpfulTask` is the `klass` of
tasks.py's tasks: invoke builds each option in `Task.arg_opts`, which it extends with the parameter's annotation
and default.
"""
from __future__ import annotations

import difflib
import inspect
import re

from invoke import Task
from invoke.parser import parser as invoke_parser

UNKNOWN = re.compile(r"^No idea what '(?P<token>[^']+)' is!$")
TYPE_NAMES = {int: "integer", float: "number", str: "text", bool: "flag"}


def nearest(token: str, known: list[str]) -> str | None:
    """The known name closest to `token` (a typo's fix), if any is close enough."""
    found = difflib.get_close_matches(token, known, n=1, cutoff=0.6)
    return found[0] if found else None


def hint(message: str, machine) -> str:
    """`message` with the flag or task the user probably meant."""
    found = UNKNOWN.match(message)
    if not found:
        return message
    token, context = found["token"], machine.context
    if token.startswith("-") and context is not None and context.name:
        fix = nearest(token, [f for f in context.flags if f.startswith("--")])
        more = f"`inv {context.name} --help` lists its options"
        return f"{message} Did you mean {fix}? ({more})" if fix else f"{message} ({more})"
    fix = nearest(token, list(machine.contexts))
    return f"{message} Did you mean `inv {fix}`? (`inv --list` lists the tasks)" if fix else \
        f"{message} (`inv --list` lists the tasks)"


def install() -> None:
    """Wrap invoke's parse error once (tasks.py calls this as it is loaded, before the tasks' flags are parsed)."""
    machine = invoke_parser.ParseMachine
    if getattr(machine.error, "hinted", False):
        return
    original = machine.error

    def error(self, msg: str) -> None:
        found = UNKNOWN.match(msg)
        if found and not found["token"].startswith("-") and self.context is not None:
            # `inv report RUN`: a positional argument with a default (invoke only fills those without one)
            free = [a for a in self.context.positional_args if a.value == a.default and not getattr(a, "given", 0)]
            if free:
                free[0].value, free[0].given = found["token"], True
                return
        original(self, hint(msg, self))

    error.hinted = True
    machine.error = error
    see_positional = machine.see_positional_arg

    def see_positional_arg(self, value) -> None:
        """`inv status --help`: invoke takes `--help` for the missing RUN argument; show the help instead."""
        if value in ("--help", "-h") and self.initial is not None and "--help" in self.initial.flags:
            self.initial.flags["--help"].value = self.context.name   # shown before the task could run
        see_positional(self, value)

    machine.see_positional_arg = see_positional_arg


def described(help_text: str | None, annotation, default) -> str:
    """The help text ending with the option's type and default, e.g. `... [integer, default 3]`."""
    kind = annotation if annotation in TYPE_NAMES else type(default) if default is not None else None
    parts = [TYPE_NAMES[kind]] if kind in TYPE_NAMES and kind is not bool else []
    if default not in (None, False, inspect.Parameter.empty) and "default" not in (help_text or ""):
        parts.append(f"default {default}")
    suffix = f" [{', '.join(parts)}]" if parts else ""
    return f"{help_text or ''}{suffix}".strip()


class HelpfulTask(Task):
    def arg_opts(self, name, default, taken_names):
        opts = super().arg_opts(name, default, taken_names)
        parameter = inspect.signature(self.body).parameters.get(name)
        annotation = parameter.annotation if parameter is not None else None
        opts["help"] = described(opts.get("help"), annotation, default)
        return opts
