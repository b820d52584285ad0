"""Assignment rules from a spec's extra: defaults, the share cap, the onboarding quota."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from datafair.core.assignment_rules import (
    DEFAULT_MAX_SHARE_BPS,
    DEFAULT_MAX_SKIPS,
    DEFAULT_ONBOARDING_GOLD,
    DEFAULT_ONBOARDING_ITEMS,
    SHARE_CAP_FLOOR,
    AssignmentRules,
    assignment_rules,
)
from datafair.core.errors import InvalidInput


def test_defaults_with_and_without_gold() -> None:
    with_gold = assignment_rules({}, has_gold=True)
    assert with_gold == AssignmentRules(
        DEFAULT_MAX_SHARE_BPS, DEFAULT_MAX_SKIPS, DEFAULT_ONBOARDING_ITEMS, DEFAULT_ONBOARDING_GOLD
    )
    assert assignment_rules({}, has_gold=False).onboarding_items == 0
    assert assignment_rules({}, has_gold=False).onboarding_gold == 0
    assert not with_gold.assigned_only
    assert assignment_rules({"assigned_only": True}, has_gold=False).assigned_only


def test_the_share_cap_is_a_share_of_the_slots_with_a_floor() -> None:
    rules = AssignmentRules(max_share_bps=2_000)
    assert rules.share_cap(100_000, 5) == 100_000
    assert rules.share_cap(1_001, 1) == 201  # rounded up
    assert rules.share_cap(10, 3) == SHARE_CAP_FLOOR


@given(
    st.integers(0, 40).flatmap(
        lambda n: st.tuples(
            st.just(n), st.integers(0, n), st.lists(st.floats(0, 0.999999), min_size=n, max_size=n)
        )
    )
)
def test_exactly_the_quota_of_gold_in_the_window_whatever_the_draws(
    case: tuple[int, int, list[float]],
) -> None:
    window, quota, draws = case
    rules = AssignmentRules(onboarding_items=window, onboarding_gold=quota)
    gold = 0
    for n, draw in enumerate(draws):
        wants = rules.onboarding_wants_gold(n, gold, draw)
        assert wants is not None
        gold += wants
    assert gold == quota
    assert rules.onboarding_wants_gold(window, gold, 0.0) is None


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"max_share_bps": 10_001}, "extra.max_share_bps: must be an integer 1..10000"),
        ({"max_skips": 1.5}, "extra.max_skips: must be an integer 0..100000"),
        ({"onboarding_items": 1_001}, "extra.onboarding_items: must be an integer 0..1000"),
        ({"onboarding_gold": -1}, "extra.onboarding_gold: must be an integer 0..1000"),
        ({"onboarding_items": 1}, "extra.onboarding_gold: 3 gold items do not fit"),
        ({"assigned_only": "yes"}, "extra.assigned_only: must be true or false, got 'yes'"),
        ({"assigned_only": 1}, "extra.assigned_only: must be true or false, got 1"),
    ],
)
def test_bad_values_are_one_line_errors_naming_the_field(
    extra: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidInput, match="^" + message) as raised:
        assignment_rules(extra, has_gold=True)
    assert "\n" not in str(raised.value)


def test_an_onboarding_quota_without_gold_is_refused() -> None:
    with pytest.raises(InvalidInput, match=r"^extra\.onboarding_gold: the task has no gold"):
        assignment_rules({"onboarding_items": 4, "onboarding_gold": 2}, has_gold=False)
