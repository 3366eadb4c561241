"""Real kfp.local runs of this project's pipelines, made once and shared (each takes tens of seconds on 2 cores)."""
from __future__ import annotations

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
