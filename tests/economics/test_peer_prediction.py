"""Correlated agreement: score matrix, zero expected score for uninformed reports, determinism,
conservation of the pool, and bad input."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datafair.core.errors import InvalidInput
from datafair.economics import peer_prediction_rewards, score_matrix
from datafair.economics.peer_prediction import DEFAULT_DRAWS, _splitmix


def _truthful_task(
    n_items: int, n_workers: int, accuracy: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every worker answers every item; right with ``accuracy``, else a uniform other class."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 3, size=n_items)
    items = np.repeat(np.arange(n_items), n_workers)
    workers = np.tile(np.arange(n_workers), n_items)
    right = rng.random(items.size) < accuracy
    other = (truth[items] + rng.integers(1, 3, size=items.size)) % 3
    labels = np.where(right, truth[items], other)
    return items, workers, labels, truth


def test_score_matrix_is_the_sign_of_delta() -> None:
    # Two items; on each, the two answers agree: classes are positively self-correlated.
    items = np.array([0, 0, 1, 1], dtype=np.int64)
    labels = np.array([0, 0, 1, 1], dtype=np.int64)
    assert score_matrix(items, labels, 2).tolist() == [[1, 0], [0, 1]]
    # Answers always disagree: only the off-diagonal pairs are positively correlated.
    labels = np.array([0, 1, 1, 0], dtype=np.int64)
    assert score_matrix(items, labels, 2).tolist() == [[0, 1], [1, 0]]
    # No pairs at all: nothing is positively correlated.
    assert score_matrix(np.array([0, 1]), np.array([0, 1]), 2).tolist() == [[0, 0], [0, 0]]


def test_informed_earn_and_uninformed_score_zero_in_expectation() -> None:
    items, workers, labels, _ = _truthful_task(1_200, 6, 0.8, seed=5)
    constant, pattern = 6, 7  # one always answers class 1, one answers item % 3
    all_items = np.concatenate([items, np.arange(1_200), np.arange(1_200)])
    all_workers = np.concatenate([workers, np.full(1_200, constant), np.full(1_200, pattern)])
    all_labels = np.concatenate([labels, np.ones(1_200, dtype=np.int64), np.arange(1_200) % 3])
    result = peer_prediction_rewards(
        all_items, all_workers, all_labels, n_classes=3, pool=10**18, seed=3
    )
    assert result.score_matrix == ((1, 0, 0), (0, 1, 0), (0, 0, 1))
    for worker in (constant, pattern):
        assert abs(result.mean_score(worker)) <= 4 / np.sqrt(result.draws[worker])
        assert result.amounts[worker] <= 10**18 // 100
    # Truthful at 80 % against a truthful peer: P(agree) - P(agree on unrelated items)
    # = (0.8**2 + 0.2**2 / 2) - 1/3; against the two uninformed peers (2 of 7): 0.
    expected = 5 / 7 * (0.8**2 + 0.2**2 / 2 - 1 / 3)
    for worker in range(6):
        assert abs(result.mean_score(worker) - expected) < 0.05
    assert sum(result.amounts[w] for w in range(6)) >= 0.99 * 10**18


def test_same_seed_same_result_and_row_order_is_irrelevant() -> None:
    items, workers, labels, _ = _truthful_task(200, 4, 0.7, seed=1)
    first = peer_prediction_rewards(items, workers, labels, n_classes=3, pool=999_999, seed=9)
    again = peer_prediction_rewards(items, workers, labels, n_classes=3, pool=999_999, seed=9)
    order = np.random.default_rng(0).permutation(items.size)
    shuffled = peer_prediction_rewards(
        items[order], workers[order], labels[order], n_classes=3, pool=999_999, seed=9
    )
    assert first == again == shuffled
    other = peer_prediction_rewards(items, workers, labels, n_classes=3, pool=999_999, seed=10)
    assert other.scores != first.scores  # the seed really drives the pairing


def test_margin_withholds_standard_errors_from_the_summed_score() -> None:
    items, workers, labels, _ = _truthful_task(300, 4, 0.6, seed=2)
    plain = peer_prediction_rewards(items, workers, labels, n_classes=3, pool=10**6, margin=0)
    assert plain.weights == {w: max(score, 0) for w, score in plain.scores.items()}
    cautious = peer_prediction_rewards(items, workers, labels, n_classes=3, pool=10**6)
    assert cautious.scores == plain.scores
    answers = dict(zip(*np.unique(workers, return_counts=True), strict=True))
    for worker, score in cautious.scores.items():
        # An answer's draws sum to between -draws and draws (every draw scores -1, 0 or 1), so
        # the squared sums over answers are at most answers × draws², and some draw scored.
        bound = 2 * DEFAULT_DRAWS * answers[worker] ** 0.5
        assert score - bound <= cautious.weights[worker] < score


def test_without_peers_nothing_is_scored_or_paid() -> None:
    result = peer_prediction_rewards([0, 1, 2], [0, 1, 2], [0, 1, 0], n_classes=2, pool=50)
    assert result.draws == {0: 0, 1: 0, 2: 0}
    assert result.amounts == {0: 0, 1: 0, 2: 0}
    assert (result.earned, result.unearned) == (0, 50)
    assert result.mean_score(0) == 0.0
    empty = peer_prediction_rewards([], [], [], n_classes=2, pool=50)
    assert (empty.amounts, empty.unearned) == ({}, 50)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 6), st.integers(0, 5), st.integers(0, 2)), max_size=50),
    st.integers(0, 10**24),
    st.integers(0, 2**64 - 1),
    st.integers(1, 3),
)
def test_pool_is_conserved(
    rows: list[tuple[int, int, int]], pool: int, seed: int, draws: int
) -> None:
    unique = list({(item, worker): label for item, worker, label in rows}.items())
    items = [item for (item, _), _ in unique]
    workers = [worker for (_, worker), _ in unique]
    labels = [label for _, label in unique]
    result = peer_prediction_rewards(
        items, workers, labels, n_classes=3, pool=pool, seed=seed, draws=draws
    )
    assert result.earned + result.unearned == pool
    assert sum(result.amounts.values()) == result.earned
    assert all(amount >= 0 for amount in result.amounts.values())
    assert result.earned in (0, pool)
    answers = {w: workers.count(w) for w in set(workers)}
    for worker, scored in result.draws.items():
        assert 0 <= scored <= draws * answers[worker]
        assert abs(result.scores[worker]) <= 2 * scored
        assert 0 <= result.weights[worker] <= max(result.scores[worker], 0)
        if result.scores[worker] <= 0:
            assert result.amounts[worker] == 0


GOOD: dict[str, Any] = {"item": [0, 0], "contributor": [0, 1], "label": [0, 1]}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"n_classes": 1}, "n_classes"),
        ({"n_classes": 2.0}, "n_classes"),
        ({"label": [0, 2]}, "label"),
        ({"label": [0]}, "label"),
        ({"contributor": [0, 0]}, "contributor"),
        ({"contributor": [0]}, "contributor"),
        ({"item": [0, -1]}, "item"),
        ({"pool": -1}, "pool"),
        ({"pool": 1.0}, "pool"),
        ({"draws": 0}, "draws"),
        ({"draws": True}, "draws"),
        ({"margin": -1}, "margin"),
        ({"margin": 0.5}, "margin"),
        ({"seed": -1}, "seed"),
        ({"seed": "x"}, "seed"),
    ],
)
def test_bad_input_is_named(change: dict[str, Any], field: str) -> None:
    arguments: dict[str, Any] = {**GOOD, "n_classes": 2, "pool": 10, **change}
    with pytest.raises(InvalidInput) as error:
        peer_prediction_rewards(**arguments)
    assert error.value.field == field


def test_pairing_hash_is_splitmix64() -> None:
    # Reference outputs of SplitMix64 seeded with 0 (Steele, Lea & Flood 2014; the sequence
    # published with Vigna's C implementation): pairing never depends on numpy's generators.
    first = _splitmix(np.array([0], dtype=np.uint64))
    second = _splitmix(np.array([0x9E3779B97F4A7C15], dtype=np.uint64))
    assert int(first[0]) == 0xE220A8397B1DCDAF
    assert int(second[0]) == 0x6E789E6AA1B965F4


def _imbalanced_task(
    n_items: int, minority: float, recalls: list[tuple[float, float]], seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two classes, class 1 with prior ``minority``; worker ``w`` answers every item, right
    with probability ``recalls[w][truth]`` (its recall of that class), else the other class."""
    rng = np.random.default_rng(seed)
    truth = (rng.random(n_items) < minority).astype(np.int64)
    n_workers = len(recalls)
    items = np.repeat(np.arange(n_items), n_workers)
    workers = np.tile(np.arange(n_workers), n_items)
    recall = np.array(recalls)[workers, truth[items]]
    labels = np.where(rng.random(items.size) < recall, truth[items], 1 - truth[items])
    return items, workers, labels


