"""Majority vote and iteratively weighted majority vote.

Input columns: item, worker, label (one row per answer), see :mod:`datafair.quality.base`.

``MajorityVote``: each item's posterior is its share of votes; ties stay split in ``probas_``.
**Tie rule** for ``labels_``: among the classes tied for the most votes on an item, the class
given most often over the whole answer set wins (the class prior estimated from the answers);
classes still tied are ordered by a random draw with the fixed seed :data:`TIE_SEED` (one
uniform number per item and class, items in sorted order), as crowd-kit breaks ties at random.
The same answers therefore always give the same labels, and no class is favoured by its name.

``WeightedMajorityVote``: votes weighted by each worker's agreement with the current aggregate,
turned into the log-odds weight ``log((K - 1) a / (1 - a))`` that is optimal for independent
voters of accuracy ``a`` (Nitzan & Paroush, "Optimal Decision Rules in Uncertain Dichotomous
Choice Situations", International Economic Review 23, 1982; Li & Yu, "Error Rate Bounds and
Iterative Weighted Majority Voting for Crowdsourcing", arXiv:1411.4086, 2014). Accuracies use a
Beta(1, 1) prior; weights are floored at a small positive value so below-chance workers cannot
flip an item on their own. Iterates until the labels stop changing.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from datafair.quality._em import clamp_gold, vote_shares
from datafair.quality._encode import EncodedAnswers
from datafair.quality.base import CategoricalAggregator, FitOutcome
from datafair.quality.skills import SPAM_THRESHOLD

_MIN_WEIGHT = 1e-3

TIE_SEED = 0
"""Seed of the random draw that orders classes still tied after the class prior."""


def break_ties(shares: NDArray[np.float64], prior: NDArray[np.float64]) -> NDArray[np.intp]:
    """Winning class per item: most votes, then larger ``prior``, then a seeded random draw."""
    n, k = shares.shape
    top = shares.max(axis=1, keepdims=True)
    tied = np.isclose(shares, top, rtol=0.0, atol=1e-12)
    rank_prior = np.searchsorted(np.unique(prior), prior)  # 0 = rarest; equal priors tie
    draw = np.random.default_rng(TIE_SEED).random((n, k))
    key = np.where(tied, rank_prior[None, :] + draw, -1.0)
    chosen: NDArray[np.intp] = np.argmax(key, axis=1).astype(np.intp)
    return chosen


class MajorityVote(CategoricalAggregator):
    """Plain majority vote: ``probas_`` is each item's share of votes per class; ties in
    ``labels_`` follow the rule in the module doc."""

    def _fit_encoded(self, data: EncodedAnswers) -> FitOutcome:
        shares = vote_shares(data)
        prior = np.bincount(data.label_idx, minlength=data.n_classes).astype(np.float64)
        return FitOutcome(shares, labels=break_ties(shares, prior))


class WeightedMajorityVote(CategoricalAggregator):
    """Iterative weighted majority vote with log-odds weights from agreement (see module doc).

    ``max_iter`` bounds the rounds; ``loss_history_`` holds the fraction of answers that
    disagree with the aggregate after each round.
    """

    def __init__(self, *, max_iter: int = 20, spam_threshold: float = SPAM_THRESHOLD) -> None:
        super().__init__(spam_threshold=spam_threshold)
        self.max_iter = max_iter

    def _fit_encoded(self, data: EncodedAnswers) -> FitOutcome:
        k = data.n_classes
        posteriors = clamp_gold(vote_shares(data), data.gold)
        hard = np.argmax(posteriors, axis=1)
        n_answers = np.bincount(data.worker_idx, minlength=data.n_workers).astype(np.float64)
        history: list[float] = []
        converged = False
        for _ in range(self.max_iter):
            agree = (data.label_idx == hard[data.item_idx]).astype(np.float64)
            correct = np.bincount(data.worker_idx, weights=agree, minlength=data.n_workers)
            accuracy = (correct + 1.0) / (n_answers + 2.0)
            if k > 1:
                weights = np.log((k - 1) * accuracy / (1.0 - accuracy))
            else:
                weights = np.ones(data.n_workers)
            weights = np.maximum(weights, _MIN_WEIGHT)
            posteriors = clamp_gold(vote_shares(data, weights), data.gold)
            new_hard = np.argmax(posteriors, axis=1)
            disagree = float(np.mean(data.label_idx != new_hard[data.item_idx]))
            history.append(disagree)
            if np.array_equal(new_hard, hard):
                converged = True
                break
            hard = new_hard
        return FitOutcome(
            posteriors, vote_weights=weights, history=tuple(history), converged=converged
        )
