"""Stand-in for pulumi-resource-command 1.2.1 (`command:local:Command` only): the Go module proxy here serves no
version of github.com/pulumi/pulumi-command/provider, so the engine tier cannot build the real one.

It keeps the upstream behaviour the project depends on, read in pulumi/pulumi-command v1.2.1
(`provider/pkg/provider/local/{commandController,commandOutputs}.go`, `provider/pkg/provider/common/inputs.go`):
- a change of `triggers` replaces the resource; any other input change is an update running `update`, else `create`;
- a preview runs nothing; `/bin/sh -c` in `dir` (default: the provider's working directory) with the provider's
  environment plus `environment`;
- update and delete get the previous stdout/stderr as PULUMI_COMMAND_STDOUT/PULUMI_COMMAND_STDERR unless
  `addPreviousOutputInEnv` is false (the leak the project must turn off for the kubeconfig);
- a failing command fails the step with its exit status, the command and its combined output;
- stdout and stderr are outputs, with one trailing newline trimmed.
"""
from __future__ import annotations

import os
import secrets
import subprocess

import grpc
from google.protobuf import empty_pb2
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc
from serve import UNKNOWN, StandInProvider, has_unknown, serve, to_dict, to_struct

VERSION = "1.2.1"
INPUTS = ("triggers", "create", "update", "delete", "stdin", "logging", "interpreter", "dir", "environment",
          "assetPaths", "archivePaths", "addPreviousOutputInEnv")


def run(command: str, inputs: dict, previous: dict) -> dict:
    env = dict(os.environ)
    env.update(inputs.get("environment") or {})
    if inputs.get("addPreviousOutputInEnv", True):
        for key, name in (("stdout", "PULUMI_COMMAND_STDOUT"), ("stderr", "PULUMI_COMMAND_STDERR")):
            if previous.get(key):
                env[name] = previous[key]
    argv = [*(inputs.get("interpreter") or ["/bin/sh", "-c"]), command]
    done = subprocess.run(argv, cwd=inputs.get("dir") or os.getcwd(), env=env, input=inputs.get("stdin"),
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"exit status {done.returncode}: running {command!r}:\n{done.stdout}{done.stderr}")
    return {"stdout": done.stdout.removesuffix("\n"), "stderr": done.stderr.removesuffix("\n")}


class CommandProvider(StandInProvider):
    name, version = "command", VERSION

    def Diff(self, request, context):
        olds, news = to_dict(request.olds), to_dict(request.news)
        changed = [k for k in INPUTS if olds.get(k) != news.get(k) or has_unknown(news.get(k))]
        replaces = [k for k in changed if k == "triggers"]
        kind = provider_pb2.DiffResponse.DIFF_SOME if changed else provider_pb2.DiffResponse.DIFF_NONE
        return provider_pb2.DiffResponse(changes=kind, diffs=changed, replaces=replaces)

    def _apply(self, command_key: str, inputs: dict, previous: dict, preview: bool, context) -> dict:
        state = {k: v for k, v in inputs.items() if k in INPUTS}
        if preview:
            return {**state, "stdout": UNKNOWN, "stderr": UNKNOWN}
        command = inputs.get(command_key) or (inputs.get("create") if command_key == "update" else None)
        if not command:
            return {**state, "stdout": previous.get("stdout", ""), "stderr": previous.get("stderr", "")}
        try:
            return {**state, **run(command, inputs, previous)}
        except (RuntimeError, OSError) as err:
            context.abort(grpc.StatusCode.UNKNOWN, str(err))

    def Create(self, request, context):
        outputs = self._apply("create", to_dict(request.properties), {}, request.preview, context)
        ident = "" if request.preview else secrets.token_hex(4)
        return provider_pb2.CreateResponse(id=ident, properties=to_struct(outputs))

    def Update(self, request, context):
        outputs = self._apply("update", to_dict(request.news), to_dict(request.olds), request.preview, context)
        return provider_pb2.UpdateResponse(properties=to_struct(outputs))

    def Read(self, request, context):
        return provider_pb2.ReadResponse(id=request.id, properties=request.properties, inputs=request.inputs)

    def Delete(self, request, context):
        state = to_dict(request.properties)
        if state.get("delete"):
            try:
                run(state["delete"], state, state)
            except (RuntimeError, OSError) as err:
                context.abort(grpc.StatusCode.UNKNOWN, str(err))
        return empty_pb2.Empty()

    def Cancel(self, request, context):
        return empty_pb2.Empty()


if __name__ == "__main__":
    serve(lambda server: provider_pb2_grpc.add_ResourceProviderServicer_to_server(CommandProvider(), server))
