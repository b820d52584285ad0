"""Candidate worker models: held-out probabilities equal a refit without the answer."""

from __future__ import annotations

import numpy as np
import pytest

from datafair.quality.auto import CANDIDATES, build_candidate
from datafair.quality.candidates import CommunityModel


@pytest.mark.parametrize("name", CANDIDATES)
def test_held_out_equals_the_model_without_that_share(name: str) -> None:
    """Leave-one-answer-out in closed form: the worker's parameters from the counts less the
    answer's share; the crowd-level prior (pooled over 40 workers) is held fixed, so the
    comparison with a full recomputation agrees to the size of one answer in the pool."""
    rng = np.random.default_rng(0)
    w, k, n = 40, 3, 5
    counts = rng.gamma(2.0, 2.0, size=(w, k, k))
    model = build_candidate(name)
    model(counts, counts.sum(axis=(0, 2)))  # fixes community membership, like an M-step
    worker = rng.integers(0, w, size=n)
    label = rng.integers(0, k, size=n)
    share = rng.dirichlet(np.ones(k), size=n)
    held = model.held_out(counts, worker, label, share)
    for row in range(n):
        reduced = counts.copy()
        reduced[worker[row], :, label[row]] -= share[row]
        if isinstance(model, CommunityModel):  # community matrices pooled from the full counts
            assert model.members is not None
            alpha = model._community_alpha(counts, model.members)[model.members]
            post = reduced + alpha
            expected = post[worker[row], :, label[row]] / post[worker[row]].sum(axis=1)
            np.testing.assert_allclose(held[row], expected, rtol=1e-9)
        else:
            expected = model.confusion(reduced)[worker[row], :, label[row]]
            np.testing.assert_allclose(held[row], expected, rtol=2e-3)
        if model.per_worker:  # the answer's own share visibly moves its worker's parameters
            own = model.confusion(counts)[worker[row], :, label[row]]
            assert not np.allclose(held[row], own, rtol=1e-6, atol=0.0)


def test_confusion_rows_sum_to_one() -> None:
    rng = np.random.default_rng(1)
    counts = rng.gamma(1.0, 3.0, size=(8, 4, 4))
    for name in CANDIDATES:
        model = build_candidate(name)
        model(counts, counts.sum(axis=(0, 2)))
        np.testing.assert_allclose(model.confusion(counts).sum(axis=2), 1.0)
