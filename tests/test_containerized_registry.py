"""The registry side of `inv build-components`: reading the target from stack outputs, and the "already pushed -> skip"
decision against a real HTTP server on 127.0.0.1 standing in for the stack's registry (the `registry` fixture,
tests/support/registry.py)."""
from __future__ import annotations

import pytest

from kfp_laptop.errors import UserError
from pipelines.containerized.build import BUILT, SKIPPED, push_missing
from pipelines.containerized.image_target import Target
from pipelines.containerized.images import ImageBuild
from pipelines.containerized.registry_client import manifest_exists, require_registry

OUTPUTS = {"registry": "localhost:5001", "cluster": {"engine": "kind", "name": "kfp", "context": "kind-kfp",
                                                      "arch": "arm64"}}


def _target_for(registry) -> Target:
    return Target.from_outputs({**OUTPUTS, "registry": f"localhost:{registry.server.port}"})


def _image(name: str, target: Target, text: str = "FROM scratch\n") -> ImageBuild:
    return ImageBuild(name=name, registry=target.registry, platform=target.platform, files={"Dockerfile": text})


def test_target_follows_the_registry_and_arch_outputs():
    target = Target.from_outputs(OUTPUTS)
    assert (target.registry, target.platform, target.api_base) == ("localhost:5001", "linux/arm64",
                                                                   "http://127.0.0.1:5001")
    moved = Target.from_outputs({**OUTPUTS, "registry": "localhost:5123", "cluster": {**OUTPUTS["cluster"],
                                                                                      "arch": "amd64"}})
    assert (moved.registry, moved.platform, moved.api_base) == ("localhost:5123", "linux/amd64",
                                                                "http://127.0.0.1:5123")


@pytest.mark.parametrize("outputs, named", [
    ({"cluster": OUTPUTS["cluster"]}, "`registry`"),
    ({**OUTPUTS, "registry": "localhost"}, "`registry`"),
    ({**OUTPUTS, "cluster": {**OUTPUTS["cluster"], "arch": "riscv64"}}, "`cluster.arch`"),
    ({"registry": "localhost:5001"}, "`cluster` is missing"),
])
def test_target_rejects_incomplete_outputs_with_a_user_error(outputs, named):
    with pytest.raises(UserError, match=named) as err:
        Target.from_outputs(outputs)
    assert "inv up" in err.value.fix


def test_manifest_lookup_asks_the_registry_api_for_every_manifest_kind(registry):
    registry.stored.add("kfp-laptop/wine-train:c123")
    assert manifest_exists(registry.server.url, "kfp-laptop/wine-train", "c123")
    assert not manifest_exists(registry.server.url, "kfp-laptop/wine-train", "c456")
    method, path, accept = registry.requests[0]
    assert (method, path) == ("HEAD", "/v2/kfp-laptop/wine-train/manifests/c123")
    assert "application/vnd.oci.image.index.v1+json" in accept
    assert "application/vnd.docker.distribution.manifest.v2+json" in accept


def test_pushed_images_are_skipped_and_missing_ones_built(registry):
    target = _target_for(registry)
    present, missing = _image("wine-train", target), _image("wine-validate", target)
    registry.stored.add(f"{present.repository}:{present.tag}")
    contexts = []

    def build(context, image):
        contexts.append((image.name, sorted(p.name for p in context.iterdir()), (context / "Dockerfile").read_text()))

    outcomes = push_missing([present, missing], target, build)
    assert [(o.image.name, o.action) for o in outcomes] == [("wine-train", SKIPPED), ("wine-validate", BUILT)]
    assert contexts == [("wine-validate", ["Dockerfile"], "FROM scratch\n")]


def test_a_registry_that_does_not_answer_is_a_user_error(registry):
    target = _target_for(registry)
    registry.server.close()
    with pytest.raises(UserError, match="does not answer") as err:
        push_missing([_image("wine-train", target)], target, lambda context, image: None)
    assert "inv up" in err.value.fix


def test_an_unexpected_registry_answer_is_a_user_error(registry):
    with pytest.raises(UserError, match="HTTP 404"):
        require_registry(registry.server.url + "/not-a-registry")


def test_a_registry_that_goes_away_during_the_lookups_is_a_user_error(registry):
    api_base = registry.server.url
    registry.server.close()
    with pytest.raises(UserError, match="stopped answering while looking up kfp-laptop/wine-train:c1"):
        manifest_exists(api_base, "kfp-laptop/wine-train", "c1")
