"""``auto``: each candidate wins on a crowd drawn from its own model; calibration; determinism."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from datafair.quality import get_aggregator
from datafair.quality._em import answer_matrix, vote_shares
from datafair.quality._encode import encode_answers
from datafair.quality.auto import CANDIDATES, AutoAggregator, build_candidate
from datafair.quality.calibration import expected_calibration_error
from datafair.quality.selection import fit_candidate, tempered_posteriors
from datafair.quality.synthetic import dawid_skene_crowd

Crowd = tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]


def _draw(confusions: list[NDArray[np.float64]], n_items: int, per_item: int, seed: int) -> Crowd:
    """Items with a uniform true class, each answered by ``per_item`` distinct workers."""
    rng = np.random.default_rng(seed)
    k = confusions[0].shape[0]
    truth = rng.integers(0, k, size=n_items)
    items, workers, labels = [], [], []
    for item in range(n_items):
        for worker in rng.choice(len(confusions), size=per_item, replace=False):
            items.append(item)
            workers.append(int(worker))
            labels.append(int(rng.choice(k, p=confusions[worker][truth[item]])))
    return np.array(items), np.array(workers), np.array(labels), truth


def _symmetric(accuracy: float, k: int) -> NDArray[np.float64]:
    table = np.full((k, k), (1.0 - accuracy) / (k - 1))
    np.fill_diagonal(table, accuracy)
    return table


def _per_class(accuracies: NDArray[np.float64]) -> NDArray[np.float64]:
    k = accuracies.shape[0]
    table = np.repeat(((1.0 - accuracies) / (k - 1))[:, None], k, axis=1)
    np.fill_diagonal(table, accuracies)
    return table


def _biased(k: int, rng: np.random.Generator) -> NDArray[np.float64]:
    """A worker with their own pattern of confusions (a full Dawid-Skene matrix)."""
    table = np.zeros((k, k))
    for c in range(k):
        table[c] = 0.45 * rng.dirichlet(np.full(k, 0.3))
        table[c, c] += 0.55
    return table


def _community(pairs: list[tuple[int, int]], k: int) -> NDArray[np.float64]:
    """A community that confuses each class with one partner class."""
    table = np.full((k, k), 0.02)
    for c, partner in pairs:
        table[c, c] += 0.75
        table[c, partner] += 0.25
    normalised: NDArray[np.float64] = table / table.sum(axis=1, keepdims=True)
    return normalised


def _crowd_for(model: str) -> Crowd:
    rng = np.random.default_rng(1)
    if model == "majority":
        return _draw([_symmetric(0.7, 3)] * 20, 600, 5, seed=0)
    if model == "one-coin":
        return _draw([_symmetric(a, 3) for a in np.linspace(0.35, 0.95, 20)], 600, 5, seed=0)
    if model == "class-one-coin":
        return _draw([_per_class(rng.uniform(0.3, 0.95, size=4)) for _ in range(20)], 800, 5, 0)
    if model == "dawid-skene":
        return _draw([_biased(4, rng) for _ in range(15)], 1500, 5, seed=0)
    first = _community([(0, 1), (1, 0), (2, 3), (3, 2)], 4)
    second = _community([(0, 3), (1, 2), (2, 1), (3, 0)], 4)
    return _draw([first] * 150 + [second] * 150, 1000, 5, seed=0)


@pytest.mark.slow
@pytest.mark.parametrize(
    "model", ["majority", "one-coin", "class-one-coin", "dawid-skene", "community"]
)
def test_each_model_wins_on_a_crowd_drawn_from_it(model: str) -> None:
    """Two communities of workers, 1,000 items: a community model (2 or 3 groups) wins."""
    items, workers, labels, truth = _crowd_for(model)
    est = AutoAggregator().fit(items, workers, labels)
    winner = est.selection_.winner
    assert winner == model or winner.startswith(f"{model}-"), est.selection_.reason()
    assert winner in {name for name, _, _ in est.selection_.scores}
    assert np.mean(est.labels_ == truth[est.items_]) > 0.85


def test_calibrated_on_a_synthetic_crowd_with_known_truth() -> None:
    crowd = dawid_skene_crowd(n_items=3000, n_workers=60, n_classes=3, answers_per_item=3, seed=5)
    est = get_aggregator("auto").fit(crowd.items, crowd.workers, crowd.labels)
    truth = crowd.truth[est.items_]
    accuracy = float(np.mean(est.labels_ == truth))
    assert 0.6 < accuracy < 0.99  # hard enough that confidence is informative
    assert expected_calibration_error(est.probas_, truth, bins=10) <= 0.05
    assert abs(float(est.probas_.max(axis=1).mean()) - accuracy) <= 0.05


def test_tempering_softens_overconfident_posteriors_of_correlated_answers() -> None:
    """Hard items fool several workers at once: the chosen temperature is below one and the
    tempered confidences are closer to the accuracy than the plain model's."""
    rng = np.random.default_rng(3)
    n_items, k = 1500, 2
    truth = rng.integers(0, k, size=n_items)
    hard = rng.random(n_items) < 0.25
    items, workers, labels = [], [], []
    for item in range(n_items):
        lure = 1 - truth[item]
        for worker in rng.choice(30, size=7, replace=False):
            if hard[item]:
                answer = lure if rng.random() < 0.6 else truth[item]
            else:
                answer = truth[item] if rng.random() < 0.85 else lure
            items.append(item)
            workers.append(int(worker))
            labels.append(int(answer))
    est = AutoAggregator().fit(items, workers, labels)
    assert est.selection_.temperature < 0.95
    data = encode_answers(items, workers, labels)
    plain = fit_candidate(
        data,
        answer_matrix(data),
        vote_shares(data),
        build_candidate(est.selection_.winner),
        max_iter=100,
        tol=1e-6,
    )
    known = truth[est.items_]
    tempered_ece = expected_calibration_error(est.probas_, known)
    plain_ece = expected_calibration_error(tempered_posteriors(plain, 1.0), known)
    assert tempered_ece < plain_ece


