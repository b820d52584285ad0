"""Gold stays secret: a bundle reveals only the gold it grades, and revealed gold is retired.

A contributor who reads every published bundle gains nothing on later gold: the gold items a
bundle reveals are never assigned, accepted or graded again, and the gold items still in use
appear in no bundle (neither their item id nor their salt). Retirement commits with the epoch's
record, and an audit catches a tampered gold answer or proof.
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
from datafair.services.settlement import settle as settle_module
from datafair.services.settlement.audit import AuditMismatch, audit_bundle
from datafair.services.settlement.bundle import encode_bundle
from datafair.services.settlement.funding import funding_of
from datafair.services.settlement.gold import GoldTree
from datafair.services.settlement.settle import settle_task, settlements_of
from datafair.services.submissions import submit, submit_many
from datafair.store.models import Submission
from datafair.store.repositories import AssignmentRepository, TaskRepository

GOLD = {0: "pos", 1: "neg", 2: "pos", 3: "neg"}
"""Gold items by position; items 4..11 are ordinary."""


def _answer(session: Session, made: Any, contributors: Any, clock: Any, positions: Any) -> None:
    """Wallets 0..5 answer the items at ``positions`` (the gold answer, or "pos")."""
    entries = [
        contributors[who].sign(made.info, made.items[p], GOLD.get(p, "pos"), p)
        for p in positions
        for who in range(6)
    ]
    results = submit_many(session, entries, clock=clock)
    assert all(result.ok for result in results), [r.error for r in results if not r.ok]


def _settle(session: Session, world: World, task_id: bytes) -> tuple[Any, bytes]:
    report = settle_task(session, world.escrow, world.blobs, task_id, sender=OWNER)
    assert report.bundle_cid is not None
    return report, world.blobs.get(report.bundle_cid)


@pytest.fixture
def task(session: Session, world: World, make_task: Any, contributors: Any, clock: Any) -> Any:
    """Four gold items and eight ordinary ones; epoch 1 answers gold 0 and 1 and items 4..7."""
    made = make_task(12, overlap=6, gold=GOLD, gold_ratio=0.3)
    _answer(session, made, contributors, clock, [0, 1, 4, 5, 6, 7])
    fund(session, world, made.task_id)
    return made


def _secret_marks(session: Session, made: Any, positions: Any) -> list[bytes]:
    """The item ids and salts of the gold items at ``positions``, as they would appear in a
    bundle (hex) if it leaked them."""
    secret = funding_of(session, made.task_id).gold_salt
    tree = GoldTree(made.task_id, made.gold, secret)
    cids = [made.items[p] for p in positions]
    return [cid.encode() for cid in cids] + [tree.salts[cid].hex().encode() for cid in cids]


def test_a_reader_of_every_bundle_gains_nothing_on_later_gold(
    session: Session, world: World, task: Any, contributors: Any, clock: Any
) -> None:
    made = task
    gold_cids = [made.items[p] for p in GOLD]
    tasks = TaskRepository(session)
    task_pk = tasks.by_task_id(made.task_id).id  # type: ignore[union-attr]
    # wallet 7 holds gold item 0 when epoch 1 is settled
    slot = tasks.slots(task_pk, [gold_cids[0]])[gold_cids[0]]
    held = AssignmentRepository(session).take(
        task_pk=task_pk,
        task_item_id=slot.task_item_id,
        contributor=contributors[7].address,
        is_gold=True,
        now_ms=int(clock() * 1000),
        expires_at=int(clock() * 1000) + 600_000,
    )
    session.commit()
    assert held is not None

    _, bundle1 = _settle(session, world, made.task_id)
    gold1 = json.loads(bundle1)["gold"]
    assert set(gold1["answers"]) == set(gold1["openings"]) == set(gold_cids[:2])
    assert {o["revealed_in"] for o in gold1["openings"].values()} == {1}
    for mark in _secret_marks(session, made, [2, 3]):
        assert mark not in bundle1  # the gold still in use is nowhere in the bundle
    assert tasks.retired_gold(task_pk) == {gold_cids[0]: 1, gold_cids[1]: 1}

    # Revealed gold is never accepted again, not even through a slot held before the reveal.
    before = session.scalar(select(func.count()).select_from(Submission))
    for who, position in ((7, 0), (19, 1), (8, 0)):
        entry = contributors[who].sign(made.info, gold_cids[position], GOLD[position], 50)
        with pytest.raises(Conflict) as refused:
            submit(session, entry, clock=clock)
        assert str(refused.value) == (
            f"item_cid: item {gold_cids[position]} is a gold item whose answer epoch 1's "
            "settlement published; it takes no more answers"
        )
    assert session.scalar(select(func.count()).select_from(Submission)) == before

    # Fresh contributors are never assigned revealed gold; the secret gold is still used.
    assigned: list[str] = []
    for who in range(8, 14):
        nonce = 100
        while True:
            try:
                item = next_item(session, made.task_id, contributors[who].address, clock=clock)
            except Conflict:
                break  # share cap or holds: this contributor is done
            if item is None:
                break
            assigned.append(item.item_cid)
            if item.item_cid == gold_cids[3]:
                continue  # gold item 3 stays unanswered (its hold just lapses)
            value = GOLD.get(made.items.index(item.item_cid), "pos")
            entry = contributors[who].sign(made.info, item.item_cid, value, nonce)
            submit(session, entry, clock=clock)
            nonce += 1
    assert not set(assigned) & set(gold_cids[:2])
    assert gold_cids[2] in assigned

    report2, bundle2 = _settle(session, world, made.task_id)
    gold2 = json.loads(bundle2)["gold"]
    assert {cid: o["revealed_in"] for cid, o in gold2["openings"].items()} == {
        gold_cids[0]: 1,
        gold_cids[1]: 1,
        gold_cids[2]: 2,
    }
    for cid in gold_cids[:2]:  # an earlier reveal is carried over unchanged
        assert gold2["openings"][cid] == gold1["openings"][cid]
    for mark in _secret_marks(session, made, [3]):
        assert mark not in bundle1 and mark not in bundle2
    assert tasks.retired_gold(task_pk) == {**dict.fromkeys(gold_cids[:2], 1), gold_cids[2]: 2}
    audit = audit_bundle(bundle2, world.escrow, history=world.blobs)
    assert audit.root == report2.root and audit.history_checked == [1]
    assert (audit.gold_items, audit.gold_revealed_now) == (3, 1)

    # After epoch 2 no fresh contributor is given any revealed gold item either.
    seen = []
    for _ in range(6):
        item = next_item(session, made.task_id, contributors[15].address, clock=clock)
        if item is None:
            break
        seen.append(item.item_cid)
    assert not set(seen) & set(gold_cids[:3])


def _first_gold(session: Session, world: World, task: Any) -> tuple[bytes, str]:
    """Settle epoch 1: the bundle and the first gold item it reveals."""
    _, data = _settle(session, world, task.task_id)
    return data, sorted(json.loads(data)["gold"]["openings"])[0]


def test_a_tampered_gold_answer_or_proof_fails_the_audit(
    session: Session, world: World, task: Any
) -> None:
    data, cid = _first_gold(session, world, task)
    assert json.loads(data)["gold"]["openings"][cid]["proof"]  # two revealed: one sibling each
    for change in (
        lambda d: d["gold"]["answers"].__setitem__(cid, "neg" if GOLD[0] == "pos" else "pos"),
        lambda d: d["gold"]["openings"][cid]["proof"].__setitem__(0, "0x" + "22" * 32),
        lambda d: d["gold"]["openings"][cid].__setitem__("salt", "0x" + "33" * 32),
    ):
        tampered = json.loads(data)
        change(tampered)
        with pytest.raises(AuditMismatch) as failed:
            audit_bundle(encode_bundle(tampered), world.escrow)
        message = str(failed.value)
        assert "\n" not in message
        assert message.startswith(f"audit failed: gold: item {cid}: its revealed answer, salt")


def test_a_gold_item_graded_after_its_reveal_fails_the_audit(
    session: Session, world: World, task: Any
) -> None:
    data, cid = _first_gold(session, world, task)
    tampered = json.loads(data)
    for opening in tampered["gold"]["openings"].values():
        opening["revealed_in"] = 2
    with pytest.raises(AuditMismatch, match=f"^audit failed: gold: item {cid} is marked revealed"):
        audit_bundle(encode_bundle(tampered), world.escrow)


def test_retirement_commits_with_the_epoch_record_or_not_at_all(
    session: Session, world: World, task: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    tasks = TaskRepository(session)
    task_pk = tasks.by_task_id(task.task_id).id  # type: ignore[union-attr]
    save = fail_when_bundled(monkeypatch)
    with pytest.raises(RuntimeError):
        settle_task(session, world.escrow, world.blobs, task.task_id, sender=OWNER)
    assert settlements_of(session, task.task_id) == []
    assert tasks.retired_gold(task_pk) == {}
    monkeypatch.setattr(settle_module._Machine, "_save", save)
    report = settle_task(session, world.escrow, world.blobs, task.task_id, sender=OWNER)
    assert report.state == "done"
    assert tasks.retired_gold(task_pk) == {task.items[0]: 1, task.items[1]: 1}


def test_a_task_whose_gold_is_all_revealed_settles_without_gold(
    session: Session, world: World, task: Any, contributors: Any, clock: Any
) -> None:
    _answer(session, task, contributors, clock, [2, 3])
    _settle(session, world, task.task_id)
    _answer(session, task, contributors, clock, [8, 9])
    report, data = _settle(session, world, task.task_id)
    openings = json.loads(data)["gold"]["openings"]
    assert report.epoch == 2 and {o["revealed_in"] for o in openings.values()} == {1}
    assert audit_bundle(data, world.escrow, history=world.blobs).gold_revealed_now == 0
