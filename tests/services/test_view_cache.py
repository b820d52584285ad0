"""View cache: a task view is reused while the store has no new answer, recomputed as soon as it
has one, and served stale only within the window its caller allows."""

from __future__ import annotations

import pytest

from datafair.services import view_cache
from datafair.services.submissions import submit
from datafair.services.task_board import task_entry
from datafair.store.db import make_engine, make_session_factory


def _counted(values: list[int]):
    def compute() -> int:
        values.append(len(values))
        return len(values)

    return compute


def test_reused_until_a_new_answer_then_recomputed(session, make_task, contributors, clock):
    task = make_task(2)
    calls: list[int] = []
    first, _ = view_cache.cached_view(session, "count", task.task_id, _counted(calls))
    again, _ = view_cache.cached_view(session, "count", task.task_id, _counted(calls))
    assert (first, again, len(calls)) == (1, 1, 1)
    submit(session, contributors[0].sign(task.info, task.items[0], "pos", 1), clock=clock)
    fresh, _ = view_cache.cached_view(session, "count", task.task_id, _counted(calls))
    assert (fresh, len(calls)) == (2, 2)


def test_a_stale_value_is_served_only_within_the_allowed_window(
    session, make_task, contributors, clock
):
    task = make_task(2)
    calls: list[int] = []
    now = [1000.0]
    cached = {"max_stale_s": 10.0, "clock": lambda: now[0]}
    view_cache.cached_view(session, "dash", task.task_id, _counted(calls), **cached)
    submit(session, contributors[0].sign(task.info, task.items[0], "pos", 1), clock=clock)
    now[0] += 5
    value, computed_at = view_cache.cached_view(
        session, "dash", task.task_id, _counted(calls), **cached
    )
    assert (value, computed_at) == (1, 1000.0)  # 5 s old: within the window
    now[0] += 6
    value, computed_at = view_cache.cached_view(
        session, "dash", task.task_id, _counted(calls), **cached
    )
    assert (value, computed_at) == (2, 1011.0)


def test_the_board_shows_pay_of_the_answers_stored_now(session, make_task, contributors, clock):
    task = make_task(1, overlap=5)
    assert task_entry(session, task.task_id).pay.timed_answers == 0
    for j, duration in enumerate([2_000, 4_000, 6_000]):
        entry = contributors[j].sign(task.info, task.items[0], "pos", 1, duration_ms=duration)
        submit(session, entry, clock=clock)
        pay = task_entry(session, task.task_id).pay
        assert pay.timed_answers == j + 1
    assert pay.median_ms == 4_000


def test_each_engine_keeps_its_own_views(session, make_task):
    task = make_task(1)
    view_cache.cached_view(session, "own", task.task_id, lambda: "first engine")
    url = session.get_bind().url
    if url.get_backend_name() != "sqlite":
        pytest.skip("a second engine on a PostgreSQL test schema needs the schema fixture")
    session.rollback()
    engine = make_engine(str(url))
    try:
        with make_session_factory(engine)() as second:
            value, _ = view_cache.cached_view(second, "own", task.task_id, lambda: "second")
    finally:
        engine.dispose()
    assert value == "second"
