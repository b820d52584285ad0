"""Every categorical aggregator, through the same contract."""

from __future__ import annotations

import numpy as np
import pytest

from datafair.quality import METHODS, MajorityVote, WorkerSkill, get_aggregator
from datafair.quality.base import CategoricalAggregator

from ._data import accuracy, small_crowd


@pytest.mark.parametrize("method", METHODS)
def test_fit_contract_and_accuracy(method: str) -> None:
    crowd = small_crowd()
    est = get_aggregator(method)
    assert isinstance(est, CategoricalAggregator)
    assert est.fit(crowd.items, crowd.workers, crowd.labels) is est

    n_items, k = 300, 3
    assert est.items_.tolist() == list(range(n_items))
    assert est.classes_.tolist() == [0, 1, 2]
    assert est.probas_.shape == (n_items, k) and est.probas_.dtype == np.float64
    np.testing.assert_allclose(est.probas_.sum(axis=1), 1.0)
    # the label is a most probable class (majority vote breaks ties by its own rule)
    chosen = np.searchsorted(est.classes_, est.labels_)
    assert np.allclose(est.probas_[np.arange(n_items), chosen], est.probas_.max(axis=1))
    assert len(est.skills_) == len(est.workers_) == est.spam_scores_.shape[0] == 20
    assert all(isinstance(s, WorkerSkill) for s in est.skills_)
    assert [s.worker for s in est.skills_] == est.workers_.tolist()
    assert sum(s.n_answers for s in est.skills_) == len(
        set(zip(crowd.items, crowd.workers, strict=True))
    )
    for s in est.skills_:
        assert 0.0 <= s.low <= s.accuracy <= s.high <= 1.0
        assert s.confusion.shape == (k, k)
        np.testing.assert_allclose(s.confusion.sum(axis=1), 1.0)
    assert np.array_equal(est.is_spammer_, est.spam_scores_ > est.spam_threshold)
    assert isinstance(est.converged_, bool) and isinstance(est.loss_history_, list)

    truth = crowd.truth[est.items_]
    mv = accuracy(MajorityVote().fit_predict(crowd.items, crowd.workers, crowd.labels), truth)
    assert accuracy(est.labels_, truth) >= mv - 0.02
    assert accuracy(est.labels_, truth) > 0.85


@pytest.mark.parametrize("method", METHODS)
def test_string_keys_and_determinism(method: str) -> None:
    crowd = small_crowd(seed=1)
    items = [f"item-{i}" for i in crowd.items]
    workers = [f"w{w}" for w in crowd.workers]
    labels = np.array(["cat", "dog", "eel"])[crowd.labels]
    first = get_aggregator(method).fit(items, workers, labels)
    second = get_aggregator(method).fit(np.array(items), np.array(workers), list(labels))
    assert np.array_equal(first.labels_, second.labels_)
    np.testing.assert_array_equal(first.probas_, second.probas_)
    assert first.classes_.tolist() == ["cat", "dog", "eel"]
    by_int = get_aggregator(method).fit(crowd.items, crowd.workers, crowd.labels)
    order = np.argsort([f"item-{i}" for i in by_int.items_])
    names = np.array(["cat", "dog", "eel"])
    if method == "auto":  # other keys deal other cross-validation folds: between models the
        # answers cannot separate the choice may differ; the labels barely move
        assert np.mean(first.labels_ == names[by_int.labels_[order]]) >= 0.99
        np.testing.assert_allclose(first.probas_, by_int.probas_[order], atol=0.1)
        return
    assert np.array_equal(first.labels_, names[by_int.labels_[order]])
    np.testing.assert_allclose(first.probas_, by_int.probas_[order], atol=1e-9)


@pytest.mark.parametrize("method", METHODS)
def test_gold_items_are_clamped_and_help(method: str) -> None:
    crowd = small_crowd(seed=2)
    gold = {int(i): int(crowd.truth[i]) for i in range(0, 300, 10)}
    est = get_aggregator(method).fit(crowd.items, crowd.workers, crowd.labels, gold=gold)
    for item, label in gold.items():
        assert est.labels_[item] == label
        assert est.probas_[item, label] == 1.0


def test_unknown_method_is_rejected() -> None:
    from datafair.core.errors import InvalidInput

    with pytest.raises(InvalidInput, match="method"):
        get_aggregator("glad")


def test_params_reach_the_estimator() -> None:
    est = get_aggregator("ds", max_iter=3, tol=0.0)
    crowd = small_crowd()
    est.fit(crowd.items, crowd.workers, crowd.labels)
    assert est.n_iter_ == 3 and not est.converged_
    assert est.get_params()["max_iter"] == 3


@pytest.mark.parametrize("method", METHODS)
def test_row_order_does_not_matter(method: str) -> None:
    crowd = small_crowd(seed=3)
    order = np.random.default_rng(0).permutation(crowd.items.shape[0])
    first = get_aggregator(method).fit(crowd.items, crowd.workers, crowd.labels)
    second = get_aggregator(method).fit(
        crowd.items[order], crowd.workers[order], crowd.labels[order]
    )
    assert np.array_equal(first.labels_, second.labels_)
    np.testing.assert_allclose(first.probas_, second.probas_, atol=1e-9)
    np.testing.assert_allclose(first.spam_scores_, second.spam_scores_, atol=1e-9)


@pytest.mark.parametrize("method", METHODS)
def test_renaming_classes_permutes_the_posteriors(method: str) -> None:
    crowd = small_crowd(seed=4)
    names = np.array(["zebra", "ant", "moth"])  # sorted: ant, moth, zebra
    est = get_aggregator(method).fit(crowd.items, crowd.workers, names[crowd.labels])
    base = get_aggregator(method).fit(crowd.items, crowd.workers, crowd.labels)
    assert est.classes_.tolist() == ["ant", "moth", "zebra"]
    if method == "wmv":  # hard ties go to the first class, which feeds the next weights
        same = np.mean(est.labels_ == names[base.labels_])
        assert same > 0.97
    else:
        np.testing.assert_allclose(est.probas_[:, [2, 0, 1]], base.probas_, atol=1e-9)


@pytest.mark.parametrize("crowd_name", ["honest", "ring-25-gold", "copiers-3"])
@pytest.mark.parametrize("method", ["ds", "auto", "wmv"])
def test_dependence_test_on_a_second_thread_changes_no_bit(
    monkeypatch: pytest.MonkeyPatch, crowd_name: str, method: str
) -> None:
    # large inputs run the dependence test beside the skills' counts; the outcome is the same
    # bits as one after the other, whether a group is found (the counts are then recomputed
    # after the refit) or not, with and without gold
    from datafair.quality import base
    from datafair.sim.adversaries import scenarios

    crowd = dict(scenarios())[crowd_name](4, 600)
    gold = crowd.gold or None
    fitted = []
    for threaded_from in (1 << 62, 0):
        monkeypatch.setattr(base, "THREADED_FROM", threaded_from)
        est = get_aggregator(method)
        fitted.append(est.fit(crowd.item, crowd.contributor, crowd.answer, gold=gold))
    alone, beside = fitted
    if crowd_name != "honest" and method != "wmv":
        assert alone.dependence_.n_groups >= 1
    for name in ("probas_", "spam_scores_", "confusion_counts_"):
        assert np.array_equal(getattr(alone, name), getattr(beside, name)), name
    assert np.array_equal(alone.dependence_.group, beside.dependence_.group)
    assert alone.skills_ == beside.skills_
