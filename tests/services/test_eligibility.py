"""Which items a contributor may still answer (``still_answerable``) and the API's filter of
published answers built on it (``portfolio.hide_open_answers``): no peeking at an item that is
open to the reader, on SQLite and PostgreSQL."""

from __future__ import annotations

from datafair.services.eligibility import still_answerable
from datafair.services.portfolio import answers_of, hide_open_answers
from datafair.services.reviews import next_review
from datafair.services.submissions import submit
from datafair.services.tasks import close_task, load_task


def test_items_stay_answerable_until_answered_excluded_full_or_closed(
    session, make_task, contributors, clock
):
    task = make_task(4, overlap=2)
    items = task.items
    a, b, c = contributors[:3]
    submit(session, a.sign(task.info, items[0], "pos", 1), clock=clock)
    submit(session, a.sign(task.info, items[1], "pos", 2), clock=clock)
    submit(session, b.sign(task.info, items[1], "neg", 3), clock=clock)  # item 1 is full
    stored = load_task(session, task.task_id)
    assert still_answerable(session, stored, a.address, items) == {items[2], items[3]}
    assert still_answerable(session, stored, c.address, items) == {items[0], items[2], items[3]}
    shown = next_review(session, task.task_id, c.address)  # c sees a's answer to item 0
    assert shown is not None and shown.item_cid == items[0]
    assert still_answerable(session, stored, c.address, items) == {items[2], items[3]}
    rows = answers_of(session, task.task_id)
    assert {row.item_cid for row in hide_open_answers(session, task.task_id, c.address, rows)} == {
        items[0],
        items[1],
    }
    # d may still answer item 0: a's answer to it is hidden from d, a's own rows never are
    d = contributors[3]
    kept = hide_open_answers(session, task.task_id, d.address, rows)
    assert {(row.item_cid, row.contributor) for row in kept} == {
        (items[1], a.address),
        (items[1], b.address),
    }
    assert hide_open_answers(session, task.task_id, a.address, rows) == rows
    close_task(session, task.task_id)
    stored = load_task(session, task.task_id)
    assert still_answerable(session, stored, d.address, items) == set()
    assert hide_open_answers(session, task.task_id, d.address, rows) == rows


def test_a_task_past_its_deadline_leaves_nothing_answerable(
    session, make_task, contributors, clock
):
    end = int(clock()) + 3600
    task = make_task(2, overlap=2, deadline=end)
    stored = load_task(session, task.task_id)
    who = contributors[0].address
    assert still_answerable(session, stored, who, task.items, now=end - 1) == set(task.items)
    assert still_answerable(session, stored, who, task.items, now=end) == set()
