"""The synthetic crowd generator."""

from __future__ import annotations

import numpy as np

from datafair.quality.synthetic import ADVERSARY, HONEST, SPAMMER, dawid_skene_crowd


def test_shapes_kinds_and_seed() -> None:
    crowd = dawid_skene_crowd(
        n_items=500,
        n_workers=200,
        n_classes=4,
        answers_per_item=3,
        seed=9,
        spammer_share=0.3,
        adversary_share=0.1,
        chunk=256,
    )
    assert crowd.items.shape == crowd.workers.shape == crowd.labels.shape == (1500,)
    assert crowd.truth.shape == (500,) and set(np.unique(crowd.labels)) <= {0, 1, 2, 3}
    shares = np.bincount(crowd.kinds, minlength=3) / 200
    assert abs(shares[SPAMMER] - 0.3) < 0.08 and abs(shares[ADVERSARY] - 0.1) < 0.06
    np.testing.assert_allclose(crowd.confusion.sum(axis=2), 1.0)
    again = dawid_skene_crowd(
        n_items=500,
        n_workers=200,
        n_classes=4,
        answers_per_item=3,
        seed=9,
        spammer_share=0.3,
        adversary_share=0.1,
    )
    assert np.array_equal(crowd.labels, again.labels)


def test_adversaries_answer_one_class_and_honest_beat_chance() -> None:
    crowd = dawid_skene_crowd(
        n_items=4000, n_workers=20, n_classes=3, answers_per_item=5, seed=1, adversary_share=0.3
    )
    for worker in np.flatnonzero(crowd.kinds == ADVERSARY):
        assert np.unique(crowd.labels[crowd.workers == worker]).shape[0] == 1
    honest = np.isin(crowd.workers, np.flatnonzero(crowd.kinds == HONEST))
    hits = crowd.labels[honest] == crowd.truth[crowd.items[honest]]
    assert 0.6 < hits.mean() < 0.9


def test_activity_skew_makes_most_workers_sparse() -> None:
    crowd = dawid_skene_crowd(
        n_items=2000, n_workers=1000, n_classes=2, answers_per_item=5, activity_skew=1.0
    )
    counts = np.bincount(crowd.workers, minlength=1000)
    assert np.median(counts) < 10 and counts.max() > 100
