"""Pairwise preferences: Bradley-Terry with worker reliability (CrowdBT)."""

from __future__ import annotations

import numpy as np
import pytest

from datafair.core.errors import InvalidInput
from datafair.quality import PreferenceAggregator


def _crowd(seed: int = 0):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    strength = rng.normal(0.0, 1.5, 30)
    items, workers, answers, pairs = [], [], [], {}
    for item in range(300):
        a, b = rng.choice(30, 2, replace=False)
        pairs[item] = (f"r{a}", f"r{b}")
        p_a = 1.0 / (1.0 + np.exp(-(strength[a] - strength[b])))
        for w in rng.choice(10, 5, replace=False):
            if w >= 7:  # coin flipper
                side = "a" if rng.random() < 0.5 else "b"
            elif w == 6:  # adversary: reverses their real opinion
                side = "b" if rng.random() < p_a else "a"
            else:
                side = "a" if rng.random() < p_a else "b"
            items.append(item)
            workers.append(f"w{w}")
            answers.append(side)
    return items, workers, answers, pairs, strength


def test_recovers_strengths_and_reliabilities() -> None:
    items, workers, answers, pairs, strength = _crowd()
    est = PreferenceAggregator().fit(items, workers, answers, pairs=pairs)
    scores = dict(zip(est.entities_.tolist(), est.scores_, strict=True))
    fitted = [scores[f"r{k}"] for k in range(30)]
    assert np.corrcoef(fitted, strength)[0, 1] > 0.9
    truth = ["a" if strength[int(a[1:])] > strength[int(b[1:])] else "b" for a, b in pairs.values()]
    assert np.mean(np.array(est.labels_) == np.array(truth)) > 0.9
    eta = dict(zip(est.workers_.tolist(), est.reliabilities_, strict=True))
    assert eta["w6"] < 0.2 and all(eta[f"w{w}"] > 0.8 for w in range(6))
    assert est.is_spammer_.tolist() == [False] * 6 + [True] * 4  # the adversary earns nothing
    assert est.converged_ and np.all(np.diff(est.loss_history_) <= 1e-9)
    np.testing.assert_allclose(est.probas_.sum(axis=1), 1.0)


def test_without_pairs_each_item_is_its_own_comparison() -> None:
    est = PreferenceAggregator().fit(
        ["q1", "q1", "q1", "q2"], ["u", "v", "w", "u"], ["a", "a", "b", "B"]
    )
    assert est.labels_ == ["a", "b"]
    assert est.entities_.shape == (4,)


@pytest.mark.parametrize("answer", ["c", "", 1])
def test_bad_side_is_rejected(answer: object) -> None:
    with pytest.raises(InvalidInput, match="expected 'a' or 'b'"):
        PreferenceAggregator().fit(["q"], ["u"], [answer])  # type: ignore[list-item]


def test_missing_or_degenerate_pair_is_rejected() -> None:
    with pytest.raises(InvalidInput, match="has no pair"):
        PreferenceAggregator().fit(["q1", "q2"], ["u", "u"], ["a", "b"], pairs={"q1": ("x", "y")})
    with pytest.raises(InvalidInput, match="two different things"):
        PreferenceAggregator().fit(["q1"], ["u"], ["a"], pairs={"q1": ("x", "x")})
