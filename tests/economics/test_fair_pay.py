"""Fair-pay floor: median hourly pay, the price a floor needs, refusal naming that price."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from datafair.core.errors import InvalidInput
from datafair.economics import (
    assess_price,
    check_price,
    effective_hourly_pay,
    median_millis,
    price_needed,
)

seconds_lists = st.lists(st.floats(0.01, 3_600.0, allow_nan=False), min_size=1, max_size=25)


def test_median_millis() -> None:
    assert median_millis([3.0, 1.0, 2.0]) == 2_000
    assert median_millis([1.0, 2.0]) == 1_500
    assert median_millis([0.001, 0.0024]) == 2  # 1 ms and 2 ms: the upper mean, rounded up
    assert median_millis([0.0001]) == 1  # never below one millisecond


def test_hourly_pay_examples() -> None:
    # 20 s per answer at 100 units: 180 answers an hour.
    assert effective_hourly_pay(100, [20.0, 19.0, 25.0]) == 18_000
    # Per-answer pay: the median of 3600, 7200 and 1800 per hour.
    assert effective_hourly_pay([10, 20, 5], [10.0, 10.0, 10.0]) == 3_600
    assert effective_hourly_pay([10, 20], [10.0, 10.0]) == 5_400


def test_price_needed_examples() -> None:
    assert price_needed(18_000, 20.0) == 100
    assert price_needed(18_001, 20.0) == 101  # rounded up
    assert price_needed(0, 20.0) == 0


@given(st.integers(0, 10**24), seconds_lists)
def test_price_needed_is_the_least_price_meeting_the_floor(
    floor: int, seconds: list[float]
) -> None:
    median_seconds = median_millis(seconds) / 1_000
    needed = price_needed(floor, median_seconds)
    assert effective_hourly_pay(needed, seconds) >= floor
    if needed > 0:
        assert effective_hourly_pay(needed - 1, seconds) < floor
    verdict = assess_price(needed, seconds, floor)
    assert not verdict.below_floor and verdict.price_needed == needed


def test_check_price_names_the_price_needed() -> None:
    pilot = [20.0, 22.0, 18.0, 40.0, 19.0]
    with pytest.raises(InvalidInput) as error:
        check_price(90, pilot, 18_000)
    assert error.value.field == "price_per_answer"
    assert "16200 base units per hour" in str(error.value)
    assert "at least 100" in str(error.value)
    verdict = check_price(100, pilot, 18_000)
    assert (verdict.median_ms, verdict.hourly, verdict.below_floor) == (20_000, 18_000, False)


def test_running_task_below_the_floor_is_flagged() -> None:
    verdict = assess_price(50, [30.0] * 10, 10_000)
    assert verdict.below_floor
    assert verdict.hourly == 6_000
    assert verdict.price_needed == 84


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: check_price(10, [], 100), "pilot_seconds"),
        (lambda: check_price(-1, [1.0], 100), "price_per_answer"),
        (lambda: check_price(10, [1.0], -100), "floor_per_hour"),
        (lambda: effective_hourly_pay(10, []), "seconds"),
        (lambda: effective_hourly_pay(10, [0.0]), "seconds"),
        (lambda: effective_hourly_pay(10, [-3.0]), "seconds"),
        (lambda: effective_hourly_pay(10, [float("nan")]), "seconds"),
        (lambda: effective_hourly_pay(10, [float("inf")]), "seconds"),
        (lambda: effective_hourly_pay(1.5, [1.0]), "pay_per_answer"),  # type: ignore[arg-type]
        (lambda: effective_hourly_pay(True, [1.0]), "pay_per_answer"),
        (lambda: effective_hourly_pay("10", [1.0]), "pay_per_answer"),  # type: ignore[arg-type]
        (lambda: effective_hourly_pay([1, 2], [1.0]), "pay_per_answer"),
        (lambda: effective_hourly_pay([1, -2], [1.0, 1.0]), "pay_per_answer"),
        (lambda: price_needed(100, 0.0), "median_seconds"),
        (lambda: price_needed(-1, 1.0), "floor_per_hour"),
        (lambda: median_millis([[1.0, 2.0]]), "seconds"),  # type: ignore[list-item]
        (lambda: median_millis(["a"]), "seconds"),  # type: ignore[list-item]
        (lambda: effective_hourly_pay(None, [1.0]), "pay_per_answer"),  # type: ignore[arg-type]
    ],
)
def test_bad_input_is_named(call: Any, field: str) -> None:
    with pytest.raises(InvalidInput) as error:
        call()
    assert error.value.field == field
