"""Per-release facts on every supported release's own render (2.17.0 from ../shared/fixtures, the others made by
`python -m tests.support.renders`): the arm64 image plan, and the version the objects hold."""
from __future__ import annotations

import shutil

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infra.manifests.images import NATIVE, NEEDS_EMULATION, plan_images
from infra.manifests.patch import PatchSettings, patch_upstream
from infra.manifests.releases import ARM64_EXCLUDED, MULTI_ARCH_FROM, manifests_version, release, require_version
from infra.manifests.source import load_upstream, read_folder
from infra.render import print_image_plan, render_to
from kfp_laptop.errors import UserError
from tests.support.renders import SUPPORTED, release_folder

MINIO_IMAGE = "quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z"
KFP = "ghcr.io/kubeflow/"


@pytest.fixture(scope="module", params=SUPPORTED)
def release_render(request):
    return request.param, release_folder(request.param)


def test_the_manifests_name_their_own_release_and_nothing_else(release_render):
    version, folder = release_render
    upstream = read_folder(folder)
    assert manifests_version(upstream.cluster_scoped + upstream.platform) == {version}
    assert load_upstream(version, kfp_manifests=folder).platform == upstream.platform


def test_the_arm64_plan_follows_each_releases_own_builds(release_render):
    """Before 2.17.0 every KFP image is amd64 only; at 2.17.0 all but the two excluded ones have arm64 builds."""
    version, folder = release_render
    objects = patch_upstream(read_folder(folder), PatchSettings("arm64", "kind", MINIO_IMAGE))
    kfp = {d.image: d for d in plan_images(objects, "arm64") if d.image.startswith(KFP + "kfp-")}
    assert {image.rsplit(":", 1)[1] for image in kfp} == {version}
    assert any("kfp-driver" in image for image in kfp), "the API server's driver/launcher images are planned too"
    for image, decision in kfp.items():
        name = image[len(KFP):].split(":")[0]
        multi_arch = release(version) >= MULTI_ARCH_FROM and name not in ARM64_EXCLUDED
        assert decision.verdict == (NATIVE if multi_arch else NEEDS_EMULATION), image


def test_image_plan_shows_the_metadata_writer_pulled_by_digest(kfp_fixture, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")   # one table row per line
    print_image_plan(arch="arm64", kfp_manifests=str(kfp_fixture))
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if "kfp-metadata-writer:2.17.0" in line)
    assert "index holding amd64 only" in row and "@<its amd64 manifest's digest" in row
    out = " ".join(out.split())
    assert "pulled by its amd64 manifest's digest" in out


@pytest.fixture(scope="module")
def objects_2_17(kfp_fixture) -> list[dict]:
    upstream = read_folder(kfp_fixture)
    return upstream.cluster_scoped + upstream.platform


@settings(deadline=None)   # each case walks the whole 2.17.0 render (~50 ms alone, more on a loaded machine)
@given(st.tuples(st.integers(0, 3), st.integers(0, 30), st.integers(0, 9)).map(lambda v: ".".join(map(str, v))))
def test_a_kfp_version_the_manifests_do_not_hold_is_refused_with_one_message(objects_2_17, version):
    if version == "2.17.0":
        require_version(objects_2_17, version, "FOLDER")
        return
    with pytest.raises(UserError) as err:
        require_version(objects_2_17, version, "FOLDER")
    assert err.value.problem == f"FOLDER holds KFP 2.17.0, but kfpVersion is {version}"
    assert "kfp-laptop:kfpVersion 2.17.0" in err.value.fix and "--kfp-version 2.17.0" in err.value.fix


def test_every_command_reading_manifests_checks_their_release(kfp_fixture):
    """`pulumi up` (load_upstream), `inv image-plan` and `inv render` (below) never state a version they don't hold."""
    for call in (lambda: load_upstream("2.16.1", kfp_manifests=kfp_fixture),
                 lambda: print_image_plan(arch="amd64", kfp_manifests=str(kfp_fixture), kfp_version="2.16.1")):
        with pytest.raises(UserError) as err:
            call()
        assert err.value.problem == f"{kfp_fixture} holds KFP 2.17.0, but kfpVersion is 2.16.1"


def test_render_refuses_a_mismatch_before_writing_anything(kfp_fixture, tmp_path):
    with pytest.raises(UserError, match="holds KFP 2.17.0, but kfpVersion is 2.16.1"):
        render_to(tmp_path / "out", kfp_manifests=str(kfp_fixture), kfp_version="2.16.1")
    assert not (tmp_path / "out").exists()


def test_a_folder_mixing_releases_is_refused(kfp_fixture, tmp_path):
    shutil.copy(kfp_fixture / "cluster-scoped-resources.yaml", tmp_path)
    text = (kfp_fixture / "platform-agnostic.yaml").read_text()
    (tmp_path / "platform-agnostic.yaml").write_text(text.replace("kfp-frontend:2.17.0", "kfp-frontend:2.16.1"))
    with pytest.raises(UserError, match=r"mixes KFP releases \(2.16.1, 2.17.0\)"):
        load_upstream("2.17.0", kfp_manifests=tmp_path)
