"""Real kfp.local runs of this project's pipelines, made once and shared (each takes tens of seconds on 2 cores)."""
import contextlib
import io
import os
from pathlib import Path

import pytest

from tests.support.tools import without


def captured(call, monkeypatch: pytest.MonkeyPatch, folder: Path, **kwargs):
    """Run a cli function in `folder` with no `pulumi` on PATH (so no stack is up); returns (result, output)."""
    monkeypatch.chdir(folder)
    monkeypatch.setenv("PATH", without("pulumi", os.environ["PATH"]))
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        result = call(**kwargs)
    return result, output.getvalue()


def in_folder(call, folder: Path, **kwargs) -> str:
    """What a cli function prints when run in `folder` with no stack up."""
    with pytest.MonkeyPatch.context() as patch:
        return captured(call, patch, folder, **kwargs)[1]


def run_one_failing_task(function, root: Path, name: str):
    """A real one-task kfp.local run (in `root`) of lightweight component `function`, called with n=3, that must fail.
    Returns (the UserError, what the run printed, the failing task's log). (No `from __future__ import annotations`
    in this module: the pipeline's `n: int` must stay a real type for kfp.)"""
    from kfp import dsl

    from kfp_laptop.errors import UserError
    from pipelines.local_run import init_local, run_pipeline
    from pipelines.packaging import LOCAL, lightweight

    step = lightweight(function, LOCAL)

    @dsl.pipeline(name=name)
    def one_task(n: int = 1):
        step(n=n)

    init_local(root)
    with contextlib.redirect_stdout(io.StringIO()) as output, pytest.raises(UserError) as caught:
        run_pipeline(one_task, {"n": 3})
    shown = output.getvalue()
    return caught.value, shown, (root / shown.split("log: ")[-1].split()[0]).read_text()
