"""What one account, or the public, may read of a task's answers and its money.

Inputs: an open ``Session`` (reads only; every call ends its transaction), a ``BlobStore``
holding the settlement bundles, an address, a task id.

* :func:`published_bundle` — the task's newest bundle whose root is on chain (state ``posted``
  or ``done``). What it contains (every answer it pays, the gold answers) is public from then on.
* :func:`answers_of` — a task's answers, all or one contributor's; :func:`publication` tells
  which of them a published bundle already revealed (the API's policy decides who sees what).
* :func:`earnings` — per posted epoch, what the account was allotted and why: the answers the
  epoch paid, how many agreed with the inferred label, gold answered and right, the spam flag,
  the reviews made and how many agreed with the inferred label, the gross reward before fee.
* :func:`pending_answers` — per task, the account's answers no settlement bundle carries yet,
  and why: ``pending: item still open`` (an epoch publishes an item's answers only once the
  item takes no further answer, :mod:`datafair.services.settlement.settle`) or ``pending:
  awaiting settlement`` (the item is closed; the next epoch pays it).
* :func:`my_reputation` — the account's pooled reputation per task type.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from datafair.core.canonical import canonical_json
from datafair.core.errors import InvalidInput
from datafair.quality.reviews import says_right
from datafair.services.settlement.bundle import read_document
from datafair.services.tasks import checksum_address, load_task
from datafair.store.blobs import BlobStore
from datafair.store.models import TASK_CLOSED, Submission, Task, TaskItem
from datafair.store.reputation_models import ContributorReputation
from datafair.store.settlement_models import PayoutLeaf, Settlement

PUBLISHED_STATES = ("posted", "done")
PENDING_OPEN = "pending: item still open"
PENDING_SETTLEMENT = "pending: awaiting settlement"


@dataclass(frozen=True)
class Publication:
    """The newest published bundle of a task: its CID and the ``(item, contributor)`` pairs
    and gold answers it revealed (empty when nothing is published yet)."""

    bundle_cid: str | None = None
    answered: frozenset[tuple[str, str]] = frozenset()
    gold: dict[str, Any] = field(default_factory=dict)

    @property
    def published(self) -> bool:
        return self.bundle_cid is not None


@dataclass(frozen=True)
class AnswerRow:
    """One stored answer as the API shows it."""

    submission_id: int
    item_cid: str
    contributor: str
    answer: Any
    nonce: int
    duration_ms: int
    accepted_at: int
    signature: str


@dataclass(frozen=True)
class EpochEarning:
    """What an account got from one posted epoch of one task, and the reasons."""

    task_id: str
    epoch: int
    bundle_cid: str | None
    amount: int
    gross: int
    answers_paid: int
    answers_agreeing: int
    gold_answered: int
    gold_correct: int
    spam_flagged: bool
    reviews_made: int
    reviews_agreeing: int


@dataclass(frozen=True)
class PendingAnswers:
    """An account's answers to one task that no settlement bundle carries yet, and why."""

    task_id: str
    answers: int
    reason: str


@lru_cache(maxsize=32)
def _bundle_facts(data: bytes) -> tuple[frozenset[tuple[str, str]], dict[str, Any]]:
    document = read_document(data)
    subs = document["submissions"]
    items, accounts = subs["items"], subs["accounts"]
    pairs = frozenset(
        (items[i], accounts[c]) for i, c in zip(subs["item"], subs["contributor"], strict=True)
    )
    return pairs, dict(document["gold"]["answers"])


def published_bundle(session: Session, blobs: BlobStore, task_id: bytes | str) -> Publication:
    """The task's newest published bundle and what it revealed."""
    try:
        task = load_task(session, task_id)
        cid = session.scalar(
            select(Settlement.bundle_cid)
            .where(
                Settlement.task_pk == task.id,
                Settlement.state.in_(PUBLISHED_STATES),
                Settlement.bundle_cid.is_not(None),
            )
            .order_by(Settlement.epoch.desc())
            .limit(1)
        )
    finally:
        session.rollback()
    if cid is None or not blobs.has(cid):
        return Publication()
    pairs, gold = _bundle_facts(blobs.get(cid))
    return Publication(cid, pairs, gold)


