"""Stand-ins for command-line tools this machine lacks or must not run (docker, kind, k3d, pulumi, mc, ...): small
shell scripts in a folder of their own, so a test decides exactly which tools exist and how each behaves (answers,
fails, hangs, dies, prints garbage). Tests get one from the `fake_tools` fixture (tests/conftest.py), whose PATH is
that folder alone."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

SYSTEM_PATH = "/usr/bin:/bin"
# What generated shell steps use besides the tools under test; linked into the folder so that PATH can be the folder
# alone (this machine has a real kubectl in /usr/bin, which a test may need to be missing).
SHELL_UTILITIES = ("sh", "cat", "grep", "mkdir", "touch", "ls", "tr", "rm", "mktemp", "sleep", "printf", "env",
                   "head", "dirname", "cp")


class FakeTools:
    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        for name in SHELL_UTILITIES:
            found = shutil.which(name, path=SYSTEM_PATH)
            if found and not (folder / name).exists():
                (folder / name).symlink_to(found)

    def add(self, name: str, body: str = "exit 0") -> Path:
        """A `/bin/sh` script called `name` running `body` (replacing a linked utility of that name, never its
        target)."""
        script = self.folder / name
        script.unlink(missing_ok=True)
        script.write_text(f"#!/bin/sh\n{body}\n")
        script.chmod(0o755)
        return script

    def hangs(self, name: str) -> Path:
        return self.add(name, "exec sleep 60")

    def dies(self, name: str, signal: str = "KILL") -> Path:
        return self.add(name, f"kill -{signal} $$")

    def fails(self, name: str, message: str = "something went wrong", code: int = 1) -> Path:
        return self.add(name, f"echo '{message}' >&2; exit {code}")

    def prints(self, name: str, text: str) -> Path:
        return self.add(name, f"cat <<'KFP_LAPTOP_FAKE'\n{text}\nKFP_LAPTOP_FAKE")

    def path(self, system: bool = True) -> str:
        """A PATH with these tools first, then the system's basic ones (or, with system=False, only these tools and
        the shell utilities linked beside them)."""
        return f"{self.folder}:{SYSTEM_PATH}" if system else str(self.folder)


def without(tool: str, path: str) -> str:
    """`path` minus every folder holding an executable `tool`: this machine as if it were not installed."""
    return os.pathsep.join(d for d in path.split(os.pathsep) if not os.access(Path(d) / tool, os.X_OK))
