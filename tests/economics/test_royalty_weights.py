"""Royalty weights: the default rule, exact integers, spammers (paid 0, no items) get nothing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from datafair.core.errors import InvalidInput
from datafair.economics.royalty_weights import (
    ContributionTable,
    release_weights,
    royalty_weights,
    weight_shares,
)


def _table(**changes: object) -> ContributionTable:
    base = {
        "accounts": ["0xa", "0xb", "0xc"],
        "paid": [900, 0, 300],
        "accepted_items": [0, 0, 2],
        "answers": [10, 10, 0],
        "reviews": [0, 0, 4],
        "item_value": 100,
    }
    base.update(changes)
    return ContributionTable(**base)  # type: ignore[arg-type]


def test_default_rule_adds_item_value_for_providers() -> None:
    assert royalty_weights(_table()) == {"0xa": 900, "0xc": 500}


def test_sources_sum_by_account() -> None:
    other = _table(
        accounts=["0xb", "0xc"],
        paid=[50, 0],
        accepted_items=[0, 1],
        answers=[1, 0],
        reviews=[0, 0],
        item_value=7,
    )
    assert release_weights([_table(), other]) == {"0xa": 900, "0xb": 50, "0xc": 507}


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"accounts": ["0xb", "0xa", "0xc"]}, "sorted"),
        ({"paid": [1, 2]}, r"contributions\.paid: has 2 rows"),
        ({"paid": [1, -2, 3]}, "not a non-negative integer"),
        ({"item_value": -1}, "must not be negative"),
    ],
)
def test_bad_tables_are_refused(changes: dict[str, object], match: str) -> None:
    with pytest.raises(InvalidInput, match=match):
        royalty_weights(_table(**changes))


def test_unknown_rule() -> None:
    with pytest.raises(InvalidInput, match="unknown weights rule"):
        royalty_weights(_table(), "equal")


@given(
    paid=st.lists(st.integers(0, 10**24), min_size=1, max_size=30),
    pool=st.integers(0, 10**24),
)
def test_shares_never_exceed_the_pool(paid: list[int], pool: int) -> None:
    accounts = [f"0x{i:04x}" for i in range(len(paid))]
    table = ContributionTable(accounts, paid, [0] * len(paid), [0] * len(paid), [0] * len(paid), 0)
    weights = royalty_weights(table)
    shares = weight_shares(weights, pool)
    assert sum(shares.values()) <= pool
    if weights:
        # dust is below one base unit per account
        assert pool - sum(shares.values()) < len(weights)
