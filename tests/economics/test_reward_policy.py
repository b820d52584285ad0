"""Quality-weighted rewards: small cases, conservation, bounds, invariance, bad input."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datafair.core.errors import InvalidInput
from datafair.economics import AnswerColumns, ReviewColumns, quality_weighted_rewards


def test_rule_on_a_small_task() -> None:
    answers = AnswerColumns(
        item=[0, 0, 0, 1, 1],
        contributor=[0, 1, 2, 0, 2],
        p_correct=[0.9, 0.9, 0.1, 1.0, 0.5],
        is_spam=[False, False, False, False, True],
    )
    reviews = ReviewColumns(item=[0, 0, 1, 5], reviewer=[3, 4, 3, 3], agreement=[1, 0, 1, 1])
    result = quality_weighted_rewards(
        answers, price_per_answer=1_000, reviews=reviews, review_bps=1_000
    )
    # Answers keep 90 % of the price: 900 * p. The spam-flagged answer earns nothing.
    assert result.answer_amounts == (810, 810, 90, 900, 0)
    # Item 0 reserves 300 for 2 reviews (150 each, one agrees); item 1 reserves 200 for 1;
    # item 5 has no paid answers, so its review has nothing to earn.
    assert result.review_amounts == (150, 0, 200, 0)
    assert result.by_contributor == {0: 1_710, 1: 810, 2: 90, 3: 350, 4: 0}
    assert result.budget == 5_000
    assert (result.earned, result.unearned) == (2_960, 2_040)


def test_right_wrong_and_gold_failures() -> None:
    answers = AnswerColumns(
        item=[0, 0, 0],
        contributor=[0, 1, 2],
        p_correct=[1.0, 0.0, 1.0],
        failed_gold=[False, False, True],
    )
    result = quality_weighted_rewards(answers, price_per_answer=7)
    assert result.answer_amounts == (7, 0, 0)
    assert result.unearned == 14


def test_review_reserve_of_unreviewed_items_stays_in_escrow() -> None:
    answers = AnswerColumns(item=[0, 1], contributor=[0, 0], p_correct=[1.0, 1.0])
    reviews = ReviewColumns(item=[0], reviewer=[1], agreement=[True])
    result = quality_weighted_rewards(
        answers, price_per_answer=100, reviews=reviews, review_bps=2_000
    )
    assert result.answer_amounts == (80, 80)
    assert result.review_amounts == (20,)
    assert result.unearned == 20


def test_spam_flagged_reviewers_earn_nothing() -> None:
    answers = AnswerColumns(item=[0], contributor=[0], p_correct=[1.0])
    reviews = ReviewColumns(item=[0, 0], reviewer=[1, 2], agreement=[1, 1], is_spam=[True, False])
    result = quality_weighted_rewards(
        answers, price_per_answer=100, reviews=reviews, review_bps=1_000
    )
    assert result.review_amounts == (0, 5)


def test_empty_settlement_pays_nothing() -> None:
    result = quality_weighted_rewards(AnswerColumns([], [], []), price_per_answer=10)
    assert (result.budget, result.earned, result.unearned, result.by_contributor) == (0, 0, 0, {})


answer_rows = st.lists(
    st.tuples(
        st.integers(0, 6),
        st.integers(0, 5),
        st.floats(0.0, 1.0, allow_nan=False),
        st.booleans(),
        st.booleans(),
    ),
    max_size=40,
)
review_rows = st.lists(
    st.tuples(st.integers(0, 8), st.integers(0, 7), st.floats(0.0, 1.0, allow_nan=False)),
    max_size=20,
)


def _columns(rows: list[tuple[Any, ...]], reviews: list[tuple[Any, ...]]) -> tuple[Any, Any]:
    answers = AnswerColumns(
        item=np.array([r[0] for r in rows], dtype=np.int64),
        contributor=np.array([r[1] for r in rows], dtype=np.int64),
        p_correct=np.array([r[2] for r in rows], dtype=np.float64),
        is_spam=np.array([r[3] for r in rows], dtype=bool),
        failed_gold=np.array([r[4] for r in rows], dtype=bool),
    )
    review_columns = ReviewColumns(
        item=np.array([r[0] for r in reviews], dtype=np.int64),
        reviewer=np.array([r[1] for r in reviews], dtype=np.int64),
        agreement=np.array([r[2] for r in reviews], dtype=np.float64),
    )
    return answers, review_columns


@settings(max_examples=150)
@given(
    answer_rows,
    review_rows,
    st.one_of(st.integers(0, 10**6), st.integers(0, 10**24)),
    st.integers(0, 10_000),
    st.randoms(use_true_random=False),
)
def test_conservation_bounds_and_invariance(
    rows: list[tuple[Any, ...]],
    reviews: list[tuple[Any, ...]],
    price: int,
    review_bps: int,
    shuffle: Any,
) -> None:
    answers, review_columns = _columns(rows, reviews)
    result = quality_weighted_rewards(
        answers, price_per_answer=price, reviews=review_columns, review_bps=review_bps
    )
    assert result.budget == price * len(rows)
    assert result.earned + result.unearned == result.budget
    assert result.earned == sum(result.answer_amounts) + sum(result.review_amounts)
    assert sum(result.by_contributor.values()) == result.earned
    assert min(result.answer_amounts + result.review_amounts, default=0) >= 0
    assert result.unearned >= 0
    item_paid: defaultdict[int, int] = defaultdict(int)
    for (item, _, p, spam, gold), paid in zip(rows, result.answer_amounts, strict=True):
        assert paid <= price
        if spam or gold:
            assert paid == 0
        else:
            ideal = price * (10_000 - review_bps) * p / 10_000
            assert abs(paid - ideal) <= 2 + price * 1e-9
        item_paid[item] += paid
    for (item, _, _), paid in zip(reviews, result.review_amounts, strict=True):
        item_paid[item] += paid
    answers_on = defaultdict(int, {i: sum(1 for r in rows if r[0] == i) for i, *_ in rows})
    assert all(paid <= price * answers_on[item] for item, paid in item_paid.items())

    again = quality_weighted_rewards(
        answers, price_per_answer=price, reviews=review_columns, review_bps=review_bps
    )
    assert again == result
    shuffled_rows, shuffled_reviews = list(rows), list(reviews)
    shuffle.shuffle(shuffled_rows)
    shuffle.shuffle(shuffled_reviews)
    permuted = quality_weighted_rewards(
        _columns(shuffled_rows, shuffled_reviews)[0],
        price_per_answer=price,
        reviews=_columns(shuffled_rows, shuffled_reviews)[1],
        review_bps=review_bps,
    )
    assert permuted.by_contributor == result.by_contributor
    assert permuted.earned == result.earned


GOOD: dict[str, Any] = {"item": [0, 1], "contributor": [0, 1], "p_correct": [0.5, 0.5]}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"item": [0]}, "answers.contributor"),
        ({"contributor": [0]}, "answers.contributor"),
        ({"p_correct": [0.5]}, "answers.p_correct"),
        ({"item": [0, -1]}, "answers.item"),
        ({"item": [0.0, 1.0]}, "answers.item"),
        ({"item": [[0, 1]]}, "answers.item"),
        ({"contributor": [True, False]}, "answers.contributor"),
        ({"p_correct": [0.5, 1.5]}, "answers.p_correct"),
        ({"p_correct": [0.5, -0.1]}, "answers.p_correct"),
        ({"p_correct": [0.5, float("nan")]}, "answers.p_correct"),
        ({"p_correct": ["a", "b"]}, "answers.p_correct"),
        ({"p_correct": [[0.5, 0.5]]}, "answers.p_correct"),
        ({"is_spam": [0, 1]}, "answers.is_spam"),
        ({"is_spam": [False]}, "answers.is_spam"),
        ({"is_spam": [[False, True]]}, "answers.is_spam"),
        ({"failed_gold": [True]}, "answers.failed_gold"),
    ],
)
def test_bad_answer_columns_are_named(change: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as error:
        quality_weighted_rewards(AnswerColumns(**{**GOOD, **change}), price_per_answer=10)
    assert error.value.field == field


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"item": [0, 1]}, "reviews.reviewer"),
        ({"reviewer": [-2]}, "reviews.reviewer"),
        ({"agreement": [2.0]}, "reviews.agreement"),
        ({"agreement": [1.0, 1.0]}, "reviews.agreement"),
        ({"is_spam": [True, False]}, "reviews.is_spam"),
        ({"item": [1.5]}, "reviews.item"),
    ],
)
def test_bad_review_columns_are_named(change: dict[str, Any], field: str) -> None:
    good: dict[str, Any] = {"item": [0], "reviewer": [3], "agreement": [1.0]}
    with pytest.raises(InvalidInput) as error:
        quality_weighted_rewards(
            AnswerColumns(**GOOD),
            price_per_answer=10,
            reviews=ReviewColumns(**{**good, **change}),
            review_bps=500,
        )
    assert error.value.field == field


@pytest.mark.parametrize(
    ("price", "review_bps", "field"),
    [
        (-1, 0, "price_per_answer"),
        (1.5, 0, "price_per_answer"),
        (10, 10_001, "review_bps"),
        (10, -1, "review_bps"),
        (10, 0.5, "review_bps"),
    ],
)
def test_bad_price_or_share_is_refused(price: Any, review_bps: Any, field: str) -> None:
    with pytest.raises(InvalidInput) as error:
        quality_weighted_rewards(
            AnswerColumns(**GOOD), price_per_answer=price, review_bps=review_bps
        )
    assert error.value.field == field
