"""Majority vote and iteratively weighted majority vote.

Input columns: item, worker, label (one row per answer), see :mod:`datafair.quality.base`.

``MajorityVote``: each item's posterior is its share of votes; ties stay split and ``labels_``
takes the first tied class.

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

from datafair.quality._em import clamp_gold, vote_shares
from datafair.quality._encode import EncodedAnswers
from datafair.quality.base import CategoricalAggregator, FitOutcome
from datafair.quality.skills import SPAM_THRESHOLD

_MIN_WEIGHT = 1e-3


class MajorityVote(CategoricalAggregator):
    """Plain majority vote: ``probas_`` is each item's share of votes per class."""

    def _fit_encoded(self, data: EncodedAnswers) -> FitOutcome:
        return FitOutcome(vote_shares(data))


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
