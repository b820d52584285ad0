"""The platform fee: capped, rounded down, accepted by the escrow's rule; payout conservation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from datafair.core.errors import InvalidInput
from datafair.economics import DEFAULT_FEE_BPS, MAX_FEE_BPS, check_fee_bps, fee_for, split_payout

amounts = st.integers(min_value=0, max_value=10**30)
rates = st.integers(min_value=0, max_value=MAX_FEE_BPS)


def test_cap_and_default_match_the_escrow_contract() -> None:
    assert MAX_FEE_BPS == 500
    assert DEFAULT_FEE_BPS == 250
    assert DEFAULT_FEE_BPS <= MAX_FEE_BPS


def test_fee_examples() -> None:
    assert fee_for(10_000, 250) == 250
    assert fee_for(39, 250) == 0  # rounds down: 0.975
    assert fee_for(40, 250) == 1
    assert fee_for(10**24, 500) == 5 * 10**22
    assert fee_for(123, 0) == 0


@given(amounts, rates)
def test_fee_never_exceeds_its_rate_or_the_cap(gross: int, fee_bps: int) -> None:
    fee = fee_for(gross, fee_bps)
    assert 0 <= fee <= gross
    assert fee * 10_000 <= gross * fee_bps <= gross * MAX_FEE_BPS
    assert (fee + 1) * 10_000 > gross * fee_bps  # and it is the largest such fee


@pytest.mark.parametrize("fee_bps", [MAX_FEE_BPS + 1, -1, 10_000, 2.5, True, None])
def test_fee_rate_outside_the_cap_is_refused(fee_bps: object) -> None:
    with pytest.raises(InvalidInput, match="fee_bps"):
        check_fee_bps(fee_bps)
    with pytest.raises(InvalidInput, match="fee_bps"):
        fee_for(100, fee_bps)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="fee_bps"):
        split_payout(100, {"a": 1}, fee_bps)  # type: ignore[arg-type]


@pytest.mark.parametrize("gross", [-1, 1.0, "5"])
def test_fee_of_a_bad_amount_is_refused(gross: object) -> None:
    with pytest.raises(InvalidInput, match="gross"):
        fee_for(gross, 250)  # type: ignore[arg-type]


def test_split_example() -> None:
    payout = split_payout(1_000, {"0xb": 500, "0xa": 300, "0xc": 0}, 250)
    assert (payout.gross, payout.fee, payout.total, payout.unearned) == (800, 20, 780, 200)
    assert list(payout.amounts) == ["0xa", "0xb", "0xc"]
    assert payout.amounts == {"0xa": 293, "0xb": 487, "0xc": 0}


@given(
    st.dictionaries(st.integers(0, 10**6), st.integers(0, 10**24), max_size=25),
    st.integers(0, 10**25),
    rates,
)
def test_split_conserves_money(rewards: dict[int, int], slack: int, fee_bps: int) -> None:
    budget = sum(rewards.values()) + slack
    payout = split_payout(budget, rewards, fee_bps)
    assert payout.total + payout.fee + payout.unearned == budget
    assert sum(payout.amounts.values()) == payout.total
    assert all(value >= 0 for value in payout.amounts.values())
    assert all(payout.amounts[key] <= rewards[key] for key in rewards)
    # The escrow's own check on post_payout(total, fee):
    assert payout.fee * 10_000 <= (payout.total + payout.fee) * fee_bps
    shuffled = dict(reversed(list(rewards.items())))
    assert split_payout(budget, shuffled, fee_bps) == payout


def test_rewards_above_the_budget_are_refused() -> None:
    with pytest.raises(InvalidInput, match="more than the budget"):
        split_payout(10, {"a": 6, "b": 5}, 250)


@pytest.mark.parametrize("bad", [-1, 2.0])
def test_negative_or_fractional_rewards_are_refused(bad: object) -> None:
    with pytest.raises(InvalidInput, match="rewards"):
        split_payout(10, {"a": bad}, 250)  # type: ignore[dict-item]
    with pytest.raises(InvalidInput, match="budget"):
        split_payout(bad, {"a": 1}, 250)  # type: ignore[arg-type]
