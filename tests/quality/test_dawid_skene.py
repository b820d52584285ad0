"""Dawid-Skene and one-coin EM."""

from __future__ import annotations

import numpy as np

from datafair.quality import DawidSkene, MajorityVote, OneCoin
from datafair.quality.synthetic import dawid_skene_crowd

from ._data import accuracy


def _crowd() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    crowd = dawid_skene_crowd(
        n_items=1500, n_workers=10, n_classes=3, answers_per_item=6, seed=3, accuracy=(0.5, 0.9)
    )
    return crowd.items, crowd.workers, crowd.labels, crowd.truth, crowd.confusion


def test_recovers_confusion_matrices() -> None:
    items, workers, labels, truth, confusion = _crowd()
    est = DawidSkene().fit(items, workers, labels)
    for skill in est.skills_:
        expected = confusion[skill.worker]
        assert np.abs(skill.confusion - expected).max() < 0.12
    assert accuracy(est.labels_, truth) > accuracy(
        MajorityVote().fit_predict(items, workers, labels), truth
    )


def test_loss_decreases_monotonically_and_converges() -> None:
    items, workers, labels, _, _ = _crowd()
    est = DawidSkene(tol=1e-9, max_iter=500).fit(items, workers, labels)
    history = np.array(est.loss_history_)
    assert est.converged_
    assert np.all(np.diff(history) <= 1e-12)


def test_max_iter_bounds_the_rounds() -> None:
    items, workers, labels, _, _ = _crowd()
    est = DawidSkene(max_iter=2, tol=0.0).fit(items, workers, labels)
    assert est.n_iter_ == 2 and not est.converged_


def test_one_coin_confusion_has_one_accuracy_per_worker() -> None:
    items, workers, labels, truth, confusion = _crowd()
    est = OneCoin().fit(items, workers, labels)
    for skill in est.skills_:
        diagonal = np.diag(skill.confusion)
        assert np.allclose(diagonal, diagonal[0])
        off = skill.confusion[~np.eye(3, dtype=bool)]
        assert np.allclose(off, (1 - diagonal[0]) / 2)
        assert abs(diagonal[0] - np.diag(confusion[skill.worker]).mean()) < 0.1
    assert accuracy(est.labels_, truth) > 0.85


def test_smoothing_keeps_unseen_confusions_possible() -> None:
    items = ["a", "a", "b", "b"]
    workers = ["w1", "w2", "w1", "w2"]
    est = DawidSkene(smoothing=1.0).fit(items, workers, ["x", "x", "y", "y"])
    for skill in est.skills_:
        assert np.all(skill.confusion > 0)
