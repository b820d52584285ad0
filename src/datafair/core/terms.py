"""Task terms a task is created with: deadlines and token amounts within what can be paid.

* A deadline is Unix seconds; ``0`` means none (the task stays open until closed). A task
  created with a deadline must end in the future and at most :data:`MAX_TASK_SECONDS`
  (ten years) from its creation: ``+0d``, a past date or the year 3000 are refused.
* Token amounts (a price per answer, a funding amount) are integers in base units and fit the
  ERC-20 ``uint256`` that holds them: at most :data:`MAX_UINT256`. A task's whole budget,
  ``price × items × k``, must fit too, or no escrow could ever hold it.

Each check raises one ``InvalidInput`` naming the field, what is wrong and the fix.
"""

from __future__ import annotations

from datafair.core.errors import InvalidInput

MAX_UINT256 = 2**256 - 1
"""The largest token amount: ERC-20 balances and allowances are ``uint256``."""
MAX_TASK_SECONDS = 10 * 365 * 86_400
"""Longest time between a task's creation and its deadline: ten years (of 365 days)."""
MAX_UNIX_SECONDS = 2**63 - 1
"""The largest time either store holds (a signed 64-bit integer column)."""


def token_amount(value: object, field: str, *, positive: bool = False) -> int:
    """``value`` as an amount of token base units in ``0..2**256-1`` (``1..`` if ``positive``)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(field, f"must be an integer in token base units, got {value!r}")
    if value < (1 if positive else 0):
        kind = "a positive integer" if positive else "a non-negative integer"
        raise InvalidInput(field, f"must be {kind}, got {value}", "give an amount in base units")
    if value > MAX_UINT256:
        raise InvalidInput(
            field,
            f"{value} is above 2**256-1, the most a token can hold",
            "give a smaller amount in base units",
        )
    return value


def unix_time(value: object, field: str) -> int:
    """``value`` as Unix seconds that the stores can hold (``0..2**63-1``)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(field, f"must be Unix seconds (an integer), got {value!r}")
    if not 0 <= value <= MAX_UNIX_SECONDS:
        raise InvalidInput(
            field, f"{value} is not a Unix time in seconds", "give a date, e.g. +30d or 2027-06-30"
        )
    return value


def task_deadline(deadline: int, now: float, field: str = "deadline") -> int:
    """A new task's deadline: ``0`` (none) or in ``(now, now + MAX_TASK_SECONDS]``."""
    unix_time(deadline, field)
    if deadline == 0:
        return 0
    fix = "give a deadline in the next ten years, e.g. +30d or a date"
    if deadline <= now:
        raise InvalidInput(field, f"{deadline} is not in the future (now is {int(now)})", fix)
    if deadline > now + MAX_TASK_SECONDS:
        raise InvalidInput(field, f"{deadline} is more than ten years away", fix)
    return deadline


def task_budget(price_per_answer: int, items: int, overlap: int) -> int:
    """The most a task can pay, ``price × items × k``; ``InvalidInput`` unless it fits uint256."""
    budget = token_amount(price_per_answer, "price_per_answer") * items * overlap
    if budget > MAX_UINT256:
        raise InvalidInput(
            "price_per_answer",
            f"{price_per_answer} × {items} items × {overlap} answers is above 2**256-1, the "
            "most a token can hold",
            f"give a price of at most {MAX_UINT256 // max(1, items * overlap)}",
        )
    return budget
