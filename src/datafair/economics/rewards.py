"""Quality-weighted pay: each answer earns its price times the probability that it is right.

Rule (one task, one price per answer ``P``, reviewer share ``s`` in basis points):

* **Item budget.** An item with ``n`` paid answers has the budget ``B = P * n``. Of it,
  ``R = floor(B * s / 10_000)`` is reserved for reviews and the rest for the answers.
* **Answers.** Answer ``a`` has the weight ``w_a = rint(p_a * 10**9)``, where ``p_a`` is the
  posterior probability, from the quality engine, that the item's true label is the label the
  answer gave (``P(z_i = y_a | all answers)``, Dawid & Skene 1979); ``w_a = 0`` when its
  contributor is flagged as a spammer or the answer failed a gold item. The item's answers earn
  ``E = floor(P * (10_000 - s) * sum(w) / (10_000 * 10**9))`` together, split by the weights
  with the largest-remainder rule (ties: lower contributor index, then earlier row). So a
  certainly right answer earns about ``P * (1 - s)``, a wrong one nothing, an uncertain one in
  proportion; no answer ever earns more than ``P``.
* **Reviews.** Each of the item's ``m`` reviews may earn ``R / m`` times its ``agreement`` (1
  when the verdict agrees with the final label, 0 when not; a probability in between), zero for
  spam-flagged reviewers; together ``floor(R * sum(v) / (m * 10**9))`` with ``v`` the quantised
  agreements, split by largest remainder.
* **Dependent groups.** Contributors the quality engine groups as dependent (copiers, rings;
  :mod:`datafair.quality.dependence`) are paid as one contributor: on each item, the ``m``
  members of a group who answered it get ``floor(mean of their weights / m)`` each, so their
  answers together earn at most what one answer of that quality earns, split equally. A spam
  or chance-level group is flagged as a whole and earns nothing.
* **Unearned money** is never handed to other contributors: what the weights do not earn, and
  the review reserve of unreviewed items, stays in escrow for the requester's refund.

Every amount is an integer in token base units; the only floats are the probabilities, which
are quantised before any arithmetic on money. ``earned + unearned == budget`` always.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from datafair.core.errors import InvalidInput
from datafair.economics._checks import (
    BPS,
    amount,
    basis_points,
    flag_column,
    index_column,
    same_length,
    unit_column,
)
from datafair.economics.apportion import WEIGHT_SCALE, apportion_groups, quantise


@dataclass(frozen=True, eq=False)
class AnswerColumns:
    """One row per paid answer.

    ``item`` and ``contributor`` are non-negative integer indices; ``p_correct`` is the
    posterior probability that the answer is right, in ``[0, 1]``; ``is_spam`` is true when the
    answer's contributor is flagged as a spammer; ``failed_gold`` when the answer contradicts a
    gold item. The flag columns may be ``None`` (all false). ``group`` is the contributor's
    dependence group (an integer, ``-1`` when independent; ``None``: nobody is grouped).
    """

    item: ArrayLike
    contributor: ArrayLike
    p_correct: ArrayLike
    is_spam: ArrayLike | None = None
    failed_gold: ArrayLike | None = None
    group: ArrayLike | None = None


@dataclass(frozen=True, eq=False)
class ReviewColumns:
    """One row per review: the reviewed ``item``, the ``reviewer`` (a contributor index), the
    ``agreement`` of the verdict with the final label (bool or probability in ``[0, 1]``), and
    ``is_spam`` for reviewers flagged as spammers (``None``: all false)."""

    item: ArrayLike
    reviewer: ArrayLike
    agreement: ArrayLike
    is_spam: ArrayLike | None = None


@dataclass(frozen=True)
class RewardResult:
    """Gross rewards of one settlement, before the platform fee.

    ``answer_amounts[i]`` / ``review_amounts[j]`` are aligned with the input rows;
    ``by_contributor`` sums both per contributor index (every contributor that appears, sorted,
    zeros included); ``budget = price_per_answer * n_answers``; ``earned`` is the sum of all
    amounts and ``unearned = budget - earned`` stays in escrow.
    """

    price_per_answer: int
    review_bps: int
    budget: int
    answer_amounts: tuple[int, ...]
    review_amounts: tuple[int, ...]
    by_contributor: dict[int, int]
    earned: int
    unearned: int


def _answer_weights(answers: AnswerColumns) -> tuple[NDArray[np.int64], NDArray[np.int64], Any]:
    items = index_column(answers.item, "answers.item")
    n_rows = items.shape[0]
    contributors = index_column(answers.contributor, "answers.contributor")
    same_length("answers.contributor", contributors, n_rows)
    p_correct = unit_column(answers.p_correct, "answers.p_correct")
    same_length("answers.p_correct", p_correct, n_rows)
    unpaid = flag_column(answers.is_spam, "answers.is_spam", n_rows) | flag_column(
        answers.failed_gold, "answers.failed_gold", n_rows
    )
    weights = quantise(p_correct, normalise=False)
    weights[unpaid] = 0
    if answers.group is not None:
        weights = dependent_group_weights(items, _group_column(answers.group, n_rows), weights)
    return items, contributors, weights


def _group_column(values: ArrayLike, n_rows: int) -> NDArray[np.int64]:
    group = np.asarray(values)
    if group.shape != (n_rows,) or (group.size and group.dtype.kind not in "iu"):
        raise InvalidInput("answers.group", f"must be {n_rows} integers (-1: no group)")
    if group.size and int(group.min()) < -1:
        raise InvalidInput("answers.group", "holds a value below -1", "use -1 for no group")
    return group.astype(np.int64)


def dependent_group_weights(
    items: NDArray[np.int64], group: NDArray[np.int64], weights: NDArray[np.int64]
) -> NDArray[np.int64]:
    """Weights with each group's answers on an item worth one answer, split equally.

    Rows of group ``g >= 0`` on item ``i`` (``m`` of them) each get ``floor(mean / m)`` of
    their weights' mean (integer arithmetic); other rows keep theirs. So the group's rows on
    the item sum to at most the mean weight, never more than one answer's.
    """
    grouped = group >= 0
    if not grouped.any():
        return weights
    out = weights.copy()
    rows = np.flatnonzero(grouped)
    _, key, members = np.unique(
        np.stack([items[rows], group[rows]], axis=1),
        axis=0,
        return_inverse=True,
        return_counts=True,
    )
    key = key.reshape(-1)
    totals = np.zeros(members.shape[0], dtype=np.int64)
    np.add.at(totals, key, weights[rows])
    out[rows] = totals[key] // (members[key] * members[key])
    return out


def _review_weights(
    reviews: ReviewColumns,
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    items = index_column(reviews.item, "reviews.item")
    n_rows = items.shape[0]
    reviewers = index_column(reviews.reviewer, "reviews.reviewer")
    same_length("reviews.reviewer", reviewers, n_rows)
    agreement = unit_column(reviews.agreement, "reviews.agreement")
    same_length("reviews.agreement", agreement, n_rows)
    weights = quantise(agreement, normalise=False)
    weights[flag_column(reviews.is_spam, "reviews.is_spam", n_rows)] = 0
    return items, reviewers, weights


def _group_sums(groups: NDArray[np.int64], values: NDArray[np.int64], size: int) -> list[int]:
    sums = np.zeros(size, dtype=np.int64)
    np.add.at(sums, groups, values)
    return [int(value) for value in sums.tolist()]


def _totals_by_key(keys: NDArray[np.int64], amounts: Sequence[int]) -> dict[int, int]:
    unique, inverse = np.unique(keys, return_inverse=True)
    sums = np.zeros(unique.shape[0], dtype=object)
    sums[:] = 0
    np.add.at(sums, inverse, np.array(amounts, dtype=object))
    return {int(key): int(total) for key, total in zip(unique.tolist(), sums.tolist(), strict=True)}


def quality_weighted_rewards(
    answers: AnswerColumns,
    *,
    price_per_answer: int,
    reviews: ReviewColumns | None = None,
    review_bps: int = 0,
) -> RewardResult:
    """Gross rewards of answers (and reviews) by posterior correctness; see the module rule.

    ``price_per_answer`` is in token base units; ``review_bps`` (0..10 000) is the share of each
    item budget reserved for its reviews. Raises ``InvalidInput`` naming the first bad column.
    """
    price = amount(price_per_answer, "price_per_answer")
    share = basis_points(review_bps, "review_bps")
    items, contributors, weights = _answer_weights(answers)
    unique_items, item_group = np.unique(items, return_inverse=True)
    n_items = unique_items.shape[0]
    answers_per_item = [int(n) for n in np.bincount(item_group, minlength=n_items).tolist()]
    weight_sums = _group_sums(item_group, weights, n_items)
    answer_scale = price * (BPS - share)
    answer_pools = [answer_scale * w // (BPS * WEIGHT_SCALE) for w in weight_sums]
    answer_amounts = apportion_groups(answer_pools, item_group, weights, contributors)

    review_amounts: list[int] = []
    review_keys = np.zeros(0, dtype=np.int64)
    if reviews is not None:
        review_items, review_keys, review_weights = _review_weights(reviews)
        position = np.searchsorted(unique_items, review_items)
        known = position < n_items
        known[known] = unique_items[position[known]] == review_items[known]
        # Reviews of items without paid answers share a budget of zero (group ``n_items``).
        review_group = np.where(known, position, n_items).astype(np.int64)
        reviews_per_item = np.bincount(review_group, minlength=n_items + 1).tolist()
        agreement_sums = _group_sums(review_group, review_weights, n_items + 1)
        reserves = [price * n * share // BPS for n in answers_per_item] + [0]
        review_pools = [
            reserve * v // (int(m) * WEIGHT_SCALE) if m else 0
            for reserve, v, m in zip(reserves, agreement_sums, reviews_per_item, strict=True)
        ]
        review_amounts = apportion_groups(review_pools, review_group, review_weights, review_keys)

    budget = price * items.shape[0]
    earned = sum(answer_amounts) + sum(review_amounts)
    by_contributor = _totals_by_key(
        np.concatenate([contributors, review_keys]), answer_amounts + review_amounts
    )
    return RewardResult(
        price_per_answer=price,
        review_bps=share,
        budget=budget,
        answer_amounts=tuple(answer_amounts),
        review_amounts=tuple(review_amounts),
        by_contributor=by_contributor,
        earned=earned,
        unearned=budget - earned,
    )
