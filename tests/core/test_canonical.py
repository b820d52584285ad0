"""Canonical JSON: sorted keys, no whitespace, UTF-8, integral floats as integers."""

from __future__ import annotations

import math

import pytest
from Crypto.Hash import keccak
from hypothesis import given
from hypothesis import strategies as st

from datafair.core.canonical import canonical_hash, canonical_json, keccak256


def test_layout_is_sorted_compact_utf8() -> None:
    value = {"b": [1, 2.0, 2.5], "a": "é", "c": {"z": None, "y": True}}
    assert canonical_json(value) == '{"a":"é","b":[1,2,2.5],"c":{"y":true,"z":null}}'.encode()


def test_key_order_does_not_change_the_hash() -> None:
    assert canonical_hash({"x": 1, "y": 2}) == canonical_hash({"y": 2, "x": 1})


def test_keccak_known_vector() -> None:
    assert keccak256(b"").hex() == (
        "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    )


@given(st.binary(max_size=600))
def test_keccak_matches_an_independent_implementation(data: bytes) -> None:
    # the C implementation (safe-pysha3) against pycryptodome's, across block boundaries
    assert keccak256(data) == keccak.new(digest_bits=256, data=data).digest()


@pytest.mark.parametrize("bad", [math.nan, math.inf, {"x": -math.inf}])
def test_non_finite_numbers_are_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="non-finite"):
        canonical_json(bad)


def test_unsupported_types_are_refused() -> None:
    with pytest.raises(TypeError, match="set"):
        canonical_json({"x": {1, 2}})