def test_deterministic_and_recorded() -> None:
    crowd = dawid_skene_crowd(n_items=400, n_workers=25, n_classes=4, answers_per_item=4, seed=9)
    first = AutoAggregator().fit(crowd.items, crowd.workers, crowd.labels)
    second = AutoAggregator().fit(crowd.items, crowd.workers, crowd.labels)
    np.testing.assert_array_equal(first.probas_, second.probas_)
    assert first.selection_ == second.selection_
    record = first.selection_.as_dict()
    assert record["winner"] in CANDIDATES
    assert set(record["held_out_per_answer_by_model"]) == set(CANDIDATES)  # type: ignore[arg-type]
    # 4 answers per item: no item has 3 in each worker half, so nothing to compare
    assert record["split_half_agreement_by_model"] == {}
    crowd = dawid_skene_crowd(n_items=300, n_workers=25, n_classes=4, answers_per_item=8, seed=9)
    record = AutoAggregator().fit(crowd.items, crowd.workers, crowd.labels).selection_.as_dict()
    assert set(record["split_half_agreement_by_model"]) == set(CANDIDATES)  # type: ignore[arg-type]
    assert first.selection_.winner in first.selection_.reason()


def test_gold_is_clamped_and_enters_the_held_out_score() -> None:
    crowd = dawid_skene_crowd(n_items=300, n_workers=20, n_classes=3, answers_per_item=5, seed=2)
    gold = {int(i): int(crowd.truth[i]) for i in range(0, 300, 10)}
    est = AutoAggregator().fit(crowd.items, crowd.workers, crowd.labels, gold=gold)
    for item, label in gold.items():
        assert est.probas_[item, label] == 1.0 and est.labels_[item] == label
    assert est.selection_.held_out.gold < 0.0


def test_two_classes_skip_the_class_one_coin_duplicate_and_bad_names_fail() -> None:
    crowd = dawid_skene_crowd(n_items=200, n_workers=10, n_classes=2, answers_per_item=3, seed=1)
    est = AutoAggregator().fit(crowd.items, crowd.workers, crowd.labels)
    assert "class-one-coin" not in {name for name, _, _ in est.selection_.scores}
    with pytest.raises(ValueError, match="unknown candidate"):
        AutoAggregator(candidates=("glad",))
    with pytest.raises(ValueError, match="at least one"):
        AutoAggregator(candidates=())


def test_auto_with_the_previous_auto_parameters_rebuilds_that_model() -> None:
    from datafair.quality import BayesianDawidSkene

    legacy = get_aggregator("auto", prior="crowd", prior_strength=None, inference="mean")
    assert isinstance(legacy, BayesianDawidSkene)
    assert isinstance(get_aggregator("auto"), AutoAggregator)


def test_a_sampled_comparison_refits_the_winner_on_every_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Above the sample size the winner is refitted from its sample fit's posteriors: the
    labels are those of the winner fitted on every answer from the vote."""
    from datafair.quality import selection

    crowd = dawid_skene_crowd(n_items=1500, n_workers=30, n_classes=3, answers_per_item=4, seed=5)
    monkeypatch.setattr(selection, "SELECTION_ANSWERS", 2_000)
    est = AutoAggregator()
    est.detect_dependence = False
    est.fit(crowd.items, crowd.workers, crowd.labels)
    assert 2_000 <= est.selection_.sampled_answers < crowd.items.shape[0]
    data = encode_answers(crowd.items, crowd.workers, crowd.labels)
    direct = AutoAggregator(candidates=(est.selection_.winner,))
    direct.detect_dependence = False
    monkeypatch.setattr(selection, "SELECTION_ANSWERS", 10**9)
    direct.fit(crowd.items, crowd.workers, crowd.labels)
    assert data.n_items == est.labels_.shape[0]
    agree = float(np.mean(est.labels_ == direct.labels_))
    assert agree >= 0.995
    accuracy = float(np.mean(est.labels_ == crowd.truth[est.items_]))
    assert accuracy >= float(np.mean(direct.labels_ == crowd.truth[direct.items_])) - 0.005
