"""Every external binary the host side and the program run (docker, kind, k3d, kubectl, pulumi) goes through
`run_tool`: it ends in bounded time, and whatever happened (missing, hung, killed, failed) becomes a result that
`failure` puts in words. Stdlib only, below every package that runs a tool (infra's render, laptop's tasks).
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
from typing import Sequence

NOT_FOUND, CANNOT_RUN, TIMED_OUT = 127, 126, 124   # the shell's own codes for these outcomes
QUICK_SECONDS = 20       # a query (`docker info`, `kind version`, `kind get clusters`) answers within seconds


def run_tool(argv: Sequence[str], timeout: float | None = None, input: str | None = None,
             env: dict[str, str] | None = None, cwd: str | None = None) -> subprocess.CompletedProcess:
    """Run `argv` and capture its text output; a missing binary (127), one that cannot be executed (126) or one
    that did not finish within `timeout` (default `QUICK_SECONDS`; 124, killed) is a result too, never an exception."""
    argv = list(argv)
    timeout = QUICK_SECONDS if timeout is None else timeout
    if not shutil.which(argv[0]):
        return subprocess.CompletedProcess(argv, NOT_FOUND, "", f"{argv[0]}: not found")
    try:
        # A session of its own: on a timeout the whole group goes, also what a shell step started (`kind` under
        # `sh -c`), which would otherwise keep running and hold the output pipes open.
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace", env=env,
                                cwd=cwd, start_new_session=True)
    except OSError as err:   # not executable, a broken interpreter line, a binary for another platform
        return subprocess.CompletedProcess(argv, CANNOT_RUN, "", f"{argv[0]} cannot be run: {err.strerror or err}")
    try:
        stdout, stderr = proc.communicate(input, timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        return subprocess.CompletedProcess(argv, TIMED_OUT, "", f"{argv[0]} did not answer within {timeout:g} s")
    except BaseException:   # Ctrl-C: leave nothing running behind
        _kill_group(proc)
        raise
    return subprocess.CompletedProcess(argv, proc.returncode, stdout, stderr)


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:   # already gone
        pass
    proc.communicate()


def command_name(argv: Sequence[str]) -> str:
    """`docker info`: the binary and up to two subcommand words, as the user would type them (leading flags such as
    pulumi's `--non-interactive` skipped; nothing after the first later flag, so never a flag's value)."""
    words = [argv[0]]
    rest = list(argv[1:])
    while rest and rest[0].startswith("-"):
        rest.pop(0)
    for word in rest[:2]:
        if word.startswith("-"):
            break
        words.append(word)
    return " ".join(words)


def last_line(result: subprocess.CompletedProcess) -> str:
    lines = [line.strip() for line in (result.stderr or result.stdout or "").splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


def failure(result: subprocess.CompletedProcess) -> str:
    """What went wrong, starting with the command: "`kind get clusters` did not answer within 20 s"."""
    name = f"`{command_name(result.args)}`"
    code = result.returncode
    if code == NOT_FOUND and result.stderr.endswith(": not found") and not result.stdout:
        return f"{name}: {result.args[0]} is not installed (not on PATH)"
    if code == TIMED_OUT and "did not answer within" in result.stderr:
        return f"{name} {result.stderr.split(' ', 1)[1]} and was stopped"
    if code == CANNOT_RUN and "cannot be run" in result.stderr:
        return f"{name}: {result.stderr}"
    if code < 0:
        try:
            signame = signal.Signals(-code).name
        except ValueError:
            signame = f"signal {-code}"
        return f"{name} was killed ({signame})"
    detail = last_line(result)
    return f"{name} failed (exit {code})" + (f": {detail}" if detail else "")
