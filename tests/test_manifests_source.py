"""Where upstream objects come from: the per-user cache (rendered for real by `kubectl kustomize` from a tiny local
kustomization standing in for GitHub, which this machine cannot reach) and `kfpManifests` folders."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from infra.manifests.source import CLUSTER_FILE, NAMESPACED_FILE, failure_reason, load_upstream, upstream_target
from kfp_laptop.errors import UserError

needs_kubectl = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (kustomize) is not installed")


def _tree(root: Path, tree: str, kind: str, name: str, extra: str = "") -> None:
    folder = root / tree
    folder.mkdir(parents=True)
    (folder / "object.yaml").write_text(f"apiVersion: v1\nkind: {kind}\nmetadata:\n  name: {name}\n{extra}")
    (folder / "kustomization.yaml").write_text("resources:\n- object.yaml\n"
                                               + ("namespace: kubeflow\n" if kind != "Namespace" else ""))


@pytest.fixture
def local_upstream(tmp_path: Path):
    """A stand-in for github.com/kubeflow/pipelines/manifests/kustomize with both trees; records each render."""
    _tree(tmp_path / "src", "cluster-scoped-resources", "Namespace", "kubeflow")
    # the release a render is, as upstream names it (infra/manifests/releases.py)
    _tree(tmp_path / "src", "env/platform-agnostic", "ConfigMap", "pipeline-install-config",
          "data:\n  appVersion: 9.9.9\n")
    rendered: list[str] = []

    def target(tree: str, version: str) -> str:
        rendered.append(f"{tree}@{version}")
        return str(tmp_path / "src" / tree)

    return target, rendered


def test_upstream_target_pins_the_release_tag():
    assert upstream_target("env/platform-agnostic", "2.17.0") == \
        "github.com/kubeflow/pipelines/manifests/kustomize/env/platform-agnostic?ref=2.17.0"


@needs_kubectl
def test_first_load_renders_into_the_cache_and_the_second_reads_it_offline(tmp_path, local_upstream):
    target, rendered = local_upstream
    cache = tmp_path / "cache"
    first = load_upstream("9.9.9", cache=cache, target=target)
    assert rendered == ["cluster-scoped-resources@9.9.9", "env/platform-agnostic@9.9.9"]
    assert sorted(p.name for p in (cache / "kfp-9.9.9").iterdir()) == sorted([CLUSTER_FILE, NAMESPACED_FILE])
    assert [o["kind"] for o in first.cluster_scoped] == ["Namespace"]
    assert first.platform[0]["metadata"] == {"name": "pipeline-install-config", "namespace": "kubeflow"}

    second = load_upstream("9.9.9", cache=cache, target=target)
    assert len(rendered) == 2, "a cached version must not be rendered again"
    assert second == first


def test_a_filled_cache_is_used_without_rendering(tmp_path, kfp_fixture):
    cache = tmp_path / "cache"
    shutil.copytree(kfp_fixture, cache / "kfp-2.17.0")

    def no_network(tree, version):
        raise AssertionError("must not render when the cache holds the version")

    upstream = load_upstream("2.17.0", cache=cache, target=no_network)
    assert len(upstream.cluster_scoped) == 16 and len(upstream.platform) == 72


@needs_kubectl
def test_a_failed_render_leaves_no_half_filled_cache(tmp_path, local_upstream):
    target, _ = local_upstream
    shutil.rmtree(tmp_path / "src" / "env")          # the second tree cannot be rendered
    with pytest.raises(UserError) as err:
        load_upstream("9.9.9", cache=tmp_path / "cache", target=target)
    assert "kfpManifests" in err.value.fix
    assert list((tmp_path / "cache").iterdir()) == []


def test_kfp_manifests_folder_is_read_as_is(kfp_fixture):
    upstream = load_upstream("2.17.0", kfp_manifests=kfp_fixture, target=None)
    assert upstream.cluster_scoped[0]["kind"] == "Namespace"
    assert sum(o["kind"] == "Deployment" for o in upstream.platform) == 14


def test_kfp_manifests_folder_without_the_renders_names_the_missing_file(tmp_path):
    (tmp_path / CLUSTER_FILE).write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: kubeflow}\n")
    with pytest.raises(UserError, match=NAMESPACED_FILE):
        load_upstream("2.17.0", kfp_manifests=tmp_path)


@pytest.mark.parametrize("text, says", [("kind: [Namespace\n", "cannot read"),
                                        ("- just a list\n", "document 1: a YAML list, not a Kubernetes object")])
def test_kfp_manifests_file_that_is_not_a_render_is_named(tmp_path, text, says):
    (tmp_path / CLUSTER_FILE).write_text(text)
    (tmp_path / NAMESPACED_FILE).write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: kfp-launcher}\n")
    with pytest.raises(UserError, match=f"{says}") as err:
        load_upstream("2.17.0", kfp_manifests=tmp_path)
    assert str(tmp_path / CLUSTER_FILE) in err.value.problem and "kubectl kustomize" in err.value.fix


def test_a_cache_folder_that_cannot_be_created_names_xdg_cache_home(tmp_path):
    (tmp_path / "a-file").write_text("")
    with pytest.raises(UserError, match="cannot create the KFP manifest cache") as err:
        load_upstream("9.9.9", cache=tmp_path / "a-file" / "cache", target=None)
    assert "XDG_CACHE_HOME" in err.value.fix


def test_a_failed_fetch_is_reported_by_gits_own_line():
    stderr = ('E1129 01:07:59.615159   29606 run.go:72] "command failed" err=<\n'
              "\tfailed to run '/usr/bin/git fetch --depth=1 https://github.com/kubeflow/pipelines 9.9.9': "
              "fatal: unable to access 'https://github.com/kubeflow/pipelines/': Could not resolve host: github.com\n"
              "\t: exit status 128\n >\n")
    assert failure_reason(stderr).endswith("Could not resolve host: github.com")
    assert failure_reason("") == "(no message)"


@needs_kubectl
def test_a_render_finished_concurrently_by_another_run_is_kept(tmp_path, local_upstream):
    target, _ = local_upstream
    cache = tmp_path / "cache"

    def other_run_finishes_first(tree, version):
        if tree == "env/platform-agnostic" and not (cache / "kfp-9.9.9").exists():
            load_upstream(version, cache=cache, target=target)      # the concurrent run
        return target(tree, version)

    upstream = load_upstream("9.9.9", cache=cache, target=other_run_finishes_first)
    assert upstream.cluster_scoped[0]["kind"] == "Namespace"
    assert [p.name for p in cache.iterdir()] == ["kfp-9.9.9"], "no staging folder is left behind"
