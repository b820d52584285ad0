"""Pay on simulated crowds: spam earns nothing, pay per answer follows true accuracy.

Crowds come from :func:`datafair.sim.make_population` (skilled accuracy 0.75-0.95, careless
0.45-0.65, uniform spammers, constant-answer adversaries). ``p_correct`` is the exact posterior
of the generating Dawid-Skene model (the true confusion matrices and class prior), and spammers
are flagged with the rank-one Bayes-factor test of Raykar & Yu (JMLR 2012) on soft confusion
counts, so the test measures the pay rule, not an inference method.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy.special import gammaln
from scipy.stats import spearmanr

from datafair.economics import (
    DEFAULT_FEE_BPS,
    AnswerColumns,
    peer_prediction_rewards,
    quality_weighted_rewards,
    split_payout,
)
from datafair.sim import ContributorKind, make_population
from datafair.sim.population import Population

PRICE = 10**16  # 0.01 token at 18 decimals
UNINFORMED = (ContributorKind.SPAMMER, ContributorKind.ADVERSARY)


@dataclass
class Crowd:
    population: Population
    items: NDArray[np.int64]
    workers: NDArray[np.int64]
    labels: NDArray[np.int64]
    truth: NDArray[np.int64]


def _crowd(
    seed: int, n_items: int = 1_500, overlap: int = 5, prior: list[float] | None = None
) -> Crowd:
    population = make_population(4, seed=seed)
    rng = np.random.default_rng(seed + 1_000)
    n_workers = len(population.contributors)
    truth = rng.choice(4, size=n_items, p=prior)
    workers = np.argsort(rng.random((n_items, n_workers)), axis=1)[:, :overlap].ravel()
    items = np.repeat(np.arange(n_items), overlap)
    labels = population.answers(workers, truth[items])
    return Crowd(population, items, workers.astype(np.int64), labels, truth)


def _posteriors(crowd: Crowd) -> NDArray[np.float64]:
    """P(true class | answers) under the generating model (uniform class prior)."""
    confusion = np.stack([c.confusion for c in crowd.population.contributors])
    log_like = np.log(np.clip(confusion[crowd.workers, :, crowd.labels], 1e-12, None))
    log_post = np.zeros((crowd.truth.size, 4))
    np.add.at(log_post, crowd.items, log_like)
    log_post -= log_post.max(axis=1, keepdims=True)
    post = np.exp(log_post)
    result: NDArray[np.float64] = post / post.sum(axis=1, keepdims=True)
    return result


def _spam_flags(crowd: Crowd, posteriors: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Raykar & Yu's spammer test: one answer distribution for all classes vs one per class."""
    n_workers = len(crowd.population.contributors)
    counts = np.zeros((n_workers, 4, 4))
    for worker, label, posterior in zip(
        crowd.workers, crowd.labels, posteriors[crowd.items], strict=True
    ):
        counts[worker, :, label] += posterior

    def log_evidence(alpha: NDArray[np.float64]) -> NDArray[np.float64]:
        value: NDArray[np.float64] = gammaln(alpha).sum(-1) - gammaln(alpha.sum(-1))
        flat: float = float(gammaln(np.ones(4)).sum() - gammaln(4.0))
        return value - flat

    dependent = log_evidence(counts + 1.0).sum(axis=1)
    independent = log_evidence(counts.sum(axis=1) + 1.0)
    flags: NDArray[np.bool_] = independent > dependent
    return flags


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_quality_pay_excludes_spam_and_follows_accuracy(seed: int) -> None:
    crowd = _crowd(seed)
    posteriors = _posteriors(crowd)
    flags = _spam_flags(crowd, posteriors)
    p_correct = posteriors[crowd.items, crowd.labels]
    result = quality_weighted_rewards(
        AnswerColumns(crowd.items, crowd.workers, p_correct, is_spam=flags[crowd.workers]),
        price_per_answer=PRICE,
    )
    payout = split_payout(result.budget, result.by_contributor, DEFAULT_FEE_BPS)
    contributors = crowd.population.contributors
    n_answers = np.bincount(crowd.workers, minlength=len(contributors))
    pay_per_answer = np.array([payout.amounts.get(c.index, 0) for c in contributors]) / n_answers
    accuracy = np.array([c.accuracy for c in contributors])
    uninformed = sum(payout.amounts.get(c.index, 0) for c in contributors if c.kind in UNINFORMED)

    assert uninformed / payout.total <= 0.01
    assert spearmanr(pay_per_answer, accuracy).statistic >= 0.9
    assert payout.total / (payout.total + payout.fee) >= 0.95
    assert payout.total + payout.fee + payout.unearned == result.budget


def test_quality_pay_without_spam_flags_still_ranks_by_accuracy() -> None:
    crowd = _crowd(3)
    posteriors = _posteriors(crowd)
    p_correct = posteriors[crowd.items, crowd.labels]
    result = quality_weighted_rewards(
        AnswerColumns(crowd.items, crowd.workers, p_correct), price_per_answer=PRICE
    )
    contributors = crowd.population.contributors
    by_kind = {
        kind: np.mean([result.by_contributor[c.index] for c in contributors if c.kind is kind])
        for kind in ContributorKind
    }
    # Without flags an uninformed answer is right by chance (1 in 4) and earns like it;
    # informed contributors still earn several times more.
    assert by_kind[ContributorKind.SKILLED] > by_kind[ContributorKind.CARELESS]
    assert by_kind[ContributorKind.CARELESS] > 1.5 * by_kind[ContributorKind.SPAMMER]


def test_peer_prediction_pays_informed_contributors_only() -> None:
    # A skewed class prior makes "always the majority class" tempting; CA must not reward it.
    crowd = _crowd(4, n_items=2_000, prior=[0.55, 0.15, 0.15, 0.15])
    contributors = crowd.population.contributors
    majority = len(contributors)  # one more contributor who always answers class 0
    extra_items = np.arange(0, crowd.truth.size, 2)
    items = np.concatenate([crowd.items, extra_items])
    workers = np.concatenate([crowd.workers, np.full(extra_items.size, majority)])
    labels = np.concatenate([crowd.labels, np.zeros(extra_items.size, dtype=np.int64)])
    pool = PRICE * items.size
    result = peer_prediction_rewards(items, workers, labels, n_classes=4, pool=pool, seed=11)

    assert result.earned == pool
    uninformed = [c.index for c in contributors if c.kind in UNINFORMED] + [majority]
    informed = [c.index for c in contributors if c.kind not in UNINFORMED]
    for worker in uninformed:
        # Mean score near 0: within 4 standard errors of a score in [-1, 1].
        assert abs(result.mean_score(worker)) <= 4 / np.sqrt(result.draws[worker])
    assert all(result.mean_score(worker) > 0.05 for worker in informed)
    assert sum(result.amounts[w] for w in uninformed) <= 0.01 * pool
    skilled = [
        result.mean_score(c.index) for c in contributors if c.kind is ContributorKind.SKILLED
    ]
    careless = [
        result.mean_score(c.index) for c in contributors if c.kind is ContributorKind.CARELESS
    ]
    assert np.mean(skilled) > np.mean(careless)
