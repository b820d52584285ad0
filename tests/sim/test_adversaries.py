"""Adversarial crowds: shapes, determinism, and that each adversary behaves as described."""

from __future__ import annotations

import numpy as np
import pytest

from datafair.sim.adversaries import (
    OVERLAP,
    Crowd,
    Role,
    copier_crowd,
    dense_ring_crowd,
    easy_picker_crowd,
    gold_cheater_crowd,
    reviewer_crowd,
    ring_crowd,
    scenarios,
    sybil_crowd,
    weak_imbalanced_crowd,
)

N_ITEMS = 300


def _rows_by_item(crowd: Crowd) -> dict[int, dict[int, int]]:
    table: dict[int, dict[int, int]] = {}
    for item, worker, answer in zip(
        crowd.item.tolist(), crowd.contributor.tolist(), crowd.answer.tolist(), strict=True
    ):
        table.setdefault(item, {})[worker] = answer
    return table


@pytest.mark.parametrize(("key", "build"), scenarios(), ids=[key for key, _ in scenarios()])
def test_every_scenario_is_well_formed_and_deterministic(key: str, build: object) -> None:
    crowd = build(3, N_ITEMS)  # type: ignore[operator]
    again = build(3, N_ITEMS)  # type: ignore[operator]
    other = build(4, N_ITEMS)  # type: ignore[operator]
    n = len(crowd.item)
    assert len(crowd.contributor) == len(crowd.answer) == n
    assert crowd.truth.shape == (N_ITEMS,)
    assert set(np.unique(crowd.item).tolist()) == set(range(N_ITEMS))
    assert np.bincount(crowd.item).max() <= OVERLAP
    pairs = set(zip(crowd.item.tolist(), crowd.contributor.tolist(), strict=True))
    assert len(pairs) == n  # one answer per (item, contributor)
    assert np.all(np.diff(crowd.item) >= 0)
    assert crowd.answer.min() >= 0 and crowd.answer.max() < crowd.n_classes
    assert len(crowd.roles) == len(crowd.addresses) == len(set(crowd.addresses))
    assert all(crowd.truth[item] == label for item, label in crowd.gold.items())
    assert len(crowd.review_row) == len(crowd.reviewer) == len(crowd.accept)
    assert (key == "honest" or key.startswith("weak")) == (len(crowd.adversaries) == 0)
    for field in ("item", "contributor", "answer", "truth", "reviewer", "accept"):
        assert np.array_equal(getattr(crowd, field), getattr(again, field))
    assert crowd.addresses == again.addresses and crowd.gold == again.gold
    assert crowd.addresses != other.addresses
    assert not np.array_equal(crowd.truth, other.truth)


def test_ring_members_agree_on_one_answer_per_item_unrelated_to_the_truth() -> None:
    crowd = ring_crowd(1, 1000, share=0.35, gold_share=0.1)
    ring = {int(c) for c in crowd.adversaries}
    assert len(ring) == 14 and all(crowd.roles[c] is Role.RING for c in ring)
    agreeing = 0
    for answers in _rows_by_item(crowd).values():
        said = {answer for worker, answer in answers.items() if worker in ring}
        assert len(said) <= 1
        agreeing += len(said)
    assert agreeing > 850  # P(an item has a ring member) = 1 - C(26,5)/C(40,5) ≈ 0.90
    accuracy = crowd.accuracy()
    assert abs(np.mean(accuracy[list(ring)]) - 1 / 3) < 0.08  # members share one draw per item
    honest = [c for c in range(crowd.n_contributors) if c not in ring]
    assert np.all(accuracy[honest] > 0.55)
    assert len(crowd.gold) == 100


def test_a_dense_ring_lands_its_share_of_answers_on_the_same_items() -> None:
    crowd = dense_ring_crowd(2, 600, size=5, per_item=3)
    ring = set(crowd.adversaries.tolist())
    counts = [sum(w in ring for w in answers) for answers in _rows_by_item(crowd).values()]
    assert set(counts) == {0, 3}
    load = crowd.answers_of()
    assert abs(load[list(ring)].mean() - load[:40].mean()) < 0.2 * load[:40].mean()
    with pytest.raises(ValueError, match="per_item"):
        dense_ring_crowd(2, 60, size=2, per_item=3)


