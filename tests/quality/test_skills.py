"""Worker skills, credible intervals and the spam flag used for pay."""

from __future__ import annotations

import numpy as np
import pytest

from datafair.quality import SPAM_THRESHOLD, get_aggregator
from datafair.quality.skills import beta_summary, deattenuate, spam_competence, spam_scores
from datafair.quality.synthetic import ADVERSARY, SPAMMER, dawid_skene_crowd


def test_beta_summary_matches_the_beta_distribution() -> None:
    mean, low, high = beta_summary(np.array([8.0, 0.0]), np.array([10.0, 0.0]))
    assert mean[0] == pytest.approx(9 / 12)
    assert mean[1] == pytest.approx(0.5)
    assert low[1] == pytest.approx(0.025) and high[1] == pytest.approx(0.975)
    assert 0.4 < low[0] < mean[0] < high[0] < 0.97


def test_spam_score_separates_rank_one_from_diagonal_counts() -> None:
    uniform = np.full((4, 4), 10.0)  # answers ignore the truth
    constant = np.zeros((4, 4))
    constant[:, 2] = 10.0  # always answers class 2
    honest = np.diag([10.0] * 4) + 1.0
    scores = spam_scores(np.stack([uniform, constant, honest, np.zeros((4, 4))]))
    # the prior's extra diagonal answer keeps 40 constant answers a little short of certainty
    assert scores[0] > 0.99 and scores[1] > 0.85 and scores[2] < 0.01
    assert scores[3] < SPAM_THRESHOLD  # no answers: the prior does not flag


@pytest.mark.parametrize("method", ["auto", "ds", "wmv"])
def test_spammers_with_enough_answers_are_flagged(method: str) -> None:
    crowd = dawid_skene_crowd(
        n_items=1500,
        n_workers=60,
        n_classes=5,
        answers_per_item=6,
        seed=11,
        spammer_share=0.3,
        adversary_share=0.1,
        accuracy=(0.6, 0.95),
    )
    est = get_aggregator(method).fit(crowd.items, crowd.workers, crowd.labels)
    kinds = crowd.kinds[est.workers_]
    n = np.array([s.n_answers for s in est.skills_])
    judged = n >= 20
    bad = (kinds == SPAMMER) | (kinds == ADVERSARY)
    flagged = est.is_spammer_
    assert (bad & judged).sum() >= 15 and (kinds[judged] == ADVERSARY).any()
    precision = (flagged & bad & judged).sum() / max((flagged & judged).sum(), 1)
    recall = (flagged & bad & judged).sum() / (bad & judged).sum()
    assert precision >= 0.95 and recall >= 0.95


def test_newcomer_is_not_flagged() -> None:
    items = [i for i in range(30) for _ in range(3)] + [0]
    workers = ["a", "b", "c"] * 30 + ["new"]
    labels = [i % 2 for i in range(30) for _ in range(3)] + [0]
    est = get_aggregator("auto").fit(items, workers, labels)
    newcomer = est.skills_[-1]
    assert newcomer.worker == "new" and newcomer.spam_score < SPAM_THRESHOLD
    assert not est.is_spammer_[-1]


def test_threshold_is_a_parameter() -> None:
    crowd = dawid_skene_crowd(n_items=200, n_workers=10, n_classes=2, answers_per_item=3)
    strict = get_aggregator("auto", spam_threshold=0.0).fit(
        crowd.items, crowd.workers, crowd.labels
    )
    assert strict.is_spammer_.all()
    assert strict.get_params()["spam_threshold"] == 0.0


def test_the_spam_line_is_halfway_to_the_weakest_honest_worker_on_any_number_of_classes() -> None:

    assert spam_competence(2) == pytest.approx(0.15)
    assert spam_competence(3) == pytest.approx(0.2375)
    assert spam_competence(10) == pytest.approx(0.5 * (0.65 - 0.1) / 0.9)


def test_deattenuate_undoes_the_reference_errors_and_leaves_spammers_at_zero() -> None:

    reference = np.array([[0.9, 0.1], [0.25, 0.75]])  # how the reference reads classes 0, 1
    honest = np.array([[240.0, 80.0], [24.0, 56.0]])  # κ = 0.75 + 0.7 − 1 = 0.45
    spammer = np.array([[160.0, 160.0], [40.0, 40.0]])  # κ = 0
    measured = np.stack([reference.T @ honest, reference.T @ spammer])
    corrected, inflation = deattenuate(measured, np.stack([reference, reference]))
    np.testing.assert_allclose(corrected, np.stack([honest, spammer]), atol=1e-9)

    def kappa(counts: np.ndarray) -> float:
        rows = counts / counts.sum(axis=1, keepdims=True)
        return float(np.trace(rows) - 1.0)

    assert kappa(measured[0]) < kappa(honest) - 0.1  # the shrinkage being undone
    assert kappa(corrected[1]) == pytest.approx(0.0, abs=1e-9)
    assert np.all(inflation > 1.0)
    # an uninformative reference is not inverted
    flat = np.full((1, 2, 2), 0.5)
    kept, one = deattenuate(measured[:1], flat)
    np.testing.assert_array_equal(kept, measured[:1])
    assert one.tolist() == [1.0]
