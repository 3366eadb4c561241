"""engine existing: choosing the kubeconfig context (kubectl's merge rules) and keeping only what it needs."""
from __future__ import annotations

import os

import pytest
import yaml

from infra.cluster.existing import KubeconfigError, kubeconfig_paths, load_existing, merge_kubeconfigs, select_context


def kubeconfig(current: str, *names: str) -> dict:
    return {"current-context": current,
            "clusters": [{"name": f"{n}-cluster", "cluster": {"server": f"https://{n}.example"}} for n in names],
            "users": [{"name": f"{n}-user", "user": {"token": f"token-{n}"}} for n in names],
            "contexts": [{"name": n, "context": {"cluster": f"{n}-cluster", "user": f"{n}-user"}} for n in names]}


def test_current_context_is_the_default_and_the_rest_is_dropped():
    chosen = select_context(kubeconfig("work", "work", "home"), None)
    assert (chosen.context, chosen.cluster) == ("work", "work-cluster")
    kept = yaml.safe_load(chosen.kubeconfig)
    assert kept["current-context"] == "work"
    assert [c["name"] for c in kept["clusters"]] == ["work-cluster"]
    assert [u["user"]["token"] for u in kept["users"]] == ["token-work"], "another cluster's credentials never leak"


def test_named_context_wins():
    assert select_context(kubeconfig("work", "work", "home"), "home").cluster == "home-cluster"


def test_unknown_context_lists_the_ones_there_are():
    with pytest.raises(KubeconfigError, match=r"context 'prod' is not in the kubeconfig \(contexts: home, work\)"):
        select_context(kubeconfig("work", "work", "home"), "prod")


def test_no_current_context_says_so():
    with pytest.raises(KubeconfigError, match="no current context"):
        select_context(kubeconfig("", "work"), None)


def test_first_file_defining_a_name_wins_like_kubectl():
    first, second = kubeconfig("a", "a"), kubeconfig("b", "a", "b")
    second["clusters"][0]["cluster"]["server"] = "https://shadowed.example"
    merged = merge_kubeconfigs([first, second])
    assert merged["current-context"] == "a"
    assert [c["cluster"]["server"] for c in merged["clusters"]] == ["https://a.example", "https://b.example"]


def test_kubeconfig_env_is_a_path_list(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    one.write_text(yaml.safe_dump(kubeconfig("a", "a")))
    two.write_text(yaml.safe_dump(kubeconfig("b", "b")))
    environ = {"KUBECONFIG": f"{one}{os.pathsep}{two}"}
    assert kubeconfig_paths(environ) == [one, two]
    assert load_existing("b", environ).cluster == "b-cluster"


def test_no_kubeconfig_file_explains_what_existing_needs(tmp_path):
    with pytest.raises(KubeconfigError, match="no kubeconfig found"):
        load_existing(None, {"KUBECONFIG": str(tmp_path / "missing")})


@pytest.mark.parametrize("text, says", [("clusters: [unclosed\n", "cannot read the kubeconfig"),
                                        ("- a list\n", "is not a kubeconfig")])
def test_a_broken_kubeconfig_file_is_named_not_a_traceback(tmp_path, text, says):
    path = tmp_path / "config"
    path.write_text(text)
    with pytest.raises(KubeconfigError, match=says) as err:
        load_existing(None, {"KUBECONFIG": str(path)})
    assert str(path) in str(err.value)
