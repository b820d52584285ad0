"""Majority vote and weighted majority vote on hand-checked cases."""

from __future__ import annotations

import numpy as np

from datafair.quality import MajorityVote, WeightedMajorityVote
from datafair.quality.synthetic import dawid_skene_crowd

from ._data import accuracy


def test_vote_shares_and_ties() -> None:
    est = MajorityVote().fit(
        ["a", "a", "a", "b", "b"], ["w1", "w2", "w3", "w1", "w2"], ["x", "x", "y", "y", "x"]
    )
    np.testing.assert_allclose(est.probas_, [[2 / 3, 1 / 3], [0.5, 0.5]])
    assert est.labels_.tolist() == ["x", "x"]  # a tie takes the first class
    assert est.converged_ and est.loss_history_ == []


def test_weighted_vote_outvotes_spammers() -> None:
    crowd = dawid_skene_crowd(
        n_items=800,
        n_workers=30,
        n_classes=3,
        answers_per_item=5,
        seed=7,
        spammer_share=0.4,
        accuracy=(0.75, 0.95),
    )
    mv = MajorityVote().fit(crowd.items, crowd.workers, crowd.labels)
    wmv = WeightedMajorityVote().fit(crowd.items, crowd.workers, crowd.labels)
    assert accuracy(wmv.labels_, crowd.truth) > accuracy(mv.labels_, crowd.truth) + 0.03
    assert wmv.converged_
    spammer = crowd.kinds[wmv.workers_] == 1
    acc = np.array([s.accuracy for s in wmv.skills_])
    assert acc[spammer].max() < acc[~spammer].min()


def test_weighted_vote_history_records_disagreement() -> None:
    est = WeightedMajorityVote(max_iter=1).fit(["a", "a", "a"], ["w1", "w2", "w3"], ["x", "x", "y"])
    assert est.loss_history_ == [1 / 3]
