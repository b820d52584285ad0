"""Fair-pay floor: what a task pays per hour of work, against the operator's floor.

Inputs: an open ``Session``; a task id (bytes or hex); the operator's floor in token base units
per hour (``DATAFAIR_FAIR_PAY_FLOOR``; 0 means no floor).

Each signed submission records the time its contributor spent on the item (``duration_ms``,
covered by the signature). A task's effective hourly pay is its price per answer over the
*median* time on item, ``floor(price * 3 600 000 / median_ms)``
(:func:`datafair.economics.assess_price`; median as in Hara et al., "A Data-Driven Analysis of
Workers' Earnings on Amazon Mechanical Turk", CHI 2018). Submissions that recorded no time
(0 ms) are left out: they say nothing about the work.

* :func:`fair_pay_status` reports the figures of a running task and flags it
  (``below_floor``) when its median hourly pay falls below the floor.
* :func:`check_funding_price` is the funding check: when the requester's pilot (the answers the
  task has before funding) shows the price below the floor, it raises ``InvalidInput`` on
  ``price_per_answer`` naming the price needed; without a pilot or a floor there is nothing to
  check.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from datafair.economics import assess_price, check_price
from datafair.economics._checks import amount
from datafair.services.tasks import load_task
from datafair.store.models import Task
from datafair.store.repositories import SubmissionRepository


@dataclass(frozen=True)
class FairPayStatus:
    """A task's pay per hour of work against the floor.

    ``timed_answers`` counts the submissions with a recorded time; when it is 0, ``median_ms``,
    ``hourly`` and ``price_needed`` are ``None`` and the task is not flagged. ``price_needed``
    is the least price per answer that meets the floor at the median time.
    """

    task_id: bytes
    price_per_answer: int
    floor_per_hour: int
    timed_answers: int
    median_ms: int | None
    hourly: int | None
    price_needed: int | None
    below_floor: bool


def _seconds(session: Session, task: Task) -> list[float]:
    return [ms / 1000.0 for ms in SubmissionRepository(session).durations_ms(task.id)]


def _price(task: Task) -> int:
    return int(task.spec["price_per_answer"])


def _status(task: Task, seconds: list[float], floor: int) -> FairPayStatus:
    price = _price(task)
    if not seconds:
        return FairPayStatus(task.task_id, price, floor, 0, None, None, None, False)
    verdict = assess_price(price, seconds, floor)
    return FairPayStatus(
        task_id=task.task_id,
        price_per_answer=price,
        floor_per_hour=floor,
        timed_answers=len(seconds),
        median_ms=verdict.median_ms,
        hourly=verdict.hourly,
        price_needed=verdict.price_needed,
        below_floor=verdict.below_floor,
    )


def fair_pay_status(session: Session, task_id: bytes | str, floor: int = 0) -> FairPayStatus:
    """The task's median time on item, effective hourly pay and whether it is below ``floor``.

    Raises ``NotFound`` / ``InvalidInput`` for an unknown or malformed task id, and
    ``InvalidInput`` on ``floor_per_hour`` for a negative floor.
    """
    floor = amount(floor, "floor_per_hour")
    task = load_task(session, task_id)
    return _status(task, _seconds(session, task), floor)


def check_funding_price(session: Session, task_id: bytes | str, floor: int) -> FairPayStatus:
    """Refuse to fund a task whose pilot shows its price below ``floor`` per hour.

    Raises ``InvalidInput`` on ``price_per_answer`` naming the price needed. Returns the
    status otherwise (also when there is no floor or no timed pilot answer yet).
    """
    floor = amount(floor, "floor_per_hour")
    task = load_task(session, task_id)
    seconds = _seconds(session, task)
    if floor and seconds:
        check_price(_price(task), seconds, floor)
    return _status(task, seconds, floor)
