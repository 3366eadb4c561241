"""infra.manifests.quantity against the kubernetes client's parse_quantity, the reference it stands in for."""
import pytest
from hypothesis import given
from hypothesis import strategies as st
from kubernetes.utils import parse_quantity as reference

from infra.manifests.quantity import parse_quantity

digits = st.text("0123456789", min_size=1, max_size=6)
numbers = st.one_of(digits, st.builds("{}.{}".format, digits, digits), st.builds(".{}".format, digits),
                    st.builds("{}.".format, digits))
suffixes = st.one_of(st.sampled_from(["", "n", "u", "m", "k", "M", "G", "T", "P", "E",
                                      "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"]),
                     st.builds("{}{}{}".format, st.sampled_from("eE"), st.sampled_from(["", "+", "-"]),
                               st.text("0123456789", min_size=1, max_size=2)))
quantities = st.builds("{}{}{}".format, st.sampled_from(["", "+", "-"]), numbers, suffixes)


@given(quantities)
def test_every_quantity_of_the_grammar_has_the_clients_value(quantity):
    assert parse_quantity(quantity) == reference(quantity)


@given(st.text(max_size=8))
def test_whatever_it_accepts_the_client_reads_the_same(text):
    try:
        value = parse_quantity(text)
    except ValueError as err:
        assert repr(text) in str(err)
        return
    assert value == reference(text)


@pytest.mark.parametrize("text", ["", "Mi", "1ki", "1 Mi", "1.2.3", "1e", "NaN", "Infinity", "1_000", "0x10"])
def test_what_the_api_server_refuses_is_refused_by_name(text):
    with pytest.raises(ValueError, match="not a Kubernetes quantity"):
        parse_quantity(text)


def test_the_laptop_sizes_read_as_expected():
    assert parse_quantity("1Gi") == 2**30 and parse_quantity("100m") * 10 == 1 and parse_quantity("1e3") == 1000
