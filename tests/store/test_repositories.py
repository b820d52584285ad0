"""Repositories: items, datasets, accounts, task slots, submissions columns and reviews."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from datafair.core.canonical import canonical_json
from datafair.core.errors import Conflict, InvalidInput, NotFound
from datafair.core.schemas import ItemKind
from datafair.crypto.cid import compute_cid
from datafair.store.models import Dataset, DatasetItem, Item, Review, Submission, TaskItem
from datafair.store.repositories import (
    AccountRepository,
    DatasetRepository,
    ItemRepository,
    NewItem,
    ReviewRepository,
    SubmissionRepository,
    TaskRepository,
)

ADDRESS = "0x00000000000000000000000000000000000000Aa"


def _text(value: str) -> NewItem:
    return NewItem(compute_cid(value.encode()), ItemKind.TEXT, len(value.encode()), text=value)


def _count(session: Session, model: type) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


# --------------------------------------------------------------------------- items


def test_items_are_content_addressed_and_duplicates_collapse(session: Session):
    items = ItemRepository(session)
    assert items.add_many([_text("a"), _text("b"), _text("a")], now_ms=1) == 2
    assert items.add_many([_text("b"), _text("c")], now_ms=2) == 1
    session.commit()
    assert _count(session, Item) == 3
    stored = items.get(compute_cid(b"a"))
    assert stored is not None and stored.text == "a" and stored.text_length == 1
    assert items.existing([compute_cid(b"a"), compute_cid(b"zzz")]) == {compute_cid(b"a")}


def test_image_items_keep_their_size_and_meta(session: Session):
    cid = compute_cid(b"png bytes")
    image = NewItem(cid, ItemKind.IMAGE, 9, width=64, height=48, meta={"file": "cat.png"})
    ItemRepository(session).add_many([image], now_ms=0)
    session.commit()
    stored = ItemRepository(session).get_many([cid])[cid]
    assert (stored.kind, stored.width, stored.height, stored.text) == ("image", 64, 48, None)
    assert stored.meta == {"file": "cat.png"}


# --------------------------------------------------------------------------- datasets


def _dataset(session: Session, values: list[str], manifest: bytes = b"manifest") -> Dataset:
    ItemRepository(session).add_many([_text(v) for v in values], now_ms=0)
    return DatasetRepository(session).create(
        manifest_cid=compute_cid(manifest),
        card={"title": "t"},
        item_cids=[compute_cid(v.encode()) for v in values],
        now_ms=0,
    )


def test_a_dataset_keeps_its_items_in_order(session: Session):
    dataset = _dataset(session, ["z", "a", "m"])
    session.commit()
    repository = DatasetRepository(session)
    assert repository.item_cids(dataset.id) == [compute_cid(v.encode()) for v in "zam"]
    assert repository.by_manifest(compute_cid(b"manifest")) is not None
    assert [d.id for d in repository.all()] == [dataset.id]
    assert dataset.item_count == 3 and dataset.title == "t"


def test_an_empty_dataset_is_refused_and_nothing_is_stored(session: Session):
    with pytest.raises(InvalidInput, match="empty"):
        DatasetRepository(session).create(
            manifest_cid=compute_cid(b"m"), card={}, item_cids=[], now_ms=0
        )
    session.rollback()
    assert _count(session, Dataset) == 0


def test_a_dataset_listing_an_item_twice_is_refused(session: Session):
    ItemRepository(session).add_many([_text("a")], now_ms=0)
    session.commit()
    with pytest.raises(InvalidInput, match="twice"):
        DatasetRepository(session).create(
            manifest_cid=compute_cid(b"m"),
            card={},
            item_cids=[compute_cid(b"a"), compute_cid(b"a")],
            now_ms=0,
        )
    session.rollback()
    assert _count(session, Dataset) == 0 and _count(session, DatasetItem) == 0


def test_a_dataset_over_unstored_items_is_refused(session: Session):
    with pytest.raises(NotFound, match="not stored"):
        DatasetRepository(session).create(
            manifest_cid=compute_cid(b"m"), card={}, item_cids=[compute_cid(b"nope")], now_ms=0
        )
    session.rollback()
    assert _count(session, Dataset) == 0


def test_the_same_manifest_cannot_be_stored_twice(session: Session):
    _dataset(session, ["a"])
    session.commit()
    with pytest.raises(Conflict, match="already stored"):
        _dataset(session, ["a"])
    session.rollback()
    assert _count(session, Dataset) == 1


# --------------------------------------------------------------------------- accounts


def test_accounts_are_created_once_and_renamed(session: Session):
    accounts = AccountRepository(session)
    first = accounts.ensure(ADDRESS, now_ms=5, name="alice")
    again = accounts.ensure(ADDRESS, now_ms=9, name="alice2")
    session.commit()
    assert first.id == again.id and again.name == "alice2" and again.created_at == 5
    assert [a.address for a in accounts.all()] == [ADDRESS]
    assert accounts.get("0x" + "0" * 40) is None


# --------------------------------------------------------------------------- capacity


def test_slots_are_never_given_past_capacity(session: Session, make_task):
    task = make_task(n=1, overlap=2)
    tasks = TaskRepository(session)
    stored = tasks.by_task_id(task.task_id)
    assert stored is not None
    (slot,) = tasks.slots(stored.id, task.items).values()
    assert tasks.try_reserve(slot.task_item_id)
    assert tasks.try_answer(slot.task_item_id)
    assert not tasks.try_reserve(slot.task_item_id)
    assert not tasks.try_answer(slot.task_item_id)
    assert tasks.try_answer(slot.task_item_id, from_reservation=True)
    assert not tasks.try_answer(slot.task_item_id, from_reservation=True)
    session.commit()
    (slot,) = tasks.slots(stored.id, task.items).values()
    assert (slot.answers, slot.reserved, slot.free()) == (2, 0, 0)


def test_the_database_refuses_an_answer_count_past_capacity(session: Session, make_task):
    task = make_task(n=1, overlap=2)
    with pytest.raises(IntegrityError):
        session.execute(update(TaskItem).values(answers=3))
    session.rollback()
    with pytest.raises(IntegrityError):
        session.execute(update(TaskItem).values(answers=1, reserved=2))
    session.rollback()
    with pytest.raises(IntegrityError):
        session.execute(update(TaskItem).values(reserved=-1))
    session.rollback()
    counts = TaskRepository(session).counts(
        TaskRepository(session).by_task_id(task.task_id).id  # type: ignore[union-attr]
    )
    assert counts["answers"] == 0 and counts["reserved"] == 0


def test_add_answers_refuses_a_change_past_capacity(session: Session, make_task):
    task = make_task(n=1, overlap=2)
    tasks = TaskRepository(session)
    task_pk = tasks.by_task_id(task.task_id).id  # type: ignore[union-attr]
    (slot,) = tasks.slots(task_pk, task.items).values()
    with pytest.raises((Conflict, IntegrityError)):
        tasks.add_answers({slot.task_item_id: (3, 0)})
    session.rollback()
    tasks.add_answers({slot.task_item_id: (2, 0)})
    session.commit()
    assert tasks.counts(task_pk)["full_items"] == 1


# --------------------------------------------------------------------------- submissions


def _submission(session: Session, task, contributor: str, nonce: int) -> int:
    tasks = TaskRepository(session)
    task_pk = tasks.by_task_id(task.task_id).id
    (slot,) = tasks.slots(task_pk, task.items[:1]).values()
    (submission_id,) = SubmissionRepository(session).insert_many(
        [
            {
                "task_pk": task_pk,
                "task_item_id": slot.task_item_id,
                "item_cid": slot.item_cid,
                "contributor": contributor,
                "answer": canonical_json("pos").decode(),
                "answer_hash": bytes(32),
                "nonce": nonce,
                "duration_ms": 10,
                "signature": bytes(65),
                "accepted_at": 1,
            }
        ]
    )
    session.commit()
    return submission_id


def test_nonces_use_the_whole_uint64_range(session: Session, make_task):
    task = make_task(n=1)
    other = "0x" + "b" * 40
    _submission(session, task, ADDRESS, 2**64 - 1)
    _submission(session, task, other, 0)
    task_pk = TaskRepository(session).by_task_id(task.task_id).id  # type: ignore[union-attr]
    submissions = SubmissionRepository(session)
    columns = submissions.columns(task_pk)
    assert columns.nonces == [2**64 - 1, 0]
    assert columns.decoded_answers() == ["pos", "pos"]
    assert len(columns) == 2
    (slot,) = TaskRepository(session).slots(task_pk, task.items).values()
    item = slot.task_item_id
    asked = [(item, ADDRESS, 2**64 - 1), (item, ADDRESS, 0), (item, other, 0), (item, other, 2**63)]
    state = submissions.answer_state(task_pk, asked)
    assert state.used_nonces == {(ADDRESS, 2**64 - 1), (other, 0)}
    assert submissions.answer_state(task_pk + 1, asked).used_nonces == set()
    pairs = [(item, ADDRESS), (item, "0x" + "c" * 40)]
    assert submissions.answered(pairs) == {(item, ADDRESS)} and submissions.answered([]) == set()


def test_the_answer_state_finds_every_kind_of_stored_fact(session: Session, make_task):
    from datafair.store.models import Assignment, ReviewExclusion
    from datafair.store.reputation_models import TaskStanding

    task = make_task(n=2)
    tasks = TaskRepository(session)
    task_pk = tasks.by_task_id(task.task_id).id  # type: ignore[union-attr]
    first, second = (s.task_item_id for s in tasks.slots(task_pk, task.items).values())
    other, third = "0x" + "b" * 40, "0x" + "c" * 40
    _submission(session, task, ADDRESS, 7)  # ADDRESS answered the first item with nonce 7
    session.add(
        ReviewExclusion(task_item_id=second, contributor=other, task_pk=task_pk, created_at=1)
    )
    session.add(
        Assignment(
            task_pk=task_pk,
            task_item_id=second,
            contributor=third,
            is_gold=False,
            created_at=1,
            expires_at=2,
        )
    )
    session.add(
        TaskStanding(task_pk=task_pk, contributor=third, paused=True, reason="spam", updated_at=1)
    )
    session.add(TaskStanding(task_pk=task_pk, contributor=other, paused=False, updated_at=1))
    session.commit()
    probes = [(first, ADDRESS, 8), (second, ADDRESS, 7), (second, other, 1), (second, third, 2)]
    state = SubmissionRepository(session).answer_state(task_pk, probes)
    assert state.used_nonces == {(ADDRESS, 7)}
    assert state.answered == {(first, ADDRESS)}
    assert state.excluded == {(second, other)}
    assert set(state.held) == {(second, third)}
    assert state.paused == {third: "spam"}
    empty = SubmissionRepository(session).answer_state(task_pk, [])
    assert (empty.used_nonces, empty.answered, empty.held, empty.paused) == (set(), set(), {}, {})
    session.rollback()


def test_a_task_without_submissions_lists_empty_columns(session: Session, make_task):
    task = make_task(n=1)
    task_pk = TaskRepository(session).by_task_id(task.task_id).id  # type: ignore[union-attr]
    columns = SubmissionRepository(session).columns(task_pk)
    assert len(columns) == 0 and columns.item_cids == [] and columns.signatures == []


# --------------------------------------------------------------------------- reviews


def test_reviews_store_a_verdict_a_rating_and_an_optional_signature(session: Session, make_task):
    task = make_task(n=1)
    submission_id = _submission(session, task, ADDRESS, 1)
    reviews = ReviewRepository(session)
    reviews.add(submission_id=submission_id, reviewer="r1", now_ms=1, verdict="accept")
    reviews.add(submission_id=submission_id, reviewer="r2", now_ms=2, rating=4, signature=bytes(65))
    session.commit()
    stored = reviews.for_submission(submission_id)
    assert [(r.reviewer, r.verdict, r.rating) for r in stored] == [
        ("r1", "accept", None),
        ("r2", None, 4),
    ]
    task_pk = TaskRepository(session).by_task_id(task.task_id).id  # type: ignore[union-attr]
    assert [r.id for r in reviews.for_task(task_pk)] == [r.id for r in stored]


@pytest.mark.parametrize(
    ("kwargs", "error", "field"),
    [
        ({}, InvalidInput, "verdict"),
        ({"verdict": "maybe"}, InvalidInput, "verdict"),
        ({"rating": 0}, InvalidInput, "rating"),
        ({"rating": 6}, InvalidInput, "rating"),
        ({"rating": True}, InvalidInput, "rating"),
        ({"verdict": "reject", "signature": b"short"}, InvalidInput, "signature"),
        ({"verdict": "reject", "submission_id": 999_999}, NotFound, "submission"),
    ],
)
def test_bad_reviews_are_refused_and_nothing_is_stored(
    session: Session, make_task, kwargs, error, field
):
    task = make_task(n=1)
    submission_id = _submission(session, task, ADDRESS, 1)
    arguments = {"submission_id": submission_id, "reviewer": "r", "now_ms": 1, **kwargs}
    with pytest.raises(error, match=field):
        ReviewRepository(session).add(**arguments)
    session.rollback()
    assert _count(session, Review) == 0


def test_a_reviewer_reviews_a_submission_once(session: Session, make_task):
    task = make_task(n=1)
    submission_id = _submission(session, task, ADDRESS, 1)
    reviews = ReviewRepository(session)
    reviews.add(submission_id=submission_id, reviewer="r", now_ms=1, verdict="accept")
    session.commit()
    with pytest.raises(Conflict, match="already reviewed"):
        reviews.add(submission_id=submission_id, reviewer="r", now_ms=2, verdict="reject")
    session.rollback()
    assert [r.verdict for r in reviews.for_submission(submission_id)] == ["accept"]


def test_the_database_refuses_a_review_without_verdict_or_rating(session: Session, make_task):
    task = make_task(n=1)
    submission_id = _submission(session, task, ADDRESS, 1)
    session.add(Review(submission_id=submission_id, reviewer="r", created_at=1))
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()
    assert _count(session, Review) == 0 and _count(session, Submission) == 1


def test_open_items_are_scanned_through_the_partial_index_on_sqlite(session, make_task):
    from sqlalchemy import text

    from datafair.store.repositories import assignment

    if session.get_bind().dialect.name != "sqlite":
        pytest.skip("query plan check for SQLite")
    make_task(n=3)
    params = {"task": 1, "gold": False, "who": ADDRESS, "start": 1, "limit": 8}
    for query in (assignment._CANDIDATES_FROM, assignment._CANDIDATES_BEFORE):
        plan = " ".join(
            str(row) for row in session.execute(text(f"EXPLAIN QUERY PLAN {query.text}"), params)
        )
        assert "ix_task_items_open" in plan and "TEMP B-TREE" not in plan


def test_duplicate_checks_probe_the_unique_indexes_on_sqlite(session, make_task):
    from sqlalchemy import event

    if session.get_bind().dialect.name != "sqlite":
        pytest.skip("query plan check for SQLite")
    task = make_task(n=1)
    task_pk = TaskRepository(session).by_task_id(task.task_id).id  # type: ignore[union-attr]
    statements: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", capture)
    try:
        SubmissionRepository(session).answered([(1, ADDRESS)])
        SubmissionRepository(session).answer_state(task_pk, [(1, ADDRESS, 1), (2, ADDRESS, 2)])
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    (answered_sql, answered_params), (sql, params) = statements
    plan = (
        session.connection()
        .exec_driver_sql("EXPLAIN QUERY PLAN " + answered_sql, answered_params)
        .all()
    )
    steps = [str(row[-1]) for row in plan]
    assert steps[0].startswith("SCAN k"), steps  # the short list drives the loop
    assert "SEARCH s USING COVERING INDEX" in steps[1], steps
    plan = session.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params).all()
    steps = [str(row[-1]) for row in plan]
    tables = {"s", "e", "a", "t"}  # submissions (twice), exclusions, assignments, standings
    assert not [step for step in steps if step.split(" ")[:2] in (["SCAN", t] for t in tables)]
    searches = [step for step in steps if step.startswith("SEARCH")]
    assert len(searches) == 5 and all("INDEX" in step for step in searches), steps
    session.rollback()


def test_the_answer_state_probes_indexes_on_postgres_with_stale_statistics(session, make_task):
    import json

    from datafair.store.repositories import submissions as module

    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("query plan check for PostgreSQL")
    task = make_task(n=300)
    tasks = TaskRepository(session)
    task_pk = tasks.by_task_id(task.task_id).id  # type: ignore[union-attr]
    slots = list(tasks.slots(task_pk, task.items).values())
    workers = [f"0x{n:040x}" for n in range(10)]
    rows = [
        {
            "task_pk": task_pk,
            "task_item_id": slot.task_item_id,
            "item_cid": slot.item_cid,
            "contributor": who,
            "answer": canonical_json("pos").decode(),
            "answer_hash": bytes(32),
            "nonce": n * 10 + w,
            "duration_ms": 10,
            "signature": bytes(65),
            "accepted_at": 1,
        }
        for n, slot in enumerate(slots)
        for w, who in enumerate(workers)
    ]
    SubmissionRepository(session).insert_many(rows)  # 3,000 rows the statistics never saw
    session.commit()
    probes = [(slot.task_item_id, "0x" + "e" * 40, n) for n, slot in enumerate(slots[:100])]
    params = {
        "items": [p[0] for p in probes],
        "who": [p[1] for p in probes],
        "nonces": [p[2] - module.UINT64_OFFSET for p in probes],
        "task": task_pk,
    }
    sql = module._PROBES_POSTGRES + module._ANSWER_STATE.format(task="%(task)s")
    (plan,) = session.connection().exec_driver_sql("EXPLAIN (FORMAT JSON) " + sql, params).one()
    nodes = []

    def walk(node: dict) -> None:
        nodes.append(node)
        for child in node.get("Plans", []):
            walk(child)

    walk((plan if isinstance(plan, list) else json.loads(plan))[0]["Plan"])
    scans = [n for n in nodes if n.get("Relation Name") in ("submissions", "assignments")]
    assert len(scans) == 3 and all("Index" in n["Node Type"] for n in scans), scans
    assert not [n for n in nodes if "Hash" in n["Node Type"]]
    session.rollback()
