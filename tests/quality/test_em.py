"""The vectorised EM building blocks against direct per-answer loops."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datafair.quality._em import (
    SPARSE_FROM,
    _sum_rows_by,
    answer_factors,
    answer_matrix,
    item_log_likelihood,
    leave_one_out_vote_counts,
    normalise_log,
    row_max,
    soft_counts,
    sum_rows_by,
)
from datafair.quality._encode import encode_answers
from datafair.quality.skills import counts_and_reference


def _data(seed: int, k: int = 3):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    n = 60
    data = encode_answers(rng.integers(0, 15, n), rng.integers(0, 6, n), rng.integers(0, k, n))
    posteriors = rng.dirichlet(np.ones(data.n_classes), size=data.n_items)
    log_confusion = np.log(
        rng.dirichlet(np.ones(data.n_classes), size=(data.n_workers, data.n_classes))
    )
    return data, posteriors, log_confusion


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000))
def test_sparse_products_match_loops(seed: int) -> None:
    data, posteriors, log_confusion = _data(seed)
    k = data.n_classes
    matrix = answer_matrix(data)
    counts = np.zeros((data.n_workers, k, k))
    likelihood = np.zeros((data.n_items, k))
    loo = np.zeros((data.n_workers, k, k))
    for i, w, label in zip(data.item_idx, data.worker_idx, data.label_idx, strict=True):
        counts[w, :, label] += posteriors[i]
        likelihood[i] += log_confusion[w, :, label]
        without = posteriors[i] / np.exp(log_confusion[w, :, label])
        loo[w, :, label] += without / without.sum()
    np.testing.assert_allclose(soft_counts(matrix, posteriors), counts, atol=1e-12)
    np.testing.assert_allclose(item_log_likelihood(matrix, log_confusion), likelihood, atol=1e-12)
    np.testing.assert_allclose(
        counts_and_reference(data, posteriors, log_confusion)[0], loo, atol=1e-9
    )


def test_leave_one_out_vote_counts_use_the_other_votes() -> None:
    data = encode_answers(["a", "a", "a", "b"], ["u", "v", "w", "u"], ["x", "x", "y", "y"])
    counts = leave_one_out_vote_counts(data, None)
    # u on a: others say x, y → half each; u on b: nobody else → uniform
    np.testing.assert_allclose(counts[0, :, 0], [0.5, 0.5])
    np.testing.assert_allclose(counts[0, :, 1], [0.5, 0.5])
    # w answered y on a, where both others said x
    np.testing.assert_allclose(counts[2, :, 1], [1.0, 0.0])


def test_normalise_log_and_row_max() -> None:
    rng = np.random.default_rng(0)
    for k in (1, 3, 80):
        values = rng.normal(size=(50, k)) * 300
        np.testing.assert_array_equal(row_max(values), values.max(axis=1))
        posteriors, log_norm = normalise_log(values)
        np.testing.assert_allclose(posteriors.sum(axis=1), 1.0)
        np.testing.assert_allclose(
            log_norm, np.log(np.exp(values - values.max(1, keepdims=True)).sum(1)) + values.max(1)
        )


def test_numpy_and_sparse_products_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small inputs use bincount, large ones scipy's CSR products: the same numbers."""
    from datafair.quality import _em

    rng = np.random.default_rng(5)
    n, k = 3000, 4
    data = encode_answers(
        rng.integers(0, 400, n), rng.integers(0, 60, n), rng.integers(0, k, n), classes=range(k)
    )
    posteriors = rng.dirichlet(np.ones(k), data.n_items)
    log_confusion = np.log(rng.dirichlet(np.ones(k), (data.n_workers, k)))
    small = _em.answer_matrix(data)
    monkeypatch.setattr(_em, "SPARSE_FROM", 0)
    large = _em.answer_matrix(data)
    assert small.forward is None and large.forward is not None
    np.testing.assert_allclose(
        _em.soft_counts(small, posteriors), _em.soft_counts(large, posteriors), rtol=1e-13
    )
    np.testing.assert_allclose(
        _em.item_log_likelihood(small, log_confusion),
        _em.item_log_likelihood(large, log_confusion),
        rtol=1e-13,
    )


def test_sum_rows_by_and_answer_factors_are_the_plain_forms() -> None:
    # the CSR path of sum_rows_by adds the same numbers in the same order as one bincount per
    # column (bit for bit), and answer_factors gathers confusion[worker, :, label]
    rng = np.random.default_rng(7)
    n, groups = SPARSE_FROM + 500, 300
    index = rng.integers(0, groups, n)
    values = rng.random((n, 4)) * 10.0 ** rng.integers(-8, 8, (n, 1))
    assert np.array_equal(sum_rows_by(index, values, groups), _sum_rows_by(index, values, groups))
    assert np.array_equal(
        sum_rows_by(index[:50], values[:50], groups), _sum_rows_by(index[:50], values[:50], groups)
    )
    confusion = rng.random((6, 3, 3))
    worker, label = rng.integers(0, 6, 40), rng.integers(0, 3, 40)
    assert np.array_equal(answer_factors(confusion, worker, label), confusion[worker, :, label])
