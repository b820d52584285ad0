"""Task use cases: create, look up, list, close, progress, gold answers."""

from __future__ import annotations

import pytest
from eth_utils.address import to_checksum_address
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datafair.core.canonical import canonical_json
from datafair.core.errors import Conflict, InvalidInput, NotFound
from datafair.core.schemas import ItemKind, LabelSchema, TaskType
from datafair.core.task import TaskSpec
from datafair.crypto.cid import compute_cid
from datafair.services.tasks import (
    close_task,
    create_task,
    get_task,
    gold_answers,
    list_tasks,
    task_progress,
)
from datafair.store.models import GoldAnswer, Task, TaskItem
from datafair.store.repositories import DatasetRepository, ItemRepository, NewItem


def _spec(manifest: str, **changes) -> TaskSpec:
    values = {
        "dataset_cid": manifest,
        "title": "sentiment",
        "schema": LabelSchema(TaskType.CLASSIFICATION, ("pos", "neg")),
        "overlap": 3,
        "price_per_answer": 5,
    }
    values.update(changes)
    return TaskSpec(**values)


def _nothing_stored(session: Session) -> bool:
    session.rollback()
    counts = [
        session.scalar(select(func.count()).select_from(model))
        for model in (Task, TaskItem, GoldAnswer)
    ]
    return counts == [0, 0, 0]


def test_a_task_holds_every_dataset_item_in_order_with_gold_apart(session, text_dataset, clock):
    texts = ["good film", "bad film", "fine film"]
    manifest = text_dataset(texts)
    cids = [compute_cid(t.encode()) for t in texts]
    spec = _spec(manifest, gold_ratio=0.2)
    info = create_task(session, spec, gold={cids[1]: "neg"}, clock=clock, requester="0x" + "a" * 40)
    assert info.task_id == spec.task_id and info.spec == spec
    assert info.dataset_cid == manifest and info.status == "open"
    assert info.requester == to_checksum_address("0x" + "a" * 40)
    assert info.created_at == int(clock() * 1000) and info.closed_at is None
    assert info.task_id_hex == "0x" + spec.task_id.hex()
    assert get_task(session, info.task_id_hex) == info
    assert [task.task_id for task in list_tasks(session)] == [info.task_id]
    rows = session.execute(
        select(TaskItem.item_cid, TaskItem.is_gold, TaskItem.capacity).order_by(TaskItem.position)
    ).all()
    assert [tuple(row) for row in rows] == [
        (cids[0], False, 3),
        (cids[1], True, None),
        (cids[2], False, 3),
    ]
    assert gold_answers(session, info.task_id) == {cids[1]: "neg"}
    progress = task_progress(session, info.task_id)
    assert (progress.items, progress.gold_items, progress.answers, progress.full_items) == (
        3,
        1,
        0,
        0,
    )


def test_gold_answers_are_stored_canonical(session, text_dataset, clock):
    texts = ["a text", "another text"]
    manifest = text_dataset(texts)
    cids = [compute_cid(t.encode()) for t in texts]
    schema = LabelSchema(TaskType.MULTILABEL, ("x", "y", "z"))
    info = create_task(
        session,
        _spec(manifest, schema=schema, gold_ratio=0.1),
        gold={cids[0]: ["z", "x"]},
        gold_overlap=5,
        clock=clock,
    )
    stored = session.scalar(select(GoldAnswer.answer))
    assert stored == canonical_json(["x", "z"]).decode()
    assert gold_answers(session, info.task_id) == {cids[0]: ["x", "z"]}
    capacity = session.scalar(select(TaskItem.capacity).where(TaskItem.is_gold.is_(True)))
    assert capacity == 5


def test_closing_a_task_records_the_time_and_a_second_close_is_a_conflict(
    session, make_task, clock
):
    task = make_task()
    clock.advance(60)
    closed = close_task(session, task.task_id, clock=clock)
    assert closed.status == "closed" and closed.closed_at == int(clock() * 1000)
    assert not closed.is_open_at(clock())
    with pytest.raises(Conflict, match="already closed"):
        close_task(session, task.task_id, clock=clock)
    assert get_task(session, task.task_id).closed_at == closed.closed_at


def test_a_deadline_closes_the_task_for_answers_at_that_second(session, make_task, clock):
    task = make_task(deadline=int(clock()) + 10)
    assert task.info.is_open_at(clock())
    assert not task.info.is_open_at(clock() + 10)
    assert make_task(deadline=0).info.is_open_at(clock() + 10**9)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"deadline": 0}, None),  # no deadline: open until closed
        ({"deadline": "now"}, r"^deadline: \d+ is not in the future"),  # +0d
        ({"deadline": "past"}, r"^deadline: \d+ is not in the future"),
        ({"deadline": "eleven years"}, r"^deadline: \d+ is more than ten years away"),
        ({"deadline": 99_999_999_999_999_999_999}, r"^deadline: .* is not a Unix time"),
        ({"deadline": 2**63 - 1}, r"^deadline: \d+ is more than ten years away"),
        ({"price_per_answer": 2**256 // 9 + 1}, r"^price_per_answer: .* 3 items × 3 answers"),
    ],
)
def test_task_terms_out_of_range_are_refused_and_nothing_is_stored(
    session, text_dataset, clock, changes, message
):
    """Before: a huge deadline failed in the store (OverflowError on SQLite, bigint out of range
    on PostgreSQL), a past one or +0d made a task that could never take an answer."""
    manifest = text_dataset(["a", "b", "c"])
    moments = {
        "now": int(clock()),
        "past": int(clock()) - 3600,
        "eleven years": int(clock()) + 11 * 365 * 86_400,
    }
    values = {key: moments.get(value, value) for key, value in changes.items()}
    if message is None:
        assert create_task(session, _spec(manifest, **values), clock=clock).spec.deadline == 0
        return
    with pytest.raises(InvalidInput, match=message) as raised:
        create_task(session, _spec(manifest, **values), clock=clock)
    assert "\n" not in str(raised.value) and "(" in str(raised.value)  # the fix is named
    assert _nothing_stored(session)


