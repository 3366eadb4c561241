"""Stand-ins for command-line tools this machine lacks (docker, kind, k3d, pulumi, mc): small shell scripts in a
folder of their own, put first on a PATH. Tests get one from the `fake_tools` fixture (tests/conftest.py)."""
from __future__ import annotations

import os
from pathlib import Path

SYSTEM_PATH = "/usr/bin:/bin"


class FakeTools:
    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def add(self, name: str, body: str = "exit 0") -> Path:
        """A `/bin/sh` script called `name` running `body`."""
        script = self.folder / name
        script.write_text(f"#!/bin/sh\n{body}\n")
        script.chmod(0o755)
        return script

    def path(self, system: bool = True) -> str:
        """A PATH with these tools first, then the system's basic ones (or, with system=False, nothing else)."""
        return f"{self.folder}:{SYSTEM_PATH}" if system else str(self.folder)


def without(tool: str, path: str) -> str:
    """`path` minus every folder holding an executable `tool`: this machine as if it were not installed."""
    return os.pathsep.join(d for d in path.split(os.pathsep) if not os.access(Path(d) / tool, os.X_OK))
