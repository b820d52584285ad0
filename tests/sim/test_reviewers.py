"""Simulated reviewers: independent reviewers per submission, verdicts by kind, seeded."""

from __future__ import annotations

from collections import Counter

import pytest

from datafair.sim import ContributorKind, make_population
from datafair.sim.reviewers import plan_reviews

MIX = {ContributorKind.SKILLED: 4, ContributorKind.SPAMMER: 2, ContributorKind.ADVERSARY: 2}


def _columns(population, n_items=300):
    addresses = [c.address for c in population.contributors]
    contributors, items, labels, truth = [], [], [], {}
    for i in range(n_items):
        truth[f"item{i}"] = "pos" if i % 3 else "neg"
        for k in range(3):
            contributors.append(addresses[(i + k) % len(addresses)])
            items.append(f"item{i}")
            labels.append("pos" if (i + k) % 2 else "neg")
    return contributors, items, labels, truth


def test_reviewers_are_distinct_and_never_answered_the_item() -> None:
    population = make_population(2, MIX, seed=1)
    contributors, items, labels, truth = _columns(population)
    plan = plan_reviews(population, contributors, items, labels, truth, per_submission=3)
    assert len(plan) == 3 * len(items)
    answered = {(c, i) for c, i in zip(contributors, items, strict=True)}
    for review in plan:
        assert (review.reviewer.address, items[review.row]) not in answered
    per_row = Counter((review.row, review.reviewer.address) for review in plan)
    assert max(per_row.values()) == 1


def test_verdicts_follow_the_reviewer_kind() -> None:
    population = make_population(2, MIX, seed=2)
    contributors, items, labels, truth = _columns(population, 600)
    plan = plan_reviews(population, contributors, items, labels, truth, per_submission=2, seed=5)
    agreement: dict[ContributorKind, list[bool]] = {kind: [] for kind in MIX}
    for review in plan:
        right = labels[review.row] == truth[items[review.row]]
        agreement[review.reviewer.kind].append((review.verdict == "accept") == right)
    rate = {kind: sum(values) / len(values) for kind, values in agreement.items()}
    assert rate[ContributorKind.SKILLED] > 0.7
    assert 0.4 < rate[ContributorKind.SPAMMER] < 0.6
    adversary = [r.verdict for r in plan if r.reviewer.kind is ContributorKind.ADVERSARY]
    assert set(adversary) == {"accept"}


def test_the_plan_is_fixed_by_the_seed_and_skips_items_without_truth() -> None:
    population = make_population(2, MIX, seed=3)
    contributors, items, labels, truth = _columns(population, 50)
    del truth["item0"]
    first = plan_reviews(population, contributors, items, labels, truth, seed=9)
    again = plan_reviews(population, contributors, items, labels, truth, seed=9)
    assert [(r.row, r.reviewer.index, r.verdict) for r in first] == [
        (r.row, r.reviewer.index, r.verdict) for r in again
    ]
    assert all(items[r.row] != "item0" for r in first)
    with pytest.raises(ValueError, match="per_submission"):
        plan_reviews(population, contributors, items, labels, truth, per_submission=0)
