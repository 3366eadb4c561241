"""The parse of a render kept as JSON (infra.manifests.source.parse_cached): what it gives back is always what
parsing the YAML gives."""
from __future__ import annotations

import json

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from infra.manifests import source
from infra.manifests.source import PARSED_KEPT, parse, parse_cached

scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**60, 2**60), st.text(max_size=8),
                    st.floats(allow_nan=False, allow_infinity=False))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.text(max_size=5), inner, max_size=3)),
                      max_leaves=12)
documents = st.lists(st.dictionaries(st.text(min_size=1, max_size=6), values, min_size=1, max_size=4), max_size=3)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return tmp_path / "kfp-laptop" / "parsed"


def _kept(cache) -> list:
    return sorted(cache.glob("*.json")) if cache.exists() else []


@given(documents)
def test_the_first_and_the_kept_parse_are_the_yaml_parse(tmp_path_factory, docs):
    cache = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(cache))
        text = yaml.safe_dump_all(docs)
        assert parse_cached(text) == parse(text)
        assert parse_cached(text) == parse(text)


def test_a_kept_file_that_cannot_be_read_is_parsed_again(cache):
    text = "a: 1\n---\nb: [2]\n"
    parse_cached(text)
    (kept,) = _kept(cache)
    kept.write_text('[{"a": 1')
    assert parse_cached(text) == [{"a": 1}, {"b": [2]}]
    assert json.loads(kept.read_text()) == [{"a": 1}, {"b": [2]}], "written again"


def test_what_json_would_change_is_not_kept(cache):
    """Integer keys would come back as strings, dates as nothing JSON has."""
    for text in ("1: one\n", "when: 2020-01-02\n"):
        assert parse_cached(text) == parse(text)
    assert _kept(cache) == []


def test_at_most_a_few_renders_are_kept(cache):
    for number in range(PARSED_KEPT + 3):
        parse_cached(f"n: {number}\n")
    assert len(_kept(cache)) == PARSED_KEPT


def test_an_unwritable_cache_still_parses(tmp_path, monkeypatch):
    (tmp_path / "kfp-laptop").write_text("a file where the cache folder would be")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert parse_cached("a: 1\n") == [{"a": 1}]


def test_the_program_reads_its_render_through_the_cache(cache, kfp_fixture, monkeypatch):
    calls = []
    monkeypatch.setattr(source, "parse", lambda text: calls.append(len(text)) or parse(text))
    source.read_folder(kfp_fixture)
    source.read_folder(kfp_fixture)
    assert len(calls) == 2 and len(_kept(cache)) == 2, "each file parsed once, then read from the cache"
