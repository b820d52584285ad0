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


def test_ties_go_to_the_more_frequent_class_then_a_seeded_draw() -> None:
    from datafair.quality.majority_vote import break_ties

    # item t1 is tied between x and y; y is given more often overall, so y wins
    items = ["t1", "t1", "t2", "t2", "t2", "t3", "t3", "t3"]
    workers = ["a", "b", "a", "b", "c", "a", "b", "c"]
    labels = ["x", "y", "y", "y", "x", "y", "y", "z"]
    est = MajorityVote().fit(items, workers, labels)
    assert dict(zip(est.items_.tolist(), est.labels_.tolist(), strict=True))["t1"] == "y"
    np.testing.assert_allclose(est.probas_[0], [0.5, 0.5, 0.0])  # the shares stay split
    # equal priors: a seeded draw, the same on every run, and not always the first class
    shares = np.full((200, 2), 0.5)
    first = break_ties(shares, np.array([1.0, 1.0]))
    assert np.array_equal(first, break_ties(shares, np.array([1.0, 1.0])))
    assert 60 < int(first.sum()) < 140
    # a clear majority is never overridden by the prior
    assert break_ties(np.array([[0.6, 0.4]]), np.array([1.0, 100.0])).tolist() == [0]
