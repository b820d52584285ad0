"""KeyIndex: a compact, exact map of fixed-width byte keys (the import's duplicate check)."""

from __future__ import annotations

import hashlib
import random

import pytest

from datafair.formats.key_index import KeyIndex


def _digest(n: int) -> bytes:
    return hashlib.sha256(str(n).encode()).digest()


def test_it_answers_like_a_dict_across_spills() -> None:
    index, reference = KeyIndex(32, spill=100), {}
    rng = random.Random(3)
    for step in range(5000):
        key = _digest(rng.randrange(3000))
        if index.get(key) is None:
            assert key not in reference
            index.add(key, step)
            reference[key] = step
        assert index.get(key) == reference[key]
    assert len(index) == len(reference)
    assert all(index.get(key) == value for key, value in reference.items())
    assert index.get(_digest(10**6)) is None


def test_keys_that_share_their_first_eight_bytes_stay_apart() -> None:
    index = KeyIndex(16, spill=3)
    keys = [b"\xff" * 8 + bytes([j]) * 8 for j in range(10)] + [bytes(16), bytes(15) + b"\x01"]
    for value, key in enumerate(keys):
        index.add(key, value)
    assert [index.get(key) for key in keys] == list(range(len(keys)))
    assert index.get(b"\xff" * 16) is None and index.get(bytes(8) + b"\x02" * 8) is None


def test_it_refuses_keys_of_another_width() -> None:
    with pytest.raises(ValueError, match="keys are 32 bytes, got 31"):
        KeyIndex(32).add(b"x" * 31, 0)
    with pytest.raises(ValueError, match="at least 8 bytes"):
        KeyIndex(4)
