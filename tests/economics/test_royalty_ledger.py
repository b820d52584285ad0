"""The royalty ledger: the sale split and the accumulator's exact conservation and dust bound."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from datafair.economics.royalty_ledger import (
    ACC_SCALE,
    RoyaltyLedger,
    dust_bound,
    sale_split,
)

weights_st = st.dictionaries(
    st.sampled_from([f"0x{i:040x}" for i in range(1, 9)]),
    st.integers(1, 10**24),
    min_size=1,
)
pools = st.lists(st.integers(0, 10**24), max_size=12)


def test_sale_split_examples() -> None:
    assert sale_split(100, 250, 3000) == (2, 30, 68)
    assert sale_split(10**20, 500, 9500) == (5 * 10**18, 95 * 10**18, 0)
    assert sale_split(0, 250, 3000) == (0, 0, 0)
    with pytest.raises(ValueError):
        sale_split(100, 600, 9500)


@given(st.integers(0, 2**96 - 1), st.integers(0, 500), st.integers(0, 9500))
def test_sale_split_conserves_and_caps_the_fee(price: int, fee_bps: int, royalty: int) -> None:
    fee, pool, rest = sale_split(price, fee_bps, royalty)
    assert fee + pool + rest == price and min(fee, pool, rest) >= 0
    assert fee * 10_000 <= price * 500


@given(weights_st, pools, st.integers(0, 12), st.data())
def test_claims_plus_claimable_plus_dust_is_the_pool(
    weights: dict[str, int], amounts: list[int], commit_after: int, data: st.DataObject
) -> None:
    ledger = RoyaltyLedger()
    total = sum(weights.values())
    for i, pool in enumerate(amounts):
        if i == commit_after:
            ledger.commit(total)
        ledger.credit(pool)
        if ledger.total_weight and data.draw(st.booleans()):
            account = data.draw(st.sampled_from(sorted(weights)))
            ledger.claim(account, weights[account])
    if not ledger.total_weight:
        assert ledger.held == ledger.received  # held, never lost
        ledger.commit(total)
    assert ledger.acc * total + ledger.carry == (ledger.received - ledger.held) * ACC_SCALE
    claimable = sum(ledger.claimable(a, w) for a, w in weights.items())
    dust = ledger.dust(weights)
    assert ledger.claimed + claimable + dust == ledger.received
    assert 0 <= dust <= dust_bound(total, len(weights))
    for account, weight in weights.items():  # nobody beyond their weight's share
        assert ledger.paid.get(account, 0) * total <= weight * ledger.received


def test_commit_is_once_and_positive() -> None:
    ledger = RoyaltyLedger()
    with pytest.raises(ValueError):
        ledger.commit(0)
    ledger.credit(10)
    ledger.commit(3)
    assert (ledger.acc, ledger.carry, ledger.held) == (10 * ACC_SCALE // 3, 10 * ACC_SCALE % 3, 0)
    with pytest.raises(ValueError):
        ledger.commit(3)
    with pytest.raises(ValueError):
        ledger.credit(-1)
