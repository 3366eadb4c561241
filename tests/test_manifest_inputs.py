"""kfpManifests folders as a clumsy or hostile user makes them: truncated YAML, documents without metadata, binary
bytes, objects defined twice, alias bombs. Each is one UserError naming the file (and the document and object),
in bounded time; whatever is accepted is a list of well-formed objects without duplicates.

Property tests: each fails on a traceback (any exception but UserError), an accepted malformed object, or a run past
its deadline."""
from __future__ import annotations

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infra.manifests import source
from infra.manifests.source import CLUSTER_FILE, NAMESPACED_FILE, load_upstream
from kfp_laptop.errors import UserError

PROPERTY = settings(max_examples=80, deadline=3000, suppress_health_check=[HealthCheck.function_scoped_fixture])
NAMESPACE = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kubeflow"}}

names = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | names
metadata = st.fixed_dictionaries({}, optional={"name": scalars | st.sampled_from(["a", "b"]),
                                               "namespace": scalars | st.just("kubeflow"),
                                               "labels": st.dictionaries(names, names, max_size=2)})
objects = st.fixed_dictionaries({}, optional={"apiVersion": scalars | st.sampled_from(["v1", "apps/v1"]),
                                              "kind": scalars | st.sampled_from(["ConfigMap", "Service"]),
                                              "metadata": metadata | scalars | st.lists(scalars, max_size=2)})
documents = st.lists(objects | scalars | st.lists(scalars, max_size=3), max_size=4)


def well_formed(obj) -> bool:
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    return (isinstance(obj, dict) and all(isinstance(obj.get(k), str) and obj[k] for k in ("apiVersion", "kind"))
            and isinstance(meta, dict) and isinstance(meta.get("name"), str) and bool(meta["name"])
            and isinstance(meta.get("namespace", ""), str))


def folder_with(tmp_path_factory, platform_text: str | bytes):
    folder = tmp_path_factory.mktemp("manifests")
    (folder / CLUSTER_FILE).write_text(yaml.safe_dump(NAMESPACE))
    target = folder / NAMESPACED_FILE
    target.write_bytes(platform_text if isinstance(platform_text, bytes) else platform_text.encode())
    return folder, target


def load_or_refuse(folder, target):
    try:
        return load_upstream("2.17.0", kfp_manifests=folder)
    except UserError as err:
        assert str(target) in err.problem or str(folder) in err.problem, err.problem
        assert "kubectl kustomize" in err.fix and "\n" not in err.problem
        return None


@PROPERTY
@given(docs=documents)
def test_documents_are_objects_or_named_refusals(tmp_path_factory, docs):
    folder, target = folder_with(tmp_path_factory, yaml.safe_dump_all(docs))
    loaded = load_or_refuse(folder, target)
    kept = [doc for doc in docs if doc]   # empty documents are skipped, as kubectl does
    malformed = not all(well_formed(doc) for doc in kept)
    keys = [] if malformed else [identity(obj) for obj in [NAMESPACE, *kept]]
    assert (loaded is None) == (malformed or len(keys) != len(set(keys)))
    if loaded is not None:
        assert loaded.platform == kept


def identity(obj: dict) -> tuple:
    return (obj["apiVersion"].rpartition("/")[0], obj["kind"], obj["metadata"].get("namespace") or "",
            obj["metadata"]["name"])


@PROPERTY
@given(cut=st.floats(0, 1), junk=st.binary(max_size=40))
def test_truncated_or_binary_files_are_named_refusals(tmp_path_factory, kfp_fixture, cut, junk):
    text = (kfp_fixture / NAMESPACED_FILE).read_text()[:20000]   # a real render's head, cut anywhere
    data = text[:int(len(text) * cut)].encode() + junk
    folder, target = folder_with(tmp_path_factory, data)
    load_or_refuse(folder, target)


def test_a_document_without_metadata_is_named_with_its_number_and_kind(tmp_path_factory):
    folder, target = folder_with(tmp_path_factory, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n"
                                                   "apiVersion: v1\nkind: Service\n")
    with pytest.raises(UserError) as err:
        load_upstream("2.17.0", kfp_manifests=folder)
    assert err.value.problem == f"{target}, document 2 (Service): it has no `metadata`"


def test_an_object_defined_twice_is_named_with_both_places(tmp_path_factory):
    twice = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "kubeflow"}}
    folder, _ = folder_with(tmp_path_factory, yaml.safe_dump_all([twice, {**twice, "kind": "Secret"}, twice]))
    with pytest.raises(UserError) as err:
        load_upstream("2.17.0", kfp_manifests=folder)
    assert err.value.problem == (f"ConfigMap/a in namespace kubeflow is defined twice: in {NAMESPACED_FILE} document 1 "
                                 f"and {NAMESPACED_FILE} document 3 (folder {folder})")
    folder, _ = folder_with(tmp_path_factory, yaml.safe_dump(NAMESPACE))   # across the two files too
    with pytest.raises(UserError, match=f"Namespace/kubeflow is defined twice: in {CLUSTER_FILE} document 1 and "):
        load_upstream("2.17.0", kfp_manifests=folder)


def bomb(levels: int, width: int = 10) -> str:
    lines = ["apiVersion: v1", "kind: ConfigMap", "metadata: {name: lol}", "data:", "  a0: &a0 [lol]"]
    for level in range(1, levels + 1):
        lines.append(f"  a{level}: &a{level} [{', '.join([f'*a{level - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


@settings(max_examples=12, deadline=3000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(levels=st.integers(1, 12), width=st.integers(2, 12))
def test_alias_bombs_are_refused_before_they_expand(tmp_path_factory, levels, width):
    folder, target = folder_with(tmp_path_factory, bomb(levels, width))
    loaded = load_or_refuse(folder, target)
    expanded = sum(width ** level for level in range(levels + 1))
    if expanded * 2 > source.MAX_EXPANDED_NODES:
        assert loaded is None, "an alias bomb was accepted"


def test_an_alias_that_refers_to_itself_is_refused(tmp_path_factory):
    folder, target = folder_with(tmp_path_factory, "apiVersion: v1\nkind: ConfigMap\nmetadata: &m {name: a, "
                                                   "labels: *m}\n")
    with pytest.raises(UserError) as err:
        load_upstream("2.17.0", kfp_manifests=folder)
    assert err.value.problem == f"{target}: document 1 refers to itself through a YAML alias"


def test_the_real_render_has_no_duplicates_and_loads(kfp_fixture):
    upstream = load_upstream("2.17.0", kfp_manifests=kfp_fixture)
    assert len(upstream.cluster_scoped) > 10 and len(upstream.platform) > 10


def test_a_kustomize_that_hangs_is_stopped_and_named(tmp_path, fake_tools, monkeypatch):
    """A stand-in kubectl that never answers (as a fetch stuck on a dead network does)."""
    fake_tools.hangs("kubectl")
    monkeypatch.setattr(source, "RENDER_SECONDS", 0.5)
    with pytest.raises(UserError) as err:
        load_upstream("9.9.9", cache=tmp_path / "cache")
    assert "did not finish within 0.5 s and was stopped" in err.value.problem and "kfpManifests" in err.value.fix
    assert not (tmp_path / "cache" / "kfp-9.9.9").exists(), "nothing half-rendered is cached"
