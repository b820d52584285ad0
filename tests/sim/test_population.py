"""Simulated crowds: seeded, well-formed confusions, answers that follow them."""

from __future__ import annotations

import numpy as np
import pytest

from datafair.sim import ContributorKind, make_population, make_review_texts
from datafair.sim.population import address_of, derive_key


def test_same_seed_same_crowd() -> None:
    first, second = make_population(3, seed=4), make_population(3, seed=4)
    assert [c.address for c in first.contributors] == [c.address for c in second.contributors]
    assert all(
        np.array_equal(a.confusion, b.confusion)
        for a, b in zip(first.contributors, second.contributors, strict=True)
    )
    assert make_population(3, seed=5).contributors[0].address != first.contributors[0].address


def test_confusions_are_stochastic_and_kinds_behave() -> None:
    population = make_population(4, seed=1)
    for contributor in population.contributors:
        assert np.allclose(contributor.confusion.sum(axis=1), 1.0)
        if contributor.kind is ContributorKind.SKILLED:
            assert 0.75 <= contributor.accuracy <= 0.95
        elif contributor.kind is ContributorKind.SPAMMER:
            assert contributor.accuracy == pytest.approx(0.25)
        elif contributor.kind is ContributorKind.ADVERSARY:
            assert np.count_nonzero(contributor.confusion.sum(axis=0)) == 1


def test_vectorised_answers_follow_the_confusion() -> None:
    population = make_population(3, {ContributorKind.SKILLED: 1}, seed=2)
    truth = np.zeros(20_000, dtype=int)
    answers = population.answers(np.zeros_like(truth), truth)
    observed = np.bincount(answers, minlength=3) / len(answers)
    assert np.allclose(observed, population.contributors[0].confusion[0], atol=0.015)


def test_keys_are_valid_and_addresses_derive() -> None:
    key = derive_key(0, 0)
    assert len(key) == 32
    assert address_of(key).startswith("0x") and len(address_of(key)) == 42


def test_review_texts_are_distinct_with_truth() -> None:
    texts, truths = make_review_texts(500, seed=3)
    assert len(set(texts)) == 500
    assert set(truths) == {"positive", "neutral", "negative"}


def test_needs_two_classes() -> None:
    with pytest.raises(ValueError, match="two classes"):
        make_population(1)


def test_ring_members_agree_per_item_and_copiers_repeat_the_original() -> None:
    mix = {
        ContributorKind.SKILLED: 2,
        ContributorKind.CARELESS: 2,
        ContributorKind.RING: 3,
        ContributorKind.COPIER: 1,
    }
    population = make_population(3, mix, seed=9)
    kinds = population.by_kind()
    original = population.contributors[population.original or 0]
    assert population.original == kinds[ContributorKind.CARELESS][0].index
    copier = kinds[ContributorKind.COPIER][0]
    assert np.array_equal(copier.confusion, original.confusion)
    ring = kinds[ContributorKind.RING]
    said, copied = [], 0
    for item in range(300):
        truth = item % 3
        answers = {population.answer_item(member, item, truth) for member in ring}
        assert len(answers) == 1
        said.append(answers.pop() == truth)
        # whoever answers first, the copier and the original give the same answer
        first, second = (copier, original) if item % 2 else (original, copier)
        copied += population.answer_item(first, item, truth) == population.answer_item(
            second, item, truth
        )
    assert copied == 300
    assert 0.2 < np.mean(said) < 0.47  # the ring's answer ignores the truth
    assert make_population(3, seed=9).original is None
    with pytest.raises(ValueError, match="copiers need"):
        make_population(3, {ContributorKind.COPIER: 1}, seed=9)
