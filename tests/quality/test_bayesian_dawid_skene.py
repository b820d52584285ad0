"""Bayesian Dawid-Skene: sparse crowds, calibration, priors."""

from __future__ import annotations

import numpy as np
import pytest

from datafair.quality import BayesianDawidSkene, DawidSkene, MajorityVote
from datafair.quality.synthetic import dawid_skene_crowd

from ._data import accuracy, expected_calibration_error


def _sparse(seed: int):  # type: ignore[no-untyped-def]
    return dawid_skene_crowd(
        n_items=1500, n_workers=800, n_classes=3, answers_per_item=5, seed=seed, activity_skew=1.0
    )


@pytest.mark.parametrize("seed", [0, 1])
def test_sparse_crowd_beats_plain_dawid_skene_and_majority(seed: int) -> None:
    crowd = _sparse(seed)
    n = np.bincount(crowd.workers)
    assert np.median(n[n > 0]) < 10  # most workers give few answers
    truth = crowd.truth
    auto = accuracy(
        BayesianDawidSkene().fit_predict(crowd.items, crowd.workers, crowd.labels), truth
    )
    ds = accuracy(DawidSkene().fit_predict(crowd.items, crowd.workers, crowd.labels), truth)
    mv = accuracy(MajorityVote().fit_predict(crowd.items, crowd.workers, crowd.labels), truth)
    assert auto >= ds and auto >= mv


def test_posteriors_are_calibrated_on_synthetic_data() -> None:
    crowd = dawid_skene_crowd(n_items=3000, n_workers=60, n_classes=4, answers_per_item=4, seed=5)
    est = BayesianDawidSkene().fit(crowd.items, crowd.workers, crowd.labels)
    assert expected_calibration_error(est.probas_, crowd.truth[est.items_]) < 0.05


def test_few_answer_worker_is_shrunk_toward_the_crowd() -> None:
    crowd = dawid_skene_crowd(n_items=600, n_workers=12, n_classes=2, answers_per_item=5, seed=2)
    items = np.concatenate([crowd.items, [0, 1]])
    workers = np.concatenate([crowd.workers, [999, 999]])
    truth = crowd.truth
    labels = np.concatenate([crowd.labels, [truth[0], 1 - truth[1]]])
    est = BayesianDawidSkene().fit(items, workers, labels)
    newcomer = est.skills_[-1]
    assert newcomer.worker == 999 and newcomer.n_answers == 2
    crowd_mean = np.mean([s.confusion for s in est.skills_[:-1]], axis=0)
    assert newcomer.high - newcomer.low > 0.4
    flat = BayesianDawidSkene(prior="flat").fit(items, workers, labels).skills_[-1]
    assert np.abs(newcomer.confusion - crowd_mean).sum() < np.abs(flat.confusion - crowd_mean).sum()
    assert np.all(flat.confusion > 0.2)  # Laplace: one answer per row cannot reach certainty


def test_prior_strength_zero_is_jeffreys_everywhere() -> None:
    crowd = dawid_skene_crowd(n_items=200, n_workers=8, n_classes=2, answers_per_item=4, seed=4)
    est = BayesianDawidSkene(prior_strength=0.0).fit(crowd.items, crowd.workers, crowd.labels)
    assert accuracy(est.labels_, crowd.truth) > 0.85


def test_unknown_prior_is_rejected() -> None:
    with pytest.raises(ValueError, match="prior must be"):
        BayesianDawidSkene(prior="wide")  # type: ignore[arg-type]


def test_predictive_scores_are_better_calibrated_than_mean_field_on_thin_data() -> None:
    crowd = dawid_skene_crowd(
        n_items=1500, n_workers=300, n_classes=5, answers_per_item=3, seed=0, accuracy=(0.3, 0.7)
    )
    truth = crowd.truth
    mean = BayesianDawidSkene().fit(crowd.items, crowd.workers, crowd.labels)
    field = BayesianDawidSkene(inference="variational").fit(
        crowd.items, crowd.workers, crowd.labels
    )
    assert mean.get_params()["inference"] == "mean"
    assert expected_calibration_error(mean.probas_, truth) < expected_calibration_error(
        field.probas_, truth
    )
    assert accuracy(mean.labels_, truth) >= accuracy(
        MajorityVote().fit_predict(crowd.items, crowd.workers, crowd.labels), truth
    )


def test_unknown_inference_is_rejected() -> None:
    with pytest.raises(ValueError, match="inference must be"):
        BayesianDawidSkene(inference="gibbs")  # type: ignore[arg-type]
