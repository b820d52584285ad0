"""Fair-pay floor: effective hourly pay from time on item, and the price a floor requires.

Each submission records the seconds its contributor spent on the item. Times are rounded to
whole milliseconds (round half to even, at least 1 ms) so every figure below is integer
arithmetic on token base units:

* effective hourly pay of a price ``P`` over times ``t``: ``floor(P * 3_600_000 / median_ms(t))``;
* with a pay per answer, the median over answers of ``floor(pay_i * 3_600_000 / ms_i)``;
* price needed to meet a floor ``F`` per hour: ``ceil(F * median_ms / 3_600_000)``, the least
  price whose effective hourly pay is at least ``F``.

Medians of an even count lean toward the contributor: the median time is the upper mean of the
two middle times, rounded up, and the median hourly pay the lower mean, rounded down. Median
rather than mean, as in the hourly-wage studies of crowd work (Hara et al., "A Data-Driven
Analysis of Workers' Earnings on Amazon Mechanical Turk", CHI 2018), so a few very slow or very
fast answers cannot move the figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from datafair.core.errors import InvalidInput
from datafair.economics._checks import amount

MILLIS_PER_HOUR = 3_600_000


def _millis(seconds: Sequence[float], field: str) -> list[int]:
    try:
        array = np.asarray(seconds, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidInput(field, "must be a list of seconds") from None
    if array.ndim != 1:
        raise InvalidInput(field, f"must be one-dimensional, got shape {array.shape}")
    if array.size == 0:
        raise InvalidInput(field, "is empty", "record time on item for at least one answer")
    if not np.all(np.isfinite(array)) or array.min() <= 0.0:
        raise InvalidInput(field, "holds a time that is not a positive number of seconds")
    return [max(int(ms), 1) for ms in np.rint(array * 1000.0).tolist()]


def median_millis(seconds: Sequence[float]) -> int:
    """The median time on item in whole milliseconds (even count: mean of the middle two, up)."""
    ordered = sorted(_millis(seconds, "seconds"))
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return -(-(ordered[middle - 1] + ordered[middle]) // 2)


def effective_hourly_pay(pay_per_answer: int | Sequence[int], seconds: Sequence[float]) -> int:
    """Median pay per hour of work, in base units, for answers taking ``seconds`` each.

    ``pay_per_answer`` is one price for every answer, or one amount per answer aligned with
    ``seconds`` (then the median of the per-answer hourly rates; even count: mean of the middle
    two, down).
    """
    if isinstance(pay_per_answer, int | np.integer) and not isinstance(pay_per_answer, bool):
        return amount(pay_per_answer, "pay_per_answer") * MILLIS_PER_HOUR // median_millis(seconds)
    if isinstance(pay_per_answer, bool | str | bytes) or not isinstance(
        pay_per_answer, Sequence | np.ndarray
    ):
        raise InvalidInput(
            "pay_per_answer", f"must be an integer or integers, got {pay_per_answer!r}"
        )
    pays = [amount(pay, "pay_per_answer") for pay in pay_per_answer]
    millis = _millis(seconds, "seconds")
    if len(pays) != len(millis):
        raise InvalidInput(
            "pay_per_answer", f"has {len(pays)} amounts for {len(millis)} times", "align them"
        )
    rates = sorted(pay * MILLIS_PER_HOUR // ms for pay, ms in zip(pays, millis, strict=True))
    middle = len(rates) // 2
    return rates[middle] if len(rates) % 2 else (rates[middle - 1] + rates[middle]) // 2


def _needed(floor_per_hour: int, millis: int) -> int:
    return -(-floor_per_hour * millis // MILLIS_PER_HOUR)


def price_needed(floor_per_hour: int, median_seconds: float) -> int:
    """The least price per answer that pays ``floor_per_hour`` at ``median_seconds`` per answer."""
    floor_per_hour = amount(floor_per_hour, "floor_per_hour")
    return _needed(floor_per_hour, _millis([median_seconds], "median_seconds")[0])


@dataclass(frozen=True)
class FairPay:
    """How a price compares with the floor: median time (ms), hourly pay, the floor, the least
    price meeting it, and whether the price falls below it."""

    median_ms: int
    hourly: int
    floor_per_hour: int
    price_needed: int
    below_floor: bool


def assess_price(price: int, seconds: Sequence[float], floor_per_hour: int) -> FairPay:
    """Compare ``price`` per answer with the floor, for answers taking ``seconds`` each.

    Used on a running task to flag it when it falls below the floor.
    """
    price = amount(price, "price_per_answer")
    floor_per_hour = amount(floor_per_hour, "floor_per_hour")
    median = median_millis(seconds)
    hourly = price * MILLIS_PER_HOUR // median
    return FairPay(
        median, hourly, floor_per_hour, _needed(floor_per_hour, median), hourly < floor_per_hour
    )


def check_price(price: int, pilot_seconds: Sequence[float], floor_per_hour: int) -> FairPay:
    """Refuse a price that the pilot's median time shows below the floor.

    Raises ``InvalidInput`` on ``price_per_answer`` naming the price needed; otherwise returns
    the :class:`FairPay` figures.
    """
    if not len(pilot_seconds):
        raise InvalidInput("pilot_seconds", "is empty", "run a pilot to measure time on item")
    verdict = assess_price(price, pilot_seconds, floor_per_hour)
    if verdict.below_floor:
        raise InvalidInput(
            "price_per_answer",
            f"{price} pays {verdict.hourly} base units per hour at the pilot's median of "
            f"{verdict.median_ms / 1000:g} s per answer, below the floor of {floor_per_hour}",
            f"set it to at least {verdict.price_needed}",
        )
    return verdict
