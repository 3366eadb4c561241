"""KubeObject registers each kind the program uses exactly as pulumi-kubernetes' typed class does, under
`pulumi.runtime.set_mocks` (no engine here): the same request to the engine but for the resource's name."""
from __future__ import annotations

import pulumi
import pytest

from infra.components.kube_object import KubeObject, type_token
from tests.support.pulumi_harness import SECRET_SIG, run_program

SECRET = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
          "metadata": {"name": "creds", "namespace": "kubeflow", "annotations": {"a": "b"}},
          "stringData": {"accesskey": "generated"}}
CONFIG_MAP = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "status", "namespace": "kubeflow"},
              "data": {"last": "{}"}}
SAME_FIELDS = ("type", "parent", "object", "additionalSecretOutputs", "ignoreChanges", "version", "aliasSpecs",
               "aliases", "dependencies", "provider", "protect", "deleteBeforeReplace")


def _typed(obj: dict, name: str, opts: pulumi.ResourceOptions):
    import pulumi_kubernetes as k8s

    fields = {"Secret": dict(type=obj.get("type"), string_data=obj.get("stringData")),
              "ConfigMap": dict(data=obj.get("data"))}[obj["kind"]]
    cls = {"Secret": k8s.core.v1.Secret, "ConfigMap": k8s.core.v1.ConfigMap}[obj["kind"]]
    return cls(name, metadata=obj["metadata"], opts=opts, **fields)


@pytest.mark.parametrize("obj", [SECRET, CONFIG_MAP], ids=["Secret", "ConfigMap"])
def test_the_engine_gets_what_the_typed_class_sends(obj):
    def main():
        opts = pulumi.ResourceOptions(ignore_changes=["data"])
        typed, ours = _typed(obj, "typed", opts), KubeObject("ours", obj, opts=opts)
        return {"typed": typed.urn, "ours": ours.urn}

    run = run_program({}, main=main)
    assert run.error is None, run.error
    token = type_token(obj["apiVersion"], obj["kind"])
    typed, ours = run.requests[(token, "typed")], run.requests[(token, "ours")]
    for field in SAME_FIELDS:
        assert getattr(ours, field) == getattr(typed, field), field
    assert run.outputs["ours"] == run.outputs["typed"].replace("::typed", "::ours")


def test_a_secrets_values_are_sent_as_secrets_and_kept_secret():
    def main():
        return {"secret": KubeObject("ours", SECRET)}

    run = run_program({}, main=main)
    request = run.requests[("kubernetes:core/v1:Secret", "ours")]
    assert list(request.additionalSecretOutputs) == ["data", "stringData"]
    assert SECRET_SIG in str(request.object["stringData"]), "sent as a secret value"


@pytest.mark.parametrize("api_version,kind,token", [
    ("v1", "Secret", "kubernetes:core/v1:Secret"),
    ("apps/v1", "Deployment", "kubernetes:apps/v1:Deployment"),
    ("rbac.authorization.k8s.io/v1", "Role", "kubernetes:rbac.authorization.k8s.io/v1:Role"),
])
def test_type_tokens_are_the_sdks(api_version, kind, token):
    assert type_token(api_version, kind) == token
