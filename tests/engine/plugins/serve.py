"""What every project-written plugin shares: the gRPC bootstrap the engine expects, and property-struct helpers.

The engine starts a plugin with its own address as an argument and reads the plugin's port from the first line of
its stdout (the plugin protocol of pulumi/pulumi `sdk/go/common/resource/plugin/plugin.go`). The server binds
127.0.0.1 only and lives until the engine kills it.
"""
from __future__ import annotations

import sys
from concurrent import futures

import grpc
from google.protobuf import json_format, struct_pb2
from pulumi.runtime.proto import plugin_pb2, provider_pb2, provider_pb2_grpc

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"   # the engine's sentinel for a value known only after apply
SECRET_SIG = "4dabf18193072939515e22adb298388d"


class StandInProvider(provider_pb2_grpc.ResourceProviderServicer):
    """The calls every stand-in provider answers alike: its name and version, and no provider configuration."""

    name = version = ""

    def GetPluginInfo(self, request, context):
        return plugin_pb2.PluginInfo(version=self.version)

    def GetSchema(self, request, context):
        return provider_pb2.GetSchemaResponse(schema='{"name":"%s","version":"%s"}' % (self.name, self.version))

    def CheckConfig(self, request, context):
        return provider_pb2.CheckResponse(inputs=request.news)

    def DiffConfig(self, request, context):
        return provider_pb2.DiffResponse(changes=provider_pb2.DiffResponse.DIFF_NONE)

    def Configure(self, request, context):
        return provider_pb2.ConfigureResponse(acceptSecrets=False, supportsPreview=True)

    def Check(self, request, context):
        return provider_pb2.CheckResponse(inputs=request.news)


def serve(register) -> None:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    register(server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(port, flush=True)
    try:
        server.wait_for_termination()
    except KeyboardInterrupt:   # the engine ends its plugins with SIGINT
        server.stop(0)


def to_dict(struct: struct_pb2.Struct) -> dict:
    return json_format.MessageToDict(struct)


def to_struct(values: dict) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(values)
    return struct


def has_unknown(value) -> bool:
    if isinstance(value, dict):
        return any(has_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(has_unknown(v) for v in value)
    return value == UNKNOWN


def engine_address() -> str:
    """The engine's address: the one positional argument (flags such as -v=9 or --logtostderr come before it)."""
    return next((a for a in reversed(sys.argv[1:]) if not a.startswith("-")), "")
