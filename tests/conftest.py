"""Shared fixtures. The upstream KFP render lives in ../shared/fixtures (test data, never copied into the project)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
KFP_FIXTURE = Path(os.environ.get("KFP_LAPTOP_FIXTURE", ROOT.parent / "shared" / "fixtures" / "kfp-2.17.0"))


@pytest.fixture(scope="session")
def kfp_fixture() -> Path:
    """The upstream KFP 2.17.0 render (`kubectl kustomize` of both trees); skips when this checkout has none beside it."""
    files = [KFP_FIXTURE / "cluster-scoped-resources.yaml", KFP_FIXTURE / "platform-agnostic.yaml"]
    if not all(f.is_file() for f in files):
        pytest.skip(f"upstream KFP 2.17.0 render not found at {KFP_FIXTURE} "
                    "(expected ../shared/fixtures/kfp-2.17.0 beside the repo, or set KFP_LAPTOP_FIXTURE)")
    return KFP_FIXTURE



# What generated shell steps use besides the tools under test; linked into the stand-in folder so that PATH can be
# that folder alone (this machine has a real kubectl in /usr/bin, which a test may need to be missing).
SHELL_UTILITIES = ("sh", "cat", "grep", "mkdir", "touch", "ls", "tr", "rm", "mktemp", "sleep", "printf", "env",
                   "head", "dirname", "cp")


class FakeTools:
    """Stand-ins for the external binaries this machine lacks or must not run (docker, kind, k3d, pulumi, ...): small
    shell scripts in a temporary folder that is the whole PATH, so a test decides exactly which tools exist and how
    each behaves (answers, fails, hangs, dies, prints garbage)."""

    def __init__(self, folder: Path, monkeypatch: pytest.MonkeyPatch):
        self.folder = folder
        folder.mkdir()
        for name in SHELL_UTILITIES:
            found = shutil.which(name)
            if found:
                (folder / name).symlink_to(found)
        monkeypatch.setenv("PATH", str(folder))

    def __call__(self, name: str, body: str = "exit 0") -> Path:
        """A tool whose script is `body` (sh)."""
        path = self.folder / name
        path.write_text(f"#!/bin/sh\n{body}\n")
        path.chmod(0o755)
        return path

    def hangs(self, name: str) -> Path:
        return self(name, "exec sleep 60")

    def dies(self, name: str, signal: str = "KILL") -> Path:
        return self(name, f"kill -{signal} $$")

    def fails(self, name: str, message: str = "something went wrong", code: int = 1) -> Path:
        return self(name, f"echo '{message}' >&2; exit {code}")

    def prints(self, name: str, text: str) -> Path:
        return self(name, f"cat <<'KFP_LAPTOP_FAKE'\n{text}\nKFP_LAPTOP_FAKE")


@pytest.fixture
def fake_tools(tmp_path, monkeypatch) -> FakeTools:
    """A PATH holding only stand-in tools (and the shell utilities their scripts use); see FakeTools."""
    return FakeTools(tmp_path / "fake-bin", monkeypatch)


@pytest.fixture(params=["silent", "garbage"])
def unhelpful_server(request):
    """A 127.0.0.1 endpoint that accepts connections and then never answers ("silent") or answers something that
    is not HTTP ("garbage"); yields its base URL and is stopped by the test."""
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.05)
    accepted, stop = [], threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            accepted.append(conn)
            if request.param == "garbage":
                conn.sendall(b"\x00\xffnot http at all\r\n\r\n")
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    listener.close()
