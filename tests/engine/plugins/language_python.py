"""Stand-in for pulumi-language-python: the Go module proxy here serves no version of
github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3, so the engine tier cannot build the real one.

It does what the upstream host does for `preview`/`up`/`destroy` of this project (pulumi/pulumi
`sdk/python/cmd/pulumi-language-python/main.go`): it reports the resource plugins the installed SDK packages ask for
(their `pulumi-plugin.json`), and runs the program through the SDK's own `pulumi-language-python-exec` (copied from
the `sdk/v3` module of the pinned version) with the Pulumi.yaml `virtualenv`'s interpreter, config in PULUMI_CONFIG.
Exit code 32 means the program already reported its error (the SDK's "bail").
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from pulumi.runtime.proto import language_pb2, language_pb2_grpc, plugin_pb2
from serve import engine_address, serve

EXEC = Path(__file__).with_name("pulumi-language-python-exec")
BAIL = 32
PLUGINS_SCRIPT = """
import importlib.metadata as md, json
found = []
for dist in md.distributions():
    for f in dist.files or []:
        if f.name == "pulumi-plugin.json":
            data = json.loads(f.read_text())
            if data.get("resource"):
                found.append({"name": data.get("name") or dist.metadata["Name"].removeprefix("pulumi_"),
                              "version": data.get("version", ""), "server": data.get("server", "")})
print(json.dumps(found))
"""


def interpreter(info) -> str:
    options = dict(info.options.items()) if info and info.HasField("options") else {}
    venv = options.get("virtualenv")
    if venv:
        python = Path(info.root_directory, venv, "bin", "python")
        if python.exists():
            return str(python)
    return os.environ.get("KFP_LAPTOP_PYTHON", sys.executable)


class LanguageHost(language_pb2_grpc.LanguageRuntimeServicer):
    def __init__(self):
        self.engine = engine_address()

    def Handshake(self, request, context):
        self.engine = request.engine_address or self.engine
        return language_pb2.LanguageHandshakeResponse()

    def GetPluginInfo(self, request, context):
        return plugin_pb2.PluginInfo(version="3.272.0")

    def _packages(self, info) -> list[dict]:
        out = subprocess.run([interpreter(info), "-c", PLUGINS_SCRIPT], capture_output=True, text=True, check=True)
        return json.loads(out.stdout)

    def GetRequiredPackages(self, request, context):
        return language_pb2.GetRequiredPackagesResponse(packages=[
            plugin_pb2.PackageDependency(kind="resource", **p) for p in self._packages(request.info)])

    def GetRequiredPlugins(self, request, context):
        return language_pb2.GetRequiredPluginsResponse(plugins=[
            plugin_pb2.PluginDependency(kind="resource", **p) for p in self._packages(request.info)])

    def Run(self, request, context):
        info = request.info if request.HasField("info") else None
        program = os.path.join(info.program_directory, info.entry_point) if info else request.program
        argv = [interpreter(info), "-u", str(EXEC), "--monitor", request.monitor_address, "--engine", self.engine,
                "--project", request.project, "--stack", request.stack, "--pwd", request.pwd,
                "--dry_run", str(request.dryRun).lower(), "--parallel", str(request.parallel),
                "--organization", request.organization]
        if info:
            argv += ["--root_directory", info.root_directory]
        env = dict(os.environ, PULUMI_CONFIG=json.dumps(dict(request.config)),
                   PULUMI_CONFIG_SECRET_KEYS=json.dumps(list(request.configSecretKeys)))
        code = subprocess.run([*argv, program, *request.args], env=env).returncode
        if code == 0:
            return language_pb2.RunResponse()
        if code == BAIL:
            return language_pb2.RunResponse(bail=True)
        return language_pb2.RunResponse(error=f"Program exited with non-zero exit code: {code}")


if __name__ == "__main__":
    serve(lambda server: language_pb2_grpc.add_LanguageRuntimeServicer_to_server(LanguageHost(), server))
