"""Fair-pay service: median hourly pay of a task from recorded time on item, the running-task
flag, and the funding check that names the price needed (and stores nothing when it refuses)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from datafair.core.errors import InvalidInput, NotFound
from datafair.services.fair_pay import check_funding_price, fair_pay_status
from datafair.services.settlement.funding import fund_task
from datafair.services.submissions import submit
from datafair.store.settlement_models import TaskFunding

# An escrow that only knows its chain: funding must refuse before it sends anything.
ESCROW = SimpleNamespace(chain=SimpleNamespace(chain_id=31337))


def _answer(session, task, contributors, clock, durations_ms):
    for j, duration in enumerate(durations_ms):
        entry = contributors[j].sign(task.info, task.items[0], "pos", 1, duration_ms=duration)
        submit(session, entry, clock=clock)


def test_the_median_time_gives_the_hourly_pay_and_the_flag(session, make_task, contributors, clock):
    task = make_task(1, overlap=5)  # price 10 base units per answer
    _answer(session, task, contributors, clock, [2_000, 4_000, 0, 90_000, 3_000])
    status = fair_pay_status(session, task.task_id, 10_000)
    # the 0 ms answer recorded no time; median of 2, 3, 4, 90 s leans to the contributor: 3.5 s
    assert (status.timed_answers, status.median_ms) == (4, 3_500)
    assert status.hourly == 10 * 3_600_000 // 3_500 == 10_285
    assert not status.below_floor and status.price_needed == 10
    flagged = fair_pay_status(session, task.task_id, 20_000)
    assert flagged.below_floor and flagged.price_needed == 20  # ceil(20000 * 3500 / 3600000)
    assert fair_pay_status(session, task.task_id).below_floor is False  # no floor


def test_a_task_without_timed_answers_is_not_flagged(session, make_task, contributors, clock):
    task = make_task(1)
    assert fair_pay_status(session, task.task_id, 10**9) == check_funding_price(
        session, task.task_id, 10**9
    )
    _answer(session, task, contributors, clock, [0, 0])
    status = fair_pay_status(session, task.task_id, 10**9)
    assert (status.timed_answers, status.hourly, status.below_floor) == (0, None, False)


def test_funding_refuses_a_price_the_pilot_shows_below_the_floor(
    session, make_task, contributors, clock
):
    task = make_task(1)
    _answer(session, task, contributors, clock, [36_000])  # 10 per 36 s = 1000 per hour
    assert check_funding_price(session, task.task_id, 1_000).hourly == 1_000
    with pytest.raises(
        InvalidInput, match=r"^price_per_answer: 10 pays 1000 .* \(set it to at least 11\)"
    ):
        check_funding_price(session, task.task_id, 1_001)
    # fund_task runs the check before storing anything or sending to the escrow
    with pytest.raises(InvalidInput, match="set it to at least 11"):
        fund_task(
            session,
            ESCROW,  # type: ignore[arg-type]
            task.task_id,
            100,
            sender="0x" + "11" * 20,
            fair_pay_floor=1_001,
        )
    assert session.scalar(select(func.count()).select_from(TaskFunding)) == 0


def test_the_floor_comes_from_the_settings_by_default(
    session, make_task, contributors, clock, monkeypatch
):
    task = make_task(1)
    _answer(session, task, contributors, clock, [36_000])
    monkeypatch.setenv("DATAFAIR_FAIR_PAY_FLOOR", "5000")
    with pytest.raises(InvalidInput, match="set it to at least 50"):
        fund_task(session, ESCROW, task.task_id, 100, sender="0x" + "11" * 20)  # type: ignore[arg-type]
    assert session.scalar(select(func.count()).select_from(TaskFunding)) == 0


@pytest.mark.parametrize(
    "task_id,floor,error,message",
    [
        ("0x12", 0, InvalidInput, "^task_id:"),
        (b"\x01" * 32, 0, NotFound, "no task"),
        (None, -1, InvalidInput, "^floor_per_hour:"),
        (None, 1.5, InvalidInput, "^floor_per_hour:"),
    ],
)
def test_bad_input_is_named(session, make_task, task_id, floor, error, message):
    task = make_task(1)
    for call in (fair_pay_status, check_funding_price):
        with pytest.raises(error, match=message):
            call(session, task.task_id if task_id is None else task_id, floor)
