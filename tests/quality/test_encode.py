"""Encoding answer columns: integer codes by counting, the keep-last rule's fast path."""

from __future__ import annotations

import numpy as np
import pytest

from datafair.quality._encode import encode_answers, keep_last, unique_codes


@pytest.mark.parametrize(
    ("low", "high", "size"),
    [(0, 50, 1_000), (-30, 30, 500), (10**12, 10**12 + 9, 200), (0, 10**9, 100)],
)
def test_integer_codes_match_numpy_unique(low: int, high: int, size: int) -> None:
    """Compact ranges are counted, wide ones sorted: both give ``np.unique``'s answer."""
    column = np.random.default_rng(low & 0xFFFF).integers(low, high, size=size)
    keys, codes = unique_codes(column, "item")
    expected_keys, expected_codes = np.unique(column, return_inverse=True)
    np.testing.assert_array_equal(keys, expected_keys)
    assert keys.dtype == column.dtype
    np.testing.assert_array_equal(codes, expected_codes.reshape(-1))


def test_keep_last_without_repeats_keeps_every_row_and_with_repeats_the_last() -> None:
    items = np.array([0, 1, 2, 0, 1], dtype=np.intp)
    workers = np.array([0, 0, 0, 1, 1], dtype=np.intp)
    np.testing.assert_array_equal(keep_last(items, workers, 2), np.arange(5))
    items = np.array([0, 1, 0, 1, 0], dtype=np.intp)
    workers = np.array([0, 0, 0, 1, 0], dtype=np.intp)
    np.testing.assert_array_equal(keep_last(items, workers, 2), [1, 3, 4])
    # rows grouped by item (the sorted path), with and without a repeat
    items = np.array([0, 0, 0, 1, 1, 2], dtype=np.intp)
    workers = np.array([2, 0, 1, 1, 0, 2], dtype=np.intp)
    np.testing.assert_array_equal(keep_last(items, workers, 3), np.arange(6))
    workers = np.array([2, 0, 2, 1, 0, 2], dtype=np.intp)
    np.testing.assert_array_equal(keep_last(items, workers, 3), [1, 2, 3, 4, 5])
    # grouped, but the codes not ascending (string keys sort apart from the file's order)
    items = np.array([2, 2, 0, 0, 1], dtype=np.intp)
    workers = np.array([0, 1, 0, 0, 1], dtype=np.intp)
    np.testing.assert_array_equal(keep_last(items, workers, 2), [0, 1, 3, 4])
    # an item in two runs is not grouped, even when the codes leave a gap
    items = np.array([0, 2, 0], dtype=np.intp)
    workers = np.array([1, 1, 1], dtype=np.intp)
    np.testing.assert_array_equal(keep_last(items, workers, 2), [1, 2])


def test_integer_and_string_columns_encode_alike() -> None:
    rng = np.random.default_rng(3)
    items = rng.integers(0, 40, size=300)
    workers = rng.integers(0, 12, size=300)
    labels = rng.integers(0, 3, size=300)
    as_ints = encode_answers(items, workers, labels)
    as_text = encode_answers(
        [f"{i:03d}" for i in items], [f"{w:03d}" for w in workers], [str(lab) for lab in labels]
    )
    np.testing.assert_array_equal(as_ints.item_idx, as_text.item_idx)
    np.testing.assert_array_equal(as_ints.worker_idx, as_text.worker_idx)
    np.testing.assert_array_equal(as_ints.label_idx, as_text.label_idx)
