"""Model choice: cross-validation folds, the one-standard-error rule, the gold override, and the
temperature and contamination of the chosen model."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from datafair.quality._em import answer_matrix, vote_shares
from datafair.quality._encode import EncodedAnswers, encode_answers
from datafair.quality.auto import AutoAggregator, build_candidate
from datafair.quality.calibration import expected_calibration_error
from datafair.quality.selection import (
    FOLDS,
    GOLD_MIN_NATS,
    HALF_ANSWERS,
    REPRODUCIBILITY_Z,
    SPLITS,
    TEMPERATURES,
    CandidateFit,
    HeldOut,
    Score,
    answer_folds,
    choose,
    cross_validate,
    fit_candidate,
    split_half_agreement,
    temper,
    worker_halves,
)
from datafair.quality.synthetic import dawid_skene_crowd

ORDER = ("majority", "one-coin", "dawid-skene")


def _held(name: str, items: list[float], gold: list[float] | None = None) -> HeldOut:
    terms = np.asarray(items, dtype=np.float64)
    gold_terms = np.asarray(gold or [], dtype=np.float64)
    score = Score(name, 1.0, float(terms.mean()), float(gold_terms.sum()), float(terms.sum()))
    return HeldOut(score, terms, gold_terms)


def test_the_simplest_model_within_one_standard_error_wins() -> None:
    rng = np.random.default_rng(0)
    base = rng.normal(-3.0, 1.0, size=400)
    noise = rng.normal(0.0, 0.5, size=400)  # per-item differences: sd 0.5, standard error 10
    held = {
        "majority": _held("majority", list(base - 1.0)),  # 400 nats behind: far outside
        "one-coin": _held("one-coin", list(base + noise - 0.01)),  # ~4 nats behind: inside
        "dawid-skene": _held("dawid-skene", list(base)),
    }
    winner, why = choose(held, ORDER)
    assert winner == "one-coin" and "within 1 standard error of dawid-skene" in why
    held["one-coin"] = _held("one-coin", list(base + noise - 0.1))  # ~40 nats: 4 errors
    assert choose(held, ORDER) == ("dawid-skene", "best held-out answer score")


def test_gold_overrides_only_when_clearly_ahead() -> None:
    answers = list(np.linspace(-2.0, -1.0, 50))
    better = [a + 0.05 for a in answers]
    held = {
        "one-coin": _held("one-coin", answers, gold=[-0.1] * 20),
        "dawid-skene": _held("dawid-skene", better, gold=[-0.9, -0.6] * 10),
    }
    winner, why = choose(held, ORDER)
    assert winner == "one-coin" and why.startswith("predicts the gold labels better")
    # both predict every gold label almost perfectly: far less than a nat apart, no override
    held["one-coin"] = _held("one-coin", answers, gold=[-1e-4] * 20)
    held["dawid-skene"] = _held("dawid-skene", better, gold=[-2e-4] * 20)
    assert GOLD_MIN_NATS > 20 * 1e-4
    assert choose(held, ORDER)[0] == "dawid-skene"


def test_a_clearly_more_reproducible_simpler_model_replaces_the_answers_choice() -> None:
    answers = list(np.linspace(-2.0, -1.0, 300))
    held = {
        "majority": _held("majority", [a - 1.0 for a in answers]),
        "one-coin": _held("one-coin", [a - 0.5 for a in answers]),
        "dawid-skene": _held("dawid-skene", answers),
    }
    rng = np.random.default_rng(0)
    steady = (rng.random(300) < 0.9).astype(np.float64)
    shaky = steady.copy()
    shaky[rng.choice(300, 30, replace=False)] = 0.0  # 10 % fewer items reproduced
    agreement = {"majority": steady * 0.0, "one-coin": steady, "dawid-skene": shaky}
    winner, why = choose(held, ORDER, agreement)
    assert winner == "one-coin" and why.startswith("labels reproduced by disjoint halves")
    # two items apart (standard error 1.4) is within the noise: the answers' choice stands
    assert REPRODUCIBILITY_Z * 1.4 > 2
    agreement["dawid-skene"] = steady.copy()
    agreement["dawid-skene"][np.flatnonzero(steady)[:2]] = 0.0
    assert choose(held, ORDER, agreement) == ("dawid-skene", "best held-out answer score")
    # a richer model never replaces a simpler choice this way
    held["dawid-skene"] = _held("dawid-skene", [a - 2.0 for a in answers])
    agreement = {"majority": shaky, "one-coin": shaky, "dawid-skene": steady}
    assert choose(held, ORDER, agreement) == ("one-coin", "best held-out answer score")


def test_worker_halves_are_fixed_and_split_the_answers_evenly() -> None:
    crowd = dawid_skene_crowd(n_items=300, n_workers=30, n_classes=3, answers_per_item=8, seed=6)
    data = encode_answers(crowd.items, crowd.workers, crowd.labels)
    first = worker_halves(data)
    np.testing.assert_array_equal(first, worker_halves(data))
    volume = np.bincount(data.worker_idx, minlength=data.n_workers)
    assert abs(volume[first].sum() - data.n_answers / 2) <= volume.max()
    agreement = split_half_agreement(
        data, lambda half: AutoAggregator()._fit_all(half, ["majority", "dawid-skene"])
    )
    assert set(agreement) == {"majority", "dawid-skene"}
    shared = agreement["majority"].shape[0]  # items with 3 answers or more in each half
    compared = np.zeros(data.n_items, dtype=bool)
    for split in range(SPLITS):
        rows = worker_halves(data, split)[data.worker_idx]
        first_half, second_half = (
            np.bincount(data.item_idx[r], minlength=data.n_items) for r in (rows, ~rows)
        )
        compared |= (first_half >= HALF_ANSWERS) & (second_half >= HALF_ANSWERS)
    assert shared == int(compared.sum())
    assert 0 < shared < data.n_items and agreement["dawid-skene"].shape == (shared,)
    assert np.all(agreement["majority"] <= 1.0)  # agree or not, less the chance share
    assert 0.0 < agreement["dawid-skene"].mean() <= 1.0  # Cohen's kappa


def test_agreement_a_constant_label_would_give_by_chance_does_not_count() -> None:
    crowd = dawid_skene_crowd(n_items=300, n_workers=30, n_classes=3, answers_per_item=8, seed=6)
    data = encode_answers(crowd.items, crowd.workers, crowd.labels)

    def constant(half: EncodedAnswers) -> dict[str, CandidateFit]:
        fit = AutoAggregator()._fit_all(half, ["majority"])["majority"]
        posteriors = np.zeros_like(fit.posteriors)
        posteriors[:, 0] = 1.0  # every item labelled with the first class in both halves
        return {"majority": fit, "constant": replace(fit, posteriors=posteriors)}

    agreement = split_half_agreement(data, constant)
    np.testing.assert_allclose(agreement["constant"], 0.0)  # full agreement, all of it chance
    assert agreement["majority"].mean() > 0.3


def test_folds_are_fixed_and_keep_an_items_worker_together() -> None:
    crowd = dawid_skene_crowd(n_items=200, n_workers=15, n_classes=3, answers_per_item=4, seed=4)
    data = encode_answers(crowd.items, crowd.workers, crowd.labels)
    folds = answer_folds(data)
    np.testing.assert_array_equal(folds, answer_folds(data))
    assert set(np.unique(folds).tolist()) == set(range(FOLDS))
    sizes = np.bincount(folds)
    assert sizes.max() - sizes.min() <= 1  # the pairs are dealt round-robin
    table = cross_validate(data, lambda train: AutoAggregator()._fit_all(train, ["one-coin"]))
    assert table["one-coin"].shape == (len(TEMPERATURES), data.n_items)
    assert np.all(table["one-coin"] <= 0.0)  # log-probabilities of held-out answers


def test_contamination_is_fitted_on_gold_where_the_crowd_agrees_on_a_wrong_answer() -> None:
    """A fifth of the items have a key that differs from what every worker says: answers
    cannot show it, the gold labels can; the contaminated posteriors are calibrated."""
    rng = np.random.default_rng(7)
    n_items, k = 1500, 3
    crowd = dawid_skene_crowd(
        n_items=n_items,
        n_workers=30,
        n_classes=k,
        answers_per_item=5,
        seed=7,
        accuracy=(0.85, 0.95),
    )
    key = crowd.truth.copy()
    flipped = rng.random(n_items) < 0.2
    key[flipped] = (key[flipped] + rng.integers(1, k, size=int(flipped.sum()))) % k
    gold = {int(i): int(key[i]) for i in range(0, n_items, 10)}
    data = encode_answers(crowd.items, crowd.workers, crowd.labels, gold=gold)
    fit = fit_candidate(
        data,
        answer_matrix(data),
        vote_shares(data),
        build_candidate("one-coin"),
        max_iter=50,
        tol=1e-6,
    )
    assert temper(data, fit).contamination >= 0.1
    plain = encode_answers(crowd.items, crowd.workers, crowd.labels)
    assert temper(plain, fit).contamination == 0.0  # without gold nothing measures it
    est = AutoAggregator().fit(crowd.items, crowd.workers, crowd.labels, gold=gold)
    assert est.selection_.contamination >= 0.1
    rest = np.setdiff1d(np.arange(n_items), np.fromiter(gold, dtype=np.int64))
    calibrated = expected_calibration_error(est.probas_[rest], key[rest])
    without = AutoAggregator().fit(crowd.items, crowd.workers, crowd.labels)
    assert calibrated < 0.05 < expected_calibration_error(without.probas_[rest], key[rest])


def test_refits_on_two_threads_change_no_bit(monkeypatch: pytest.MonkeyPatch) -> None:
    # the cross-validation and split-half refits of large inputs run two at a time; every
    # score, agreement and posterior is the same bits as one after the other
    from datafair.quality import selection
    from datafair.quality.synthetic import dawid_skene_crowd

    crowd = dawid_skene_crowd(
        n_items=600, n_workers=30, n_classes=3, answers_per_item=6, seed=5, spammer_share=0.2
    )
    fitted = []
    for parallel_from in (1 << 62, 0):
        monkeypatch.setattr(selection, "PARALLEL_FROM", parallel_from)
        fitted.append(AutoAggregator().fit(crowd.items, crowd.workers, crowd.labels))
    alone, paired = fitted
    assert alone.selection_.scores == paired.selection_.scores
    assert alone.selection_.agreement == paired.selection_.agreement
    assert alone.selection_.winner == paired.selection_.winner
    assert np.array_equal(alone.probas_, paired.probas_)
