"""Royalty weights of a release: who built the data, as integers, by a published rule.

The default rule, :data:`DEFAULT_RULE` (``"paid-plus-items/1"``), gives each account

    ``weight = paid + accepted_items * item_value``

* ``paid``: the token base units the settlement of the release's source tasks paid the account
  (the sum of its payout leaves over every settled epoch of those tasks: answers weighted by
  their measured quality, reviews by their information, accepted contributed items; zero for
  spam-flagged contributors and for failed gold);
* ``accepted_items``: how many of the account's contributed items the reviews accepted and the
  release includes (providers); ``item_value`` is the base units one accepted item counts for,
  by default the price per item of its collection task, so a provider's weight is what they were
  paid plus, once more, the value of what they supplied.

An account whose weight is zero gets no leaf. Every input is an integer, so the weights are
exact and anyone recomputes them from the release bundle. Weights are bounded below 2**128 in
total (the market's accumulator multiplies them by 10**18 in 256 bits).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from datafair.core.errors import InvalidInput

DEFAULT_RULE = "paid-plus-items/1"
RULES = (DEFAULT_RULE,)
MAX_TOTAL_WEIGHT = 2**128 - 1


@dataclass(frozen=True)
class ContributionTable:
    """One row per account (``accounts`` sorted): what they were paid, how many items they
    supplied that were accepted, their answers and reviews (the last two are shown, not used
    by the default rule), and the value of an accepted item."""

    accounts: Sequence[str]
    paid: Sequence[int]
    accepted_items: Sequence[int]
    answers: Sequence[int]
    reviews: Sequence[int]
    item_value: int

    def check(self) -> None:
        """``InvalidInput`` naming the first malformed column."""
        n = len(self.accounts)
        if list(self.accounts) != sorted(set(self.accounts)):
            raise InvalidInput("contributions.accounts", "must be sorted and distinct")
        for name in ("paid", "accepted_items", "answers", "reviews"):
            column = getattr(self, name)
            if len(column) != n:
                raise InvalidInput(f"contributions.{name}", f"has {len(column)} rows, not {n}")
            for value in column:
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    raise InvalidInput(
                        f"contributions.{name}", f"{value!r} is not a non-negative integer"
                    )
        if isinstance(self.item_value, bool) or not isinstance(self.item_value, int):
            raise InvalidInput("contributions.item_value", "must be an integer")
        if self.item_value < 0:
            raise InvalidInput("contributions.item_value", "must not be negative")


def royalty_weights(table: ContributionTable, rule: str = DEFAULT_RULE) -> dict[str, int]:
    """The positive integer weights by account under ``rule`` (see the module docstring)."""
    if rule not in RULES:
        raise InvalidInput("rule", f"unknown weights rule {rule!r}", f"use {DEFAULT_RULE}")
    table.check()
    weights = {
        account: paid + items * table.item_value
        for account, paid, items in zip(
            table.accounts, table.paid, table.accepted_items, strict=True
        )
    }
    positive = {account: weight for account, weight in weights.items() if weight > 0}
    if sum(positive.values()) > MAX_TOTAL_WEIGHT:
        raise InvalidInput("weights", "total is at least 2**128", "lower the item value")
    return positive


def release_weights(
    tables: Sequence[ContributionTable], rule: str = DEFAULT_RULE
) -> dict[str, int]:
    """The weights of a release built from several sources: each source's table under
    ``rule`` (at its own item value), summed by account."""
    total: dict[str, int] = {}
    for table in tables:
        for account, weight in royalty_weights(table, rule).items():
            total[account] = total.get(account, 0) + weight
    if sum(total.values()) > MAX_TOTAL_WEIGHT:
        raise InvalidInput("weights", "total is at least 2**128", "lower the item value")
    return dict(sorted(total.items()))


def weight_shares(weights: Mapping[str, int], pool: int) -> dict[str, int]:
    """What a royalty ``pool`` pays each account, rounded down (the market's accumulator
    rounds the same way; the remainder is dust that stays in the contract)."""
    total = sum(weights.values())
    if total == 0:
        return {}
    return {account: pool * weight // total for account, weight in weights.items()}
