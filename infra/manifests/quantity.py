"""Kubernetes resource quantities ("512Mi", "1.5Gi", "100m") as numbers.

`kubernetes.utils.parse_quantity` does this, but importing it loads the whole kubernetes client (about a second),
and the Pulumi program needs nothing else of it; `tests/test_quantity.py` checks this against that function.
The grammar is apimachinery's (`pkg/api/resource/quantity.go`): a signed decimal number, then a binary SI suffix,
a decimal SI suffix, or a decimal exponent.
"""
from __future__ import annotations

import re
from decimal import Decimal

_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_QUANTITY = re.compile(r"(?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+))"
                       r"(?:(?P<binary>[KMGTPE]i)|[eE](?P<exponent>[+-]?\d+)|(?P<decimal>[numkMGTPE]?))")


def parse_quantity(quantity: str) -> Decimal:
    """The quantity's value; ValueError naming it when it is not one the API server accepts."""
    match = _QUANTITY.fullmatch(quantity) if isinstance(quantity, str) else None
    if not match:
        raise ValueError(f"{quantity!r} is not a Kubernetes quantity (e.g. 512Mi, 1Gi, 100m)")
    number = Decimal(match["number"])
    if match["binary"]:
        return number * 1024 ** _BINARY[match["binary"]]
    if match["exponent"] is not None:
        return number.scaleb(int(match["exponent"]))
    return number.scaleb(_DECIMAL[match["decimal"]])