def test_copiers_repeat_the_originals_answers() -> None:
    crowd = copier_crowd(5, 800, n_copiers=2)
    assert crowd.original == 0
    copiers = crowd.adversaries.tolist()
    by_item = _rows_by_item(crowd)
    original_items = {item for item, answers in by_item.items() if 0 in answers}
    for copier in copiers:
        copied = {item for item, answers in by_item.items() if copier in answers}
        assert copied == original_items
        assert all(by_item[item][copier] == by_item[item][0] for item in copied)
    assert 0.6 < crowd.accuracy()[0] < 0.8


def test_partial_copiers_repeat_the_original_on_their_share_and_guess_elsewhere() -> None:
    crowd = copier_crowd(5, 1500, n_copiers=2, copy_share=0.8)
    by_item = _rows_by_item(crowd)
    for copier in crowd.adversaries.tolist():
        shared = [answers for answers in by_item.values() if copier in answers]
        same = np.mean([answers[copier] == answers[0] for answers in shared])
        # 80 % copied, and a third of the guesses land on the original's answer by chance
        assert 0.8 < same < 0.93
    assert "80% copied" in crowd.name
    with pytest.raises(ValueError, match="copy_share"):
        copier_crowd(5, 100, copy_share=0.0)


def test_sybils_answer_the_majority_class_a_few_times_each() -> None:
    crowd = sybil_crowd(6, 1000, n_sybils=40, answers_each=6)
    sybils = crowd.adversaries
    assert crowd.n_classes == 2
    assert 0.75 < np.mean(crowd.truth == 0) < 0.85
    assert np.all(crowd.answers_of()[sybils] == 6)
    assert np.all(crowd.answer[np.isin(crowd.contributor, sybils)] == 0)


def test_gold_cheaters_are_right_on_gold_and_guess_elsewhere() -> None:
    crowd = gold_cheater_crowd(7, 2000, n_cheaters=8, detect=1.0, false_alarm=0.0)
    cheat = np.isin(crowd.contributor, crowd.adversaries)
    on_gold = np.isin(crowd.item, list(crowd.gold))
    right = crowd.answer == crowd.truth[crowd.item]
    assert right[cheat & on_gold].mean() > 0.9
    assert abs(right[cheat & ~on_gold].mean() - 1 / 3) < 0.06


@pytest.mark.parametrize("behaviour", ["rubber-stamp", "reject-all", "invert"])
def test_bad_reviewers_ignore_or_invert_the_truth(behaviour: str) -> None:
    crowd = reviewer_crowd(8, 600, behaviour=behaviour)
    assert np.array_equal(crowd.review_row, np.arange(len(crowd.item)))
    assert np.all(crowd.answers_of()[crowd.reviewer] == 0)  # review-only wallets
    bad = np.isin(crowd.reviewer, crowd.adversaries)
    right = crowd.answer[crowd.review_row] == crowd.truth[crowd.item[crowd.review_row]]
    if behaviour == "rubber-stamp":
        assert crowd.accept[bad].all()
    elif behaviour == "reject-all":
        assert not crowd.accept[bad].any()
    else:
        assert np.array_equal(crowd.accept[bad], ~right[bad])
    assert np.mean(crowd.accept[~bad] == right[~bad]) > 0.7
    with pytest.raises(ValueError, match="behaviour"):
        reviewer_crowd(8, 60, behaviour="lazy")


def test_easy_pickers_take_only_easy_items_and_score_higher() -> None:
    crowd = easy_picker_crowd(9, 1000)
    accuracy = crowd.accuracy()
    honest = [c for c, role in enumerate(crowd.roles) if role is Role.HONEST]
    assert np.nanmean(accuracy[crowd.adversaries]) > np.nanmean(accuracy[honest]) + 0.05
    # the drawn skill is recorded, the same range for pickers and honest workers
    assert crowd.skill is not None and crowd.skill.shape == (crowd.n_contributors,)
    assert np.all((crowd.skill >= 0.65) & (crowd.skill <= 0.95))


def test_weak_honest_workers_on_imbalanced_data_are_weak_but_informative() -> None:
    crowd = weak_imbalanced_crowd(10, 2000, n_weak=10)
    accuracy = crowd.accuracy()
    assert 0.63 < np.mean(accuracy[30:]) < 0.72 and np.all(accuracy[30:] > 0.55)
    assert np.all(accuracy[:30] > 0.7)
    assert set(crowd.roles) == {Role.HONEST}
