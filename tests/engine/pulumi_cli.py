"""The real Pulumi CLI on this project, for the engine tier: one private PULUMI_HOME (the toolchain's), a local file
backend per tier run, no plugin downloads, and a stack config file that is removed with the stack."""
from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.engine import toolchain

ROOT = toolchain.ROOT
STANDIN = Path(__file__).with_name("docker_standin.py")


def tier_env(work: Path, kubeconfig: Path) -> dict[str, str]:
    """Everything a pulumi or `inv` call of the tier runs with. HOME is the tier's own (passphrase file, ~/.pulumi)."""
    import sys

    shims = work / "shims"
    shims.mkdir(parents=True, exist_ok=True)
    (shims / "docker").write_text(f'#!/bin/sh\nexec "{sys.executable}" "{STANDIN}" "$@"\n')
    (shims / "docker").chmod(0o755)
    home = work / "home"
    home.mkdir(exist_ok=True)
    env = dict(os.environ)
    for name in ("PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE", "PULUMI_ACCESS_TOKEN"):
        env.pop(name, None)
    env.update(toolchain.tool_env())
    env.update(HOME=str(home), KUBECONFIG=str(kubeconfig), PULUMI_BACKEND_URL=f"file://{work / 'state'}",
               PATH=os.pathsep.join([str(toolchain.bin_dir()), str(shims), str(Path(sys.executable).parent),
                                     env.get("PATH", "")]),
               KFP_LAPTOP_PYTHON=sys.executable, KFP_LAPTOP_DOCKER_STATE=str(work / "docker"),
               PULUMI_CONFIG_PASSPHRASE_FILE=str(home / "passphrase"),
               # The file backend rewrites the whole state after every step; the tier only needs each operation's
               # final state (a user's `pulumi up` keeps them all): about half of a first `up`'s time.
               PULUMI_SKIP_CHECKPOINTS="true")
    (home / "passphrase").write_text("engine-tier-passphrase\n")
    (home / "passphrase").chmod(0o600)
    (work / "state").mkdir(exist_ok=True)
    return env


@dataclass
class Result:
    code: int
    out: str
    seconds: float

    @property
    def ok(self) -> bool:
        return self.code == 0


@dataclass
class Stack:
    name: str
    env: dict[str, str]

    def pulumi(self, *args: str, timeout: float = 400) -> Result:
        start = time.monotonic()
        done = subprocess.run(["pulumi", *args, "--stack", self.name, "--non-interactive"], cwd=ROOT, env=self.env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout)
        return Result(done.returncode, done.stdout, time.monotonic() - start)

    def init(self, config: dict[str, str]) -> Stack:
        made = subprocess.run(["pulumi", "stack", "init", self.name, "--secrets-provider", "passphrase",
                               "--non-interactive"], cwd=ROOT, env=self.env, capture_output=True, text=True)
        assert made.returncode == 0, made.stderr
        for key, value in config.items():
            self.set(key, value)
        return self

    def set(self, key: str, value: str) -> None:
        done = self.pulumi("config", "set", f"kfp-laptop:{key}", value)
        assert done.ok, done.out

    def up(self, *extra: str) -> Result:
        return self.pulumi("up", "--yes", "--skip-preview", *extra)

    def preview(self, *extra: str) -> Result:
        return self.pulumi("preview", *extra)

    def destroy(self) -> Result:
        return self.pulumi("destroy", "--yes", "--skip-preview")

    def outputs(self) -> dict:
        done = self.pulumi("stack", "output", "--json", "--show-secrets")
        assert done.ok, done.out
        return json.loads(done.out)

    def resource_count(self) -> int:
        done = self.pulumi("stack", "export")
        assert done.ok, done.out
        return len(json.loads(done.out)["deployment"].get("resources", []))

    def remove(self) -> None:
        self.pulumi("stack", "rm", "--yes", "--force")
        (ROOT / f"Pulumi.{self.name}.yaml").unlink(missing_ok=True)
