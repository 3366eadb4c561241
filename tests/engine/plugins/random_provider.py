"""Stand-in for pulumi-resource-random 4.21.4 (`random:index/randomPassword:RandomPassword` only): the Go module
proxy here serves no version of github.com/pulumi/pulumi-random/provider/v4.

Upstream (terraform-provider-random's `password` resource) replaces the resource on any input change and draws the
result once, from upper/lower/numeric (and `special` unless turned off) characters; that is what is kept here. The
SDK marks `result` secret (`additional_secret_outputs`), so the engine stores it encrypted.
"""
from __future__ import annotations

import secrets
import string

from google.protobuf import empty_pb2
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc
from serve import UNKNOWN, StandInProvider, serve, to_dict, to_struct

VERSION = "4.21.4"
SPECIAL = "!@#$%&*()-_=+[]{}<>:?"


def password(inputs: dict) -> str:
    alphabet = ""
    for key, chars in (("upper", string.ascii_uppercase), ("lower", string.ascii_lowercase),
                       ("numeric", string.digits), ("special", inputs.get("overrideSpecial") or SPECIAL)):
        if inputs.get(key, True):
            alphabet += chars
    return "".join(secrets.choice(alphabet) for _ in range(int(inputs["length"])))


class RandomProvider(StandInProvider):
    name, version = "random", VERSION

    def Diff(self, request, context):
        olds, news = to_dict(request.olds), to_dict(request.news)
        changed = sorted(k for k in set(olds) | set(news) if k != "result" and olds.get(k) != news.get(k))
        kind = provider_pb2.DiffResponse.DIFF_SOME if changed else provider_pb2.DiffResponse.DIFF_NONE
        return provider_pb2.DiffResponse(changes=kind, diffs=changed, replaces=changed)

    def Create(self, request, context):
        inputs = to_dict(request.properties)
        result = UNKNOWN if request.preview else password(inputs)
        return provider_pb2.CreateResponse(id="" if request.preview else "none",
                                           properties=to_struct({**inputs, "result": result}))

    def Read(self, request, context):
        return provider_pb2.ReadResponse(id=request.id, properties=request.properties, inputs=request.inputs)

    def Delete(self, request, context):
        return empty_pb2.Empty()

    def Cancel(self, request, context):
        return empty_pb2.Empty()


if __name__ == "__main__":
    serve(lambda server: provider_pb2_grpc.add_ResourceProviderServicer_to_server(RandomProvider(), server))
