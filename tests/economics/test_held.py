"""Thin evidence is paid later, not never (datafair.economics.held)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from datafair.economics.held import certainty_bps, default_min_answers, hold_uncertain_pay

ACCOUNTS = ["0xa", "0xb", "0xc", "0xd"]
amounts = st.dictionaries(st.sampled_from(ACCOUNTS), st.integers(0, 10**24))


@given(
    amounts,
    amounts,
    st.dictionaries(st.sampled_from(ACCOUNTS), st.integers(0, 10_000)),
    st.frozensets(st.sampled_from(ACCOUNTS)),
)
def test_money_is_conserved(gross, carried, certainty, spam) -> None:  # type: ignore[no-untyped-def]
    held = hold_uncertain_pay(gross, carried, certainty, spam)
    total_in = sum(gross.values()) + sum(carried.values())
    assert sum(held.paid.values()) + held.held_total + held.forfeited == total_in
    assert all(value >= 0 for value in [*held.paid.values(), *held.held.values()])
    for account in spam:
        assert held.paid.get(account, 0) == 0 and account not in held.held
    for account, value in held.released.items():
        assert 0 < value <= carried[account]


def test_the_uncertain_part_is_held_then_released() -> None:
    first = hold_uncertain_pay({"0xa": 1000}, {}, {"0xa": 6_000}, frozenset())
    assert first.paid == {"0xa": 600} and first.held == {"0xa": 400}
    later = hold_uncertain_pay({"0xa": 100}, first.held, {"0xa": 10_000}, frozenset())
    assert later.paid == {"0xa": 500} and later.held == {} and later.released == {"0xa": 400}


def test_a_spammer_forfeits_what_was_held() -> None:
    held = hold_uncertain_pay({}, {"0xa": 400}, {}, frozenset({"0xa"}))
    assert held.paid == {"0xa": 0} and held.forfeited == 400 and held.held == {}


def test_certainty_grows_with_evidence() -> None:
    assert certainty_bps(30, 0.9, 0.8, 1 / 3, min_answers=20) == 10_000
    few = certainty_bps(5, 0.85, 0.55, 1 / 3, min_answers=20)
    assert 0 < few < 10_000
    assert certainty_bps(5, 0.3, 0.1, 1 / 3, min_answers=20) == 0


def test_the_default_bar_is_half_the_typical_contributors_answers_at_most_30() -> None:
    # 40 contributors with 180 answers each: the bar is the ceiling
    assert default_min_answers([180] * 40, 30) == 30
    # a small task: its typical contributor (6 answers) is paid in full
    assert default_min_answers([6, 6, 6, 6], 30) == 3
    assert default_min_answers([], 30) == 0


def test_a_swarm_of_small_wallets_cannot_lower_the_bar() -> None:
    # 150 sybils with 3 answers each outnumber 40 workers with 150 answers, but not in answers
    assert default_min_answers([3] * 150 + [150] * 40, 30) == 30
    assert certainty_bps(3, 0.8, 0.35, 0.5, min_answers=30) == 0


def test_doubt_holds_pay_continuously_up_to_the_spam_line() -> None:
    # enough answers: the doubt alone decides, from all paid (none) to nothing (at the line)
    assert certainty_bps(150, 0.8, 0.7, 1 / 3, min_answers=30, doubt=0.0) == 10_000
    assert certainty_bps(150, 0.8, 0.7, 1 / 3, min_answers=30, doubt=0.25) == 7_500
    assert certainty_bps(150, 0.8, 0.7, 1 / 3, min_answers=30, doubt=1.0) == 0
    assert certainty_bps(150, 0.8, 0.7, 1 / 3, min_answers=30, doubt=3.0) == 0
    # thin evidence: the smaller of the two shares
    thin = certainty_bps(5, 0.85, 0.55, 1 / 3, min_answers=20)
    assert certainty_bps(5, 0.85, 0.55, 1 / 3, min_answers=20, doubt=0.75) == 2_500 < thin