@pytest.mark.parametrize("minority", [0.5, 0.2, 0.05])
def test_constant_reports_score_zero_whatever_the_class_prior(minority: float) -> None:
    n_items = 3_000
    items, workers, labels = _imbalanced_task(n_items, minority, [(0.8, 0.8)] * 5, seed=11)
    majority, rare = 5, 6  # always class 0, always class 1
    result = peer_prediction_rewards(
        np.concatenate([items, np.arange(n_items), np.arange(n_items)]),
        np.concatenate([workers, np.full(n_items, majority), np.full(n_items, rare)]),
        np.concatenate([labels, np.zeros(n_items, dtype=np.int64), np.ones(n_items)]).astype(
            np.int64
        ),
        n_classes=2,
        pool=10**18,
        seed=4,
    )
    # Agreeing with the peer on the shared item is as likely as on unrelated items, however
    # common the constant answer is (without the penalty task, "always class 0" would score
    # P(peer says 0) = 0.2-0.8 per draw here).
    for worker in (majority, rare):
        assert abs(result.mean_score(worker)) < 4 / np.sqrt(n_items)
        assert result.amounts[worker] <= 10**18 // 100


def test_informed_beat_uninformed_on_imbalanced_data() -> None:
    n_items = 2_000
    recalls = [(0.9, 0.9), (0.8, 0.8), (0.7, 0.7), (0.8, 0.8), (0.8, 0.8)]
    items, workers, labels = _imbalanced_task(n_items, 0.2, recalls, seed=7)
    # Random reports with the honest workers' marginal (class 1 about 0.2 * 0.8 + 0.8 * 0.2 of
    # the time): the same answer distribution, no information about the item.
    guesser = len(recalls)
    guesses = (np.random.default_rng(8).random(n_items) < 0.32).astype(np.int64)
    result = peer_prediction_rewards(
        np.concatenate([items, np.arange(n_items)]),
        np.concatenate([workers, np.full(n_items, guesser)]),
        np.concatenate([labels, guesses]),
        n_classes=2,
        pool=10**18,
        seed=1,
    )
    assert result.amounts[guesser] <= 10**18 // 100
    for worker in range(len(recalls)):
        assert result.amounts[worker] > 10 * result.amounts[guesser]
    # more accurate (on every class), more pay
    assert result.amounts[0] > result.amounts[1] > result.amounts[2]


def test_two_class_pay_follows_informedness_not_accuracy() -> None:
    # Both workers are right on 80 % of 80/20 items; the first by recalling both classes at
    # 0.8 (informedness 0.8 + 0.8 - 1 = 0.6), the second by nearly always answering the common
    # class (0.95 and 0.2: informedness 0.15). Any score that pays uninformed reports nothing
    # in expectation must pay a right rare answer 0.8 / 0.2 times a right common one
    # (docs/economics.md, section 9.1): the second earns under a third of the first (expected
    # 0.30 here: informedness times the peers' summed informedness).
    recalls = [(0.8, 0.8), (0.95, 0.2), (0.85, 0.85), (0.85, 0.85), (0.85, 0.85)]
    items, workers, labels = _imbalanced_task(4_000, 0.2, recalls, seed=3)
    result = peer_prediction_rewards(items, workers, labels, n_classes=2, pool=10**18, seed=2)
    ratio = result.mean_score(1) / result.mean_score(0)
    assert 0.1 < ratio < 0.45
