"""Dependent groups are paid as one contributor (property tests) and money is conserved."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datafair.core.errors import InvalidInput
from datafair.economics import AnswerColumns, peer_prediction_rewards, quality_weighted_rewards
from datafair.economics.rewards import dependent_group_weights


@st.composite
def grouped_answers(draw: Any) -> tuple[AnswerColumns, int, int, list[int]]:
    n_contributors = draw(st.integers(2, 8))
    group_of = draw(st.lists(st.integers(-1, 2), min_size=n_contributors, max_size=n_contributors))
    pairs = draw(
        st.lists(
            st.tuples(st.integers(0, 5), st.integers(0, n_contributors - 1)),
            min_size=1,
            max_size=40,
            unique=True,
        )
    )
    p = draw(st.lists(st.floats(0, 1), min_size=len(pairs), max_size=len(pairs)))
    columns = AnswerColumns(
        item=[i for i, _ in pairs],
        contributor=[c for _, c in pairs],
        p_correct=p,
        group=[group_of[c] for _, c in pairs],
    )
    return columns, draw(st.integers(0, 10**12)), draw(st.integers(0, 10_000)), group_of


@settings(max_examples=200, deadline=None)
@given(grouped_answers())
def test_a_group_earns_at_most_one_answer_per_item_and_money_is_conserved(
    case: tuple[AnswerColumns, int, int, list[int]],
) -> None:
    columns, price, review_bps, group_of = case
    result = quality_weighted_rewards(columns, price_per_answer=price, review_bps=review_bps)
    assert result.earned + result.unearned == result.budget
    assert sum(result.answer_amounts) == result.earned
    assert result.unearned >= 0
    one_answer = price * (10_000 - review_bps) // 10_000
    per_item_group: dict[tuple[int, int], list[int]] = {}
    items = list(columns.item)  # type: ignore[arg-type]
    contributors = list(columns.contributor)  # type: ignore[arg-type]
    for row, amount in enumerate(result.answer_amounts):
        group = group_of[contributors[row]]
        if group >= 0:
            per_item_group.setdefault((items[row], group), []).append(amount)
    for amounts in per_item_group.values():
        # one answer's pay, plus at most one base unit of rounding per member
        assert sum(amounts) <= one_answer + len(amounts)


@settings(max_examples=100, deadline=None)
@given(grouped_answers())
def test_grouping_never_raises_what_a_group_earns(
    case: tuple[AnswerColumns, int, int, list[int]],
) -> None:
    columns, price, review_bps, group_of = case
    alone = AnswerColumns(columns.item, columns.contributor, columns.p_correct)
    free = quality_weighted_rewards(alone, price_per_answer=price, review_bps=review_bps)
    tied = quality_weighted_rewards(columns, price_per_answer=price, review_bps=review_bps)
    members = [c for c, g in enumerate(group_of) if g >= 0]
    slack = len(columns.item)  # type: ignore[arg-type]
    assert (
        sum(tied.by_contributor.get(c, 0) for c in members)
        <= sum(free.by_contributor.get(c, 0) for c in members) + slack
    )
    assert tied.earned <= free.earned + slack


def test_members_split_one_answer_equally() -> None:
    weights = dependent_group_weights(
        np.array([0, 0, 0, 0, 1]), np.array([0, 0, 0, -1, 0]), np.array([9, 9, 9, 7, 8])
    )
    assert weights.tolist() == [3, 3, 3, 7, 8]  # 27 // 3² each on item 0; a lone member keeps 8


def test_a_bad_group_column_is_refused() -> None:
    with pytest.raises(InvalidInput, match=r"answers\.group"):
        quality_weighted_rewards(AnswerColumns([0], [0], [1.0], group=[-2]), price_per_answer=10)
    with pytest.raises(InvalidInput, match=r"answers\.group"):
        quality_weighted_rewards(
            AnswerColumns([0, 1], [0, 1], [1.0, 1.0], group=[0]), price_per_answer=10
        )


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 2), min_size=30, max_size=30),
    st.integers(0, 10**9),
)
def test_peer_prediction_pays_a_copy_ring_as_one_contributor(labels: list[int], pool: int) -> None:
    # contributors 0..2 honest-ish, 3 and 4 copy contributor 2 on every item
    items, workers, answers = [], [], []
    for item in range(10):
        for worker in range(3):
            items.append(item)
            workers.append(worker)
            answers.append(labels[item * 3 + worker])
        for copy in (3, 4):
            items.append(item)
            workers.append(copy)
            answers.append(labels[item * 3 + 2])
    group = [0 if w in (2, 3, 4) else -1 for w in workers]
    tied = peer_prediction_rewards(items, workers, answers, n_classes=3, pool=pool, group=group)
    assert tied.earned + tied.unearned == pool
    assert sum(tied.amounts.values()) == tied.earned
    lone = [w for w in range(5) if w not in (2, 3, 4)]
    # the group is scored as one contributor: its three members share that one's pay
    alone = peer_prediction_rewards(
        [i for i, w in zip(items, workers, strict=True) if w < 3],
        [w for w in workers if w < 3],
        [a for a, w in zip(answers, workers, strict=True) if w < 3],
        n_classes=3,
        pool=pool,
    )
    assert sum(tied.amounts[w] for w in (2, 3, 4)) == alone.amounts[2]
    assert all(tied.amounts[w] == alone.amounts[w] for w in lone)
