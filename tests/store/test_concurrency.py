"""Many sessions racing for the last slots of an item: exactly k win, on every path.

Each thread has its own session (and connection); a barrier releases them together. On
PostgreSQL the conditional ``UPDATE`` and the row locks decide; on SQLite the write lock does.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from datafair.core.errors import Conflict
from datafair.services.assignment import next_item
from datafair.services.submissions import submit
from datafair.services.tasks import task_progress
from datafair.store.db import Database
from datafair.store.models import Assignment, Submission
from datafair.store.repositories import TaskRepository

THREADS = 12


def _race(db: Database, work: Callable[[Any, int], object]) -> list[object]:
    """Run ``work(session, number)`` in THREADS threads at once; their results or errors."""
    barrier = threading.Barrier(THREADS)
    results: list[object] = [None] * THREADS

    def run(number: int) -> None:
        with db.session() as session:
            barrier.wait()
            try:
                results[number] = work(session, number)
            except Exception as error:
                results[number] = error

    threads = [threading.Thread(target=run, args=(number,)) for number in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.mark.parametrize("overlap", [1, 3])
def test_conditional_updates_let_exactly_k_answers_in(db: Database, session, make_task, overlap):
    task = make_task(n=1, overlap=overlap)
    tasks = TaskRepository(session)
    task_pk = tasks.by_task_id(task.task_id).id  # type: ignore[union-attr]
    (slot,) = tasks.slots(task_pk, task.items).values()
    session.commit()

    def answer(other: Any, number: int) -> bool:
        won = TaskRepository(other).try_answer(slot.task_item_id)
        other.commit()
        return won

    results = _race(db, answer)
    assert results.count(True) == overlap
    assert results.count(False) == THREADS - overlap
    assert task_progress(session, task.task_id).answers == overlap


@pytest.mark.parametrize("overlap", [2])
def test_concurrent_next_item_calls_hold_exactly_k_slots(
    db: Database, session, make_task, contributors, clock, overlap
):
    task = make_task(n=1, overlap=overlap)
    results = _race(
        db,
        lambda other, number: next_item(
            other, task.task_id, contributors[number].address, clock=clock
        ),
    )
    held = [result for result in results if result is not None]
    assert all(not isinstance(result, Exception) for result in results), results
    assert len(held) == overlap
    assert task_progress(session, task.task_id).reserved == overlap
    assert session.scalar(select(func.count()).select_from(Assignment)) == overlap


def test_concurrent_submissions_store_exactly_k_answers(
    db: Database, session, make_task, contributors, clock
):
    task = make_task(n=1, overlap=3)
    entries = [
        contributors[number].sign(task.info, task.items[0], "pos", 1) for number in range(THREADS)
    ]
    results = _race(db, lambda other, number: submit(other, entries[number], clock=clock))
    accepted = [result for result in results if isinstance(result, int)]
    refused = [result for result in results if isinstance(result, Conflict)]
    assert len(accepted) == 3, results
    assert len(refused) == THREADS - 3
    assert all("already has its 3 answers" in str(error) for error in refused)
    assert session.scalar(select(func.count()).select_from(Submission)) == 3
    assert task_progress(session, task.task_id).answers == 3


def test_concurrent_holders_and_free_submitters_never_overfill(
    db: Database, session, make_task, contributors, clock
):
    task = make_task(n=1, overlap=4)
    holders = contributors[:2]
    for holder in holders:
        assert next_item(session, task.task_id, holder.address, clock=clock) is not None
    entries = [
        contributors[number].sign(task.info, task.items[0], "neg", 7) for number in range(THREADS)
    ]
    results = _race(db, lambda other, number: submit(other, entries[number], clock=clock))
    accepted = {number for number, result in enumerate(results) if isinstance(result, int)}
    assert {0, 1} <= accepted  # holders always get their reserved slot
    assert len(accepted) == 4
    progress = task_progress(session, task.task_id)
    assert (progress.answers, progress.reserved) == (4, 0)


def test_concurrent_batches_over_many_items_fill_each_to_k_without_deadlock(
    db: Database, session, make_task, contributors, clock
):
    from datafair.services.submissions import submit_many

    task = make_task(n=5, overlap=3)
    batches = []
    for number in range(THREADS):
        order = task.items[number % 5 :] + task.items[: number % 5]
        if number % 2:
            order.reverse()
        batches.append(
            [
                contributors[number].sign(task.info, cid, "pos", 100 + position)
                for position, cid in enumerate(order)
            ]
        )
    results = _race(db, lambda other, number: submit_many(other, batches[number], clock=clock))
    assert all(isinstance(result, list) for result in results), results
    outcomes = [entry for result in results for entry in result]  # type: ignore[attr-defined]
    assert sum(entry.ok for entry in outcomes) == 15
    assert all(isinstance(entry.error, Conflict) for entry in outcomes if not entry.ok)
    progress = task_progress(session, task.task_id)
    assert (progress.answers, progress.full_items) == (15, 5)


def test_one_contributor_asking_in_parallel_gets_distinct_items(
    db: Database, session, make_task, contributors, clock
):
    task = make_task(n=THREADS, overlap=2)
    alice = contributors[0].address
    results = _race(
        db, lambda other, number: next_item(other, task.task_id, alice, clock=clock, max_held=99)
    )
    assert all(not isinstance(result, Exception) for result in results), results
    cids = [result.item_cid for result in results if result is not None]  # type: ignore[attr-defined]
    assert len(cids) == len(set(cids)) == THREADS


def test_parallel_calls_of_one_contributor_never_pass_the_share_cap(
    db: Database, session, make_task, contributors, clock
):
    task = make_task(n=200, overlap=1, extra={"max_share_bps": 1})  # cap: the floor, 100
    alice = contributors[0].address
    for _ in range(95):
        assert next_item(session, task.task_id, alice, clock=clock, max_held=500) is not None
    session.commit()
    results = _race(
        db, lambda other, number: next_item(other, task.task_id, alice, clock=clock, max_held=500)
    )
    won = [result for result in results if result is not None and not isinstance(result, Exception)]
    refused = [result for result in results if isinstance(result, Conflict)]
    assert len(won) == 5 and len(refused) == THREADS - 5, results
    assert all("taken its share" in str(error) for error in refused)
    assert len({assigned.item_cid for assigned in won}) == 5  # type: ignore[union-attr]
    count = select(func.count()).where(Assignment.contributor == alice)
    assert session.scalar(count) == 100
