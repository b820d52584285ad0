"""Largest-remainder apportionment: exact sums, quota rule, determinism, bad input."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from datafair.core.errors import InvalidInput
from datafair.economics import (
    WEIGHT_SCALE,
    apportion,
    apportion_groups,
    largest_remainder,
    quantise,
)

totals = st.integers(min_value=0, max_value=10**30)
int_weights = st.lists(st.integers(min_value=0, max_value=10**24), min_size=1, max_size=30)
float_weights = st.lists(
    st.floats(min_value=0.0, max_value=1e6, allow_nan=False, allow_infinity=False),
    min_size=1,
    max_size=30,
)


def test_small_examples() -> None:
    assert apportion(10, [1, 1, 1]) == [4, 3, 3]  # equal remainders: lower position first
    assert apportion(10, [1, 2]) == [3, 7]
    assert apportion(7, [0, 0]) == [0, 0]  # nothing to split by: the caller keeps the money
    assert apportion(0, [5, 1]) == [0, 0]
    assert apportion(5, []) == []
    assert largest_remainder(100, [0.5, 0.25, 0.25]) == [50, 25, 25]
    assert largest_remainder(1, [0.2, 0.3, 0.5]) == [0, 0, 1]


def test_huge_totals_are_exact() -> None:
    total = 10**40 + 7
    shares = largest_remainder(total, [1.0, 1.0, 1.0])
    assert sum(shares) == total
    assert max(shares) - min(shares) <= 1


@given(totals, int_weights)
def test_apportion_sums_and_respects_quota(total: int, weights: list[int]) -> None:
    shares = apportion(total, weights)
    weight_sum = sum(weights)
    if weight_sum == 0:
        assert shares == [0] * len(weights)
        return
    assert sum(shares) == total
    for share, weight in zip(shares, weights, strict=True):
        quota = Fraction(total * weight, weight_sum)
        assert quota - 1 < share < quota + 1
        assert share >= 0
        if weight == 0:
            assert share == 0


@given(totals, float_weights)
def test_largest_remainder_sums_and_is_deterministic(total: int, weights: list[float]) -> None:
    shares = largest_remainder(total, weights)
    assert shares == largest_remainder(total, np.array(weights))
    assert all(share >= 0 for share in shares)
    if any(quantise(weights, normalise=True) > 0):
        assert sum(shares) == total
    else:
        assert shares == [0] * len(weights)


@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 10**9)), max_size=40), totals)
def test_groups_match_one_split_per_group(rows: list[tuple[int, int]], scale: int) -> None:
    group_totals = [scale // (g + 1) for g in range(5)]
    groups = np.array([g for g, _ in rows], dtype=np.int64)
    weights = np.array([w for _, w in rows], dtype=np.int64)
    shares = apportion_groups(group_totals, groups, weights)
    for g in range(5):
        members = [i for i, (group, _) in enumerate(rows) if group == g]
        expected = apportion(group_totals[g], [rows[i][1] for i in members])
        assert [shares[i] for i in members] == expected


def test_groups_int64_and_object_paths_agree() -> None:
    rng = np.random.default_rng(0)
    groups = rng.integers(0, 50, size=2000).astype(np.int64)
    weights = rng.integers(0, WEIGHT_SCALE, size=2000).astype(np.int64)
    small = [int(t) for t in rng.integers(0, 10**6, size=50)]
    big = [t * 10**30 for t in small]
    small_shares = apportion_groups(small, groups, weights)
    big_shares = apportion_groups(big, groups, weights)
    for g in range(50):
        members = np.flatnonzero(groups == g).tolist()
        assert sum(small_shares[i] for i in members) == (small[g] if weights[members].any() else 0)
        assert sum(big_shares[i] for i in members) == (big[g] if weights[members].any() else 0)


def test_group_tiebreak_key_decides_equal_remainders() -> None:
    groups = np.zeros(3, dtype=np.int64)
    weights = np.ones(3, dtype=np.int64)
    assert apportion_groups([1], groups, weights) == [1, 0, 0]
    assert apportion_groups([1], groups, weights, np.array([2, 0, 1])) == [0, 1, 0]


def test_quantise_absolute_and_normalised() -> None:
    assert quantise([0.5, 1.0, 0.0], normalise=False).tolist() == [
        WEIGHT_SCALE // 2,
        WEIGHT_SCALE,
        0,
    ]
    assert quantise([2.0, 4.0], normalise=True).tolist() == [WEIGHT_SCALE // 2, WEIGHT_SCALE]
    assert quantise([], normalise=True).size == 0


@pytest.mark.parametrize(
    ("weights", "normalise", "problem"),
    [
        ([0.5, float("nan")], True, "NaN"),
        ([0.5, float("inf")], True, "NaN or infinite"),
        ([0.5, -0.1], True, "negative"),
        ([0.5, 1.5], False, "above 1"),
        ([[0.5]], True, "one-dimensional"),
        (["a"], True, "numbers"),
    ],
)
def test_quantise_rejects_bad_weights(weights: object, normalise: bool, problem: str) -> None:
    with pytest.raises(InvalidInput, match=problem):
        quantise(weights, normalise=normalise)  # type: ignore[arg-type]


@pytest.mark.parametrize("total", [-1, 1.5, True, "3"])
def test_apportion_rejects_bad_totals(total: object) -> None:
    with pytest.raises(InvalidInput, match="total"):
        apportion(total, [1])  # type: ignore[arg-type]


def test_apportion_rejects_negative_weights() -> None:
    with pytest.raises(InvalidInput, match="weights"):
        apportion(3, [1, -1])


def test_apportion_groups_rejects_bad_input() -> None:
    one = np.zeros(1, dtype=np.int64)
    with pytest.raises(InvalidInput, match="one value per row"):
        apportion_groups([1], one, np.zeros(2, dtype=np.int64))
    with pytest.raises(InvalidInput, match="without a total"):
        apportion_groups([1], np.array([1]), np.array([1]))
    with pytest.raises(InvalidInput, match="negative"):
        apportion_groups([1], one, np.array([-1]))
    with pytest.raises(InvalidInput, match="2\\*\\*63"):
        apportion_groups([1], np.zeros(3, dtype=np.int64), np.full(3, 2**62, dtype=np.int64))
    with pytest.raises(InvalidInput, match="totals"):
        apportion_groups([-5], one, np.array([1]))
    assert apportion_groups([], np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)) == []