def answers_of(
    session: Session, task_id: bytes | str, contributor: str | None = None, *, limit: int = 1000
) -> list[AnswerRow]:
    """The task's answers (one contributor's when given), oldest first, at most ``limit``."""
    try:
        task = load_task(session, task_id)
        query = select(Submission).where(Submission.task_pk == task.id)
        if contributor is not None:
            query = query.where(Submission.contributor == checksum_address(contributor))
        rows = session.scalars(query.order_by(Submission.id).limit(limit)).all()
        return [
            AnswerRow(
                row.id,
                row.item_cid,
                row.contributor,
                json.loads(row.answer),
                row.nonce,
                row.duration_ms,
                row.accepted_at,
                "0x" + bytes(row.signature).hex(),
            )
            for row in rows
        ]
    finally:
        session.rollback()


def hide_open_answers(
    session: Session, task_id: bytes | str, reader: str, rows: list[AnswerRow]
) -> list[AnswerRow]:
    """``rows`` less others' answers to items ``reader`` may still answer (no peeking:
    :func:`datafair.services.eligibility.still_answerable`); the reader's own rows stay."""
    from datafair.services.eligibility import still_answerable

    address = checksum_address(reader)
    others = [row for row in rows if row.contributor != address]
    if not others:
        return rows
    try:
        task = load_task(session, task_id)
        hidden = still_answerable(session, task, address, (row.item_cid for row in others))
    finally:
        session.rollback()
    return [row for row in rows if row.contributor == address or row.item_cid not in hidden]


def my_answers(session: Session, contributor: str, *, limit: int = 1000) -> list[AnswerRow]:
    """``contributor``'s answers over every task, newest first, at most ``limit``."""
    address = checksum_address(contributor)
    try:
        rows = session.execute(
            select(Submission, Task.task_id)
            .join(Task, Task.id == Submission.task_pk)
            .where(Submission.contributor == address)
            .order_by(Submission.id.desc())
            .limit(limit)
        ).all()
        return [
            AnswerRow(
                row.id,
                row.item_cid,
                "0x" + bytes(task_id).hex(),
                json.loads(row.answer),
                row.nonce,
                row.duration_ms,
                row.accepted_at,
                "0x" + bytes(row.signature).hex(),
            )
            for row, task_id in rows
        ]
    finally:
        session.rollback()


def my_reputation(session: Session, contributor: str) -> dict[str, dict[str, Any]]:
    """Per task type: answers, settlements, the posterior mean and its lower bound."""
    address = checksum_address(contributor)
    try:
        rows = session.scalars(
            select(ContributorReputation).where(ContributorReputation.contributor == address)
        ).all()
        from datafair.services.reputation import reputation_of

        out: dict[str, dict[str, Any]] = {}
        for row in rows:
            record = reputation_of(session, address, row.task_type)
            out[row.task_type] = {
                "answers": record.answers,
                "settlements": record.settlements,
                "mean": round(record.mean, 6),
                "low": round(record.low, 6),
                "high": round(record.high, 6),
                "score_bps": record.score_bps,
            }
        return out
    finally:
        session.rollback()


def _same(answer_json: str, label: Any) -> bool:
    return bool(answer_json == canonical_json(label).decode("utf-8"))


def _epoch_reasons(document: dict[str, Any], address: str, epoch: int) -> dict[str, Any]:
    subs = document["submissions"]
    items, accounts = subs["items"], subs["accounts"]
    labels = document["inferred"]["labels"]
    gold = document["gold"]["answers"]
    mine = {i for i, account in enumerate(accounts) if account.lower() == address.lower()}
    paid = agreeing = gold_answered = gold_correct = 0
    for row, (item, contributor) in enumerate(zip(subs["item"], subs["contributor"], strict=True)):
        if contributor not in mine or subs["epoch"][row] != epoch:
            continue
        paid += 1
        answer = subs["answer"][row]
        if labels[item] is not None and _same(answer, labels[item]):
            agreeing += 1
        cid = items[item]
        if cid in gold:
            gold_answered += 1
            gold_correct += _same(answer, gold[cid])
    reviews = document["reviews"]
    made = reviews_agreeing = 0
    for target, reviewer, verdict, rating in zip(
        reviews["submission"],
        reviews["reviewer"],
        reviews["verdict"],
        reviews["rating"],
        strict=True,
    ):
        if reviewer not in mine:
            continue
        made += 1
        said = says_right(verdict, rating)
        label = labels[subs["item"][target]]
        if said is not None and label is not None:
            reviews_agreeing += said == _same(subs["answer"][target], label)
    spammers = {account.lower() for account in document["inferred"]["spammers"]}
    gross = {account.lower(): int(value) for account, value in document["rewards"]["gross"].items()}
    return {
        "answers_paid": paid,
        "answers_agreeing": agreeing,
        "gold_answered": gold_answered,
        "gold_correct": gold_correct,
        "spam_flagged": address.lower() in spammers,
        "reviews_made": made,
        "reviews_agreeing": reviews_agreeing,
        "gross": gross.get(address.lower(), 0),
    }


