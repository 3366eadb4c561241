"""One Kubernetes object registered as pulumi-kubernetes' typed class for its kind registers it, without importing
that class.

Importing `pulumi_kubernetes.core.v1` (for its Secret and ConfigMap classes) takes about 0.6 s, more than a third
of what the whole program may take (docs/performance.md); the program needs nothing else of it. The type token,
the properties and the options are the typed class's, so the URN, the state and `pulumi up` are the same (checked
against the typed classes in `tests/test_kube_object.py`).
"""
from __future__ import annotations

import pulumi
from pulumi_kubernetes import _utilities

# The fields the typed class marks secret for its kind, as inputs and as outputs (pulumi_kubernetes/core/v1/Secret.py).
SECRET_FIELDS = {"Secret": ("data", "stringData")}


def type_token(api_version: str, kind: str) -> str:
    """`kubernetes:<group>/<version>:<kind>`; the core group ("v1") is spelled `core/v1`."""
    return f"kubernetes:{api_version if '/' in api_version else 'core/' + api_version}:{kind}"


class KubeObject(pulumi.CustomResource):
    def __init__(self, name: str, obj: dict, opts: pulumi.ResourceOptions | None = None):
        kind = obj["kind"]
        secret = SECRET_FIELDS.get(kind, ())
        props = {key: (pulumi.Output.secret(value) if key in secret else value) for key, value in obj.items()}
        opts = pulumi.ResourceOptions.merge(_utilities.get_resource_opts_defaults(), opts)
        if secret:
            opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=list(secret)))
        super().__init__(type_token(obj["apiVersion"], kind), name, props, opts)
