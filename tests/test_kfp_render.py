"""`inv render` and `inv image-plan` offline, from the real 2.17.0 render through `--kfp-manifests`."""
from __future__ import annotations

import pytest

from infra import topology as t
from infra.manifests.source import parse
from infra.render import PLACEHOLDER, print_image_plan, render_to
from kfp_laptop.errors import UserError


@pytest.fixture(scope="module")
def rendered(tmp_path_factory, kfp_fixture):
    out = tmp_path_factory.mktemp("render")
    files = render_to(out, arch="arm64", kfp_manifests=str(kfp_fixture))
    return [parse(f.read_text()) for f in files]


def test_render_writes_every_object_the_stack_applies_in_install_order(rendered):
    cluster_scoped, namespaced, watchdog, registry = rendered
    assert any(o["kind"] == "Deployment" for o in watchdog)
    assert registry[0]["metadata"] == {"name": "local-registry-hosting", "namespace": "kube-public"}
    assert cluster_scoped[0]["kind"] == "Namespace"
    assert all("namespace" not in o["metadata"] for o in cluster_scoped)
    assert all(o["metadata"]["namespace"] == t.NAMESPACE for o in namespaced)
    assert {"minio", "ml-pipeline", "workflow-controller"} <= {o["metadata"]["name"] for o in namespaced
                                                               if o["kind"] == "Deployment"}


def test_render_holds_placeholders_never_credentials(rendered):
    namespaced = rendered[1]
    secret = next(o for o in namespaced if o["kind"] == "Secret" and o["metadata"]["name"] == t.ARTIFACT_SECRET)
    assert secret["stringData"] == {"accesskey": PLACEHOLDER, "secretkey": PLACEHOLDER}


def test_render_applies_the_requested_arch(rendered):
    namespaced = rendered[1]
    grpc = next(o for o in namespaced
                if o["metadata"]["name"] == "metadata-grpc-deployment" and o["kind"] == "Deployment")
    assert grpc["spec"]["template"]["spec"]["containers"][0]["image"].startswith("ghcr.io/deploykf/")


def test_image_plan_shows_what_needs_emulation(kfp_fixture, capsys):
    print_image_plan(arch="arm64", kfp_manifests=str(kfp_fixture))
    out = capsys.readouterr().out
    assert "substituted" in out and "needs-emulation" in out and "Rosetta" in out
    assert "python:" in out, "the watchdog's image is planned too"


def test_a_bad_option_is_a_user_error(kfp_fixture, tmp_path):
    with pytest.raises(UserError, match="invalid --arch 'sparc'") as err:
        render_to(tmp_path, arch="sparc", kfp_manifests=str(kfp_fixture))
    assert "pulumi config" not in err.value.problem, "render reads no stack: name the option, not a stack setting"


def test_an_out_folder_that_cannot_be_written_is_a_user_error(kfp_fixture, tmp_path):
    (tmp_path / "a-file").write_text("")
    with pytest.raises(UserError, match="cannot write the rendered objects to .*a-file") as err:
        render_to(tmp_path / "a-file" / "out", arch="arm64", kfp_manifests=str(kfp_fixture))
    assert "--out" in err.value.fix