def earnings(session: Session, blobs: BlobStore, account: str) -> list[EpochEarning]:
    """Per posted epoch in which ``account`` answered, reviewed or was paid: the amount and
    the reasons (see the module docstring), oldest task and epoch first."""
    address = checksum_address(account, "account")
    try:
        settlements = session.execute(
            select(Settlement, Task.task_id)
            .join(Task, Task.id == Settlement.task_pk)
            .where(Settlement.state.in_(PUBLISHED_STATES))
            .order_by(Task.id, Settlement.epoch)
        ).all()
        amounts: dict[int, int] = defaultdict(int)
        for settlement_id, amount in session.execute(
            select(PayoutLeaf.settlement_id, PayoutLeaf.amount).where(PayoutLeaf.account == address)
        ):
            amounts[settlement_id] += amount
    finally:
        session.rollback()
    out: list[EpochEarning] = []
    for settlement, task_id in settlements:
        cid = settlement.bundle_cid
        if cid is None or not blobs.has(cid):
            continue
        document = read_document(blobs.get(cid))
        reasons = _epoch_reasons(document, address, settlement.epoch)
        amount = amounts.get(settlement.id, 0)
        if not amount and not reasons["answers_paid"] and not reasons["reviews_made"]:
            continue
        out.append(
            EpochEarning(
                task_id="0x" + bytes(task_id).hex(),
                epoch=settlement.epoch,
                bundle_cid=cid,
                amount=amount,
                **reasons,
            )
        )
    return out


def pending_answers(
    session: Session, account: str, *, now: float | None = None
) -> list[PendingAnswers]:
    """Per task (oldest first) and reason, how many of ``account``'s answers wait for a
    settlement: those to items no bundle has sealed yet (see the module docstring)."""
    import time

    from datafair.services.tasks import deadline_passed

    address = checksum_address(account, "account")
    clock = time.time() if now is None else now
    try:
        rows = session.execute(
            select(Task.task_id, Task.status, Task.deadline, TaskItem.capacity, TaskItem.answers)
            .select_from(Submission)
            .join(TaskItem, TaskItem.id == Submission.task_item_id)
            .join(Task, Task.id == Submission.task_pk)
            .where(Submission.contributor == address, TaskItem.sealed_epoch.is_(None))
            .order_by(Task.id)
        ).all()
    finally:
        session.rollback()
    counts: dict[tuple[str, str], int] = {}
    for task_id, status, deadline, capacity, answers in rows:
        closed = (
            status == TASK_CLOSED
            or deadline_passed(deadline, clock)
            or (capacity is not None and answers >= capacity)
        )
        key = ("0x" + bytes(task_id).hex(), PENDING_SETTLEMENT if closed else PENDING_OPEN)
        counts[key] = counts.get(key, 0) + 1
    tasks = list(dict.fromkeys(task for task, _ in counts))  # in task order
    ordered = sorted(counts.items(), key=lambda e: (tasks.index(e[0][0]), e[0][1] != PENDING_OPEN))
    return [PendingAnswers(task, n, reason) for (task, reason), n in ordered]


def published_bundle_bytes(session: Session, blobs: BlobStore, cid: str) -> bytes:
    """The bytes of a published settlement bundle; ``NotFound`` for any other CID (items,
    unposted bundles and unknown CIDs are not served by this call)."""
    from datafair.core.errors import NotFound

    try:
        known = session.scalar(
            select(Settlement.id)
            .where(Settlement.bundle_cid == cid, Settlement.state.in_(PUBLISHED_STATES))
            .limit(1)
        )
    finally:
        session.rollback()
    if known is None or not blobs.has(cid):
        raise NotFound(f"cid: no published bundle {cid}")
    return blobs.get(cid)


def item_bytes(session: Session, blobs: BlobStore, cid: str) -> bytes:
    """The stored bytes of a dataset item; ``InvalidInput`` for a malformed CID, ``NotFound``
    for anything that is not an item (bundles, unknown CIDs: an unposted bundle holds the gold
    answers, so the blob store is never served by CID alone)."""
    from datafair.core.errors import NotFound
    from datafair.crypto.cid import is_cid
    from datafair.store.models import Item

    if not is_cid(cid):
        raise InvalidInput("cid", f"{cid!r} is not a CID", "use 'bafkrei...'")
    try:
        known = session.get(Item, cid) is not None
    finally:
        session.rollback()
    if not known or not blobs.has(cid):
        raise NotFound(f"cid: no item {cid}")
    return blobs.get(cid)
