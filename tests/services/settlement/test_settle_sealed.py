"""No peeking through published bundles: an item's answers are published only once it is closed.

A bundle is public once its root is posted. By default an epoch pays only the answers to items
that take no further answer (k answers, the task closed or past its deadline); the others wait.
``seal_partial`` pays them too and seals their items in the commit that records the bundle.
A reader of every bundle never finds there an answer to an item they may still answer; a
sealed item is never assigned, answered or reviewed again, and the audit fails a bundle that
pays an answer to an item after the epoch that published it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from settle_helpers import OWNER, World, fail_when_bundled, fund
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datafair.core.errors import Conflict
from datafair.services.assignment import next_item
from datafair.services.eligibility import still_answerable
from datafair.services.portfolio import PENDING_OPEN, PENDING_SETTLEMENT, pending_answers
from datafair.services.reviews import next_review
from datafair.services.settlement import settle as settle_module
from datafair.services.settlement.audit import AuditMismatch, audit_bundle
from datafair.services.settlement.bundle import encode_bundle
from datafair.services.settlement.settle import settle_task, settlements_of
from datafair.services.submissions import submit, submit_many
from datafair.store.models import Submission
from datafair.store.repositories import TaskRepository

K = 6


def _answer(
    session: Session, made: Any, contributors: Any, clock: Any, positions: Any, wallets: Any
) -> None:
    entries = [
        contributors[who].sign(made.info, made.items[p], "pos" if (p + who) % 3 else "neg", p)
        for p in positions
        for who in wallets
    ]
    results = submit_many(session, entries, clock=clock)
    assert all(result.ok for result in results), [r.error for r in results if not r.ok]


def _settle(session: Session, world: World, made: Any, **options: Any) -> Any:
    return settle_task(session, world.escrow, world.blobs, made.task_id, sender=OWNER, **options)


def _bundle_items(data: bytes) -> set[str]:
    subs = json.loads(data)["submissions"]
    return {subs["items"][i] for i in subs["item"]}


def _published(session: Session, world: World, made: Any) -> list[bytes]:
    return [
        world.blobs.get(row.bundle_cid)
        for row in settlements_of(session, made.task_id)
        if row.bundle_cid is not None
    ]


def _assert_no_reader_can_use_a_bundle(
    session: Session, world: World, made: Any, contributors: Any, clock: Any
) -> None:
    """Every wallet, reading every bundle so far: no item in them is still answerable."""
    task = TaskRepository(session).by_task_id(made.task_id)
    assert task is not None
    for data in _published(session, world, made):
        items = _bundle_items(data)
        for wallet in contributors:
            assert not still_answerable(session, task, wallet.address, items, now=clock())
    session.rollback()


@pytest.fixture
def made(session: Session, world: World, make_task: Any, contributors: Any, clock: Any) -> Any:
    """Twelve items, k = 6: items 0..3 fully answered, items 4..6 by wallets 0..2 only."""
    task = make_task(12, overlap=K)
    _answer(session, task, contributors, clock, range(4), range(K))
    _answer(session, task, contributors, clock, range(4, 7), range(3))
    fund(session, world, task.task_id)
    return task


def test_a_reader_of_every_bundle_finds_no_answer_to_an_item_they_can_still_answer(
    session: Session, world: World, made: Any, contributors: Any, clock: Any
) -> None:
    open_items = set(made.items[4:7])
    first = _settle(session, world, made)
    data = world.blobs.get(first.bundle_cid)
    assert _bundle_items(data) == set(made.items[:4])  # the open items' answers wait
    assert first.submissions == 4 * K
    _assert_no_reader_can_use_a_bundle(session, world, made, contributors, clock)
    # the waiting answers are stored and shown as pending, the paid ones are not
    assert [(p.answers, p.reason) for p in pending_answers(session, contributors[0].address)] == [
        (3, PENDING_OPEN)
    ]
    assert not pending_answers(session, contributors[5].address)

    # Two of the open items fill up: the next epoch pays them; the third still waits.
    _answer(session, made, contributors, clock, range(4, 6), range(3, K))
    assert [(p.answers, p.reason) for p in pending_answers(session, contributors[0].address)] == [
        (1, PENDING_OPEN),
        (2, PENDING_SETTLEMENT),
    ]
    second = _settle(session, world, made)
    data = world.blobs.get(second.bundle_cid)
    assert _bundle_items(data) == set(made.items[:6])
    assert second.submissions == 2 * K
    _assert_no_reader_can_use_a_bundle(session, world, made, contributors, clock)
    with pytest.raises(Conflict, match=r"nothing to settle yet: 3 answers wait .* --seal-partial"):
        _settle(session, world, made)
    assert [row.epoch for row in settlements_of(session, made.task_id)] == [1, 2]

    # --seal-partial pays item 6 with its 3 answers and seals it.
    third = _settle(session, world, made, seal_partial=True)
    data = world.blobs.get(third.bundle_cid)
    assert _bundle_items(data) == set(made.items[:7])
    assert third.submissions == 3
    tasks = TaskRepository(session)
    task_pk = tasks.by_task_id(made.task_id).id  # type: ignore[union-attr]
    sealed = tasks.sealed_items(task_pk)
    assert sealed == {**dict.fromkeys(made.items[:4], 1), **dict.fromkeys(made.items[4:6], 2)} | {
        made.items[6]: 3
    }
    assert not pending_answers(session, contributors[0].address)
    _assert_no_reader_can_use_a_bundle(session, world, made, contributors, clock)
    audit = audit_bundle(data, world.escrow, history=world.blobs)
    assert audit.root == third.root and audit.history_checked == [1, 2]

    # A sealed item takes no answer (one line), is never assigned and never reviewed again.
    before = session.scalar(select(func.count()).select_from(Submission))
    entry = contributors[9].sign(made.info, made.items[6], "pos", 60)
    with pytest.raises(Conflict) as refused:
        submit(session, entry, clock=clock)
    assert str(refused.value) == (
        f"item_cid: item {made.items[6]} is sealed: epoch 3's settlement published its "
        "answers, so it takes no more (take another item with `task next`)"
    )
    assert session.scalar(select(func.count()).select_from(Submission)) == before
    for who in (9, 10):
        seen = set()
        for _ in range(8):
            try:
                item = next_item(session, made.task_id, contributors[who].address, clock=clock)
            except Conflict:
                break  # holds as many items as allowed
            if item is None:
                break
            seen.add(item.item_cid)
        assert seen and seen <= set(made.items[7:])
        review = next_review(session, made.task_id, contributors[who].address, clock=clock)
        assert review is None
    assert open_items <= set(sealed)


def test_the_audit_fails_a_bundle_paying_an_answer_after_its_item_was_published(
    session: Session, world: World, made: Any
) -> None:
    report = _settle(session, world, made)
    data = world.blobs.get(report.bundle_cid)
    tampered = json.loads(data)
    subs = tampered["submissions"]
    item = subs["items"][subs["item"][1]]
    assert subs["item"][0] == subs["item"][1]
    subs["epoch"][1] = 2
    with pytest.raises(AuditMismatch) as failed:
        audit_bundle(encode_bundle(tampered), world.escrow)
    assert str(failed.value) == (
        f"audit failed: submissions: submission 1 to item {item} is paid in epoch 2, but "
        "epoch 1 already published the item's answers (a published item is sealed and takes "
        "no more answers)"
    )


def test_a_closed_task_publishes_every_answer(
    session: Session, world: World, made: Any, contributors: Any, clock: Any
) -> None:
    from datafair.services.tasks import close_task

    close_task(session, made.task_id, clock=clock)
    report = _settle(session, world, made)
    assert _bundle_items(world.blobs.get(report.bundle_cid)) == set(made.items[:7])
    _assert_no_reader_can_use_a_bundle(session, world, made, contributors, clock)


def test_sealing_commits_with_the_epoch_record_or_not_at_all(
    session: Session, world: World, made: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    tasks = TaskRepository(session)
    task_pk = tasks.by_task_id(made.task_id).id  # type: ignore[union-attr]
    save = fail_when_bundled(monkeypatch)
    with pytest.raises(RuntimeError):
        _settle(session, world, made, seal_partial=True)
    assert settlements_of(session, made.task_id) == []
    assert tasks.sealed_items(task_pk) == {}
    monkeypatch.setattr(settle_module._Machine, "_save", save)
    assert _settle(session, world, made, seal_partial=True).state == "done"
    assert tasks.sealed_items(task_pk) == dict.fromkeys(made.items[:7], 1)


def test_an_answer_taken_while_the_epoch_is_computed_stops_the_seal(
    session: Session, world: World, made: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    tasks = TaskRepository(session)
    task_pk = tasks.by_task_id(made.task_id).id  # type: ignore[union-attr]
    seal_items = TaskRepository.seal_items

    def one_more_answer_first(self: Any, task_pk: int, cids: Any, epoch: int) -> Any:
        counts = seal_items(self, task_pk, cids, epoch)
        return {**counts, made.items[4]: counts[made.items[4]] + 1}

    monkeypatch.setattr(TaskRepository, "seal_items", one_more_answer_first)
    with pytest.raises(Conflict, match=rf"item {made.items[4]} took an answer while epoch 1"):
        _settle(session, world, made, seal_partial=True)
    assert settlements_of(session, made.task_id) == []
    assert tasks.sealed_items(task_pk) == {}