def test_an_unknown_dataset_is_not_found(session, clock):
    with pytest.raises(NotFound, match="dataset_cid"):
        create_task(session, _spec(compute_cid(b"no such manifest")), clock=clock)
    assert _nothing_stored(session)


def test_the_same_spec_cannot_be_stored_twice(session, text_dataset, clock):
    manifest = text_dataset(["x", "y"])
    create_task(session, _spec(manifest), clock=clock)
    with pytest.raises(Conflict, match="already exists"):
        create_task(session, _spec(manifest), clock=clock)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Task)) == 1


def test_a_gold_item_outside_the_dataset_is_refused(session, text_dataset, clock):
    manifest = text_dataset(["x", "y"])
    with pytest.raises(InvalidInput, match="not an item of the dataset"):
        create_task(
            session, _spec(manifest, gold_ratio=0.1), gold={compute_cid(b"z"): "pos"}, clock=clock
        )
    assert _nothing_stored(session)


def test_an_invalid_gold_answer_is_refused_naming_the_item(session, text_dataset, clock):
    manifest = text_dataset(["x", "y"])
    cid = compute_cid(b"x")
    with pytest.raises(InvalidInput, match=rf"gold\[{cid}\]: unknown class 'maybe'"):
        create_task(session, _spec(manifest, gold_ratio=0.1), gold={cid: "maybe"}, clock=clock)
    assert _nothing_stored(session)


def test_a_gold_ratio_without_gold_answers_is_refused(session, text_dataset, clock):
    manifest = text_dataset(["x", "y"])
    with pytest.raises(InvalidInput, match="no gold answers"):
        create_task(session, _spec(manifest, gold_ratio=0.2), clock=clock)
    assert _nothing_stored(session)


def test_a_task_whose_every_item_is_gold_is_refused(session, text_dataset, clock):
    manifest = text_dataset(["x"])
    with pytest.raises(InvalidInput, match="every item is gold"):
        create_task(session, _spec(manifest), gold={compute_cid(b"x"): "pos"}, clock=clock)
    assert _nothing_stored(session)


@pytest.mark.parametrize("gold_overlap", [0, -1, True])
def test_a_bad_gold_overlap_is_refused(session, text_dataset, clock, gold_overlap):
    manifest = text_dataset(["x", "y"])
    with pytest.raises(InvalidInput, match="gold_overlap"):
        create_task(session, _spec(manifest), gold_overlap=gold_overlap, clock=clock)
    assert _nothing_stored(session)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"mechanism": "lottery"}, r"^extra.mechanism: unknown mechanism 'lottery'"),
        ({"review_bps": 10_001}, r"^extra.review_bps: 10001 is not in 0..10000 basis points"),
        ({"review_bps": "10%"}, r"^extra.review_bps: must be an integer 0..10000"),
    ],
)
def test_settlement_terms_that_could_never_pay_are_refused(
    session, text_dataset, clock, extra, message
):
    manifest = text_dataset(["x", "y"])
    with pytest.raises(InvalidInput, match=message):
        create_task(session, _spec(manifest, extra=extra), clock=clock)
    assert _nothing_stored(session)


def test_items_the_schema_cannot_label_are_refused(session, clock):
    image = NewItem(compute_cid(b"img"), ItemKind.IMAGE, 3, width=10, height=10)
    ItemRepository(session).add_many([image], now_ms=0)
    DatasetRepository(session).create(
        manifest_cid=compute_cid(b"images"), card={"title": "i"}, item_cids=[image.cid], now_ms=0
    )
    session.commit()
    spans = LabelSchema(TaskType.SPANS, ("PER",))
    with pytest.raises(InvalidInput, match="cannot label"):
        create_task(session, _spec(compute_cid(b"images"), schema=spans), clock=clock)
    assert _nothing_stored(session)


def test_a_bad_requester_address_is_refused(session, text_dataset, clock):
    manifest = text_dataset(["x", "y"])
    with pytest.raises(InvalidInput, match="requester"):
        create_task(session, _spec(manifest), requester="0x1234", clock=clock)
    assert _nothing_stored(session)


@pytest.mark.parametrize("value", ["0x1234", "zz" * 32, b"short", 42])
def test_malformed_task_ids_are_refused(session, value):
    with pytest.raises(InvalidInput, match="task_id"):
        get_task(session, value)


def test_unknown_tasks_are_not_found(session, clock):
    for call in (get_task, task_progress, gold_answers):
        with pytest.raises(NotFound, match="no task"):
            call(session, bytes(32))
    with pytest.raises(NotFound):
        close_task(session, "0x" + "00" * 32, clock=clock)
