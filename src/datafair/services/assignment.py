"""Assignment: which item a contributor labels next, held for them until a timeout.

Inputs: an open ``Session`` (committed by each call), a task id (bytes or hex), the
contributor's address, a clock (Unix seconds) and the hold timeout in seconds.

Rules of ``next_item``:

* never an item the contributor already answered, currently holds, or skipped;
* a seeded random choice among the eligible items: the n-th assignment of a contributor in a
  task starts at the position ``keccak256(gold_seed || "item" || contributor || n)`` picks and
  takes the first open item from there in task order (wrapping around). Deterministic given
  the task's private seed (reproducible runs pass one to ``create_task``), unpredictable to
  contributors, and different for every contributor and call, so wallets acting together
  cannot steer onto the same items and there is no fill order to exploit (issue: rings that
  land on the same items vouch for each other in inference);
* a share ``gold_ratio`` of assignments are gold items. Whether the n-th assignment is gold is
  decided by ``keccak256(gold_seed || contributor || n)`` read as a number in [0, 1) compared
  with the ratio. During the task's onboarding window (its first ``onboarding_items``
  assignments) exactly ``onboarding_gold`` of them are gold instead, at random places
  (:class:`~datafair.core.assignment_rules.AssignmentRules`), so a new wallet answers known items
  first, as qualification works on Toloka and MTurk. When the draw says gold but the
  contributor has seen every gold item, an ordinary item is given instead; when no ordinary
  item is left, the contributor is done (``None``), even if gold items remain;
* a contributor holds or answers at most the task's share cap of its ordinary slots
  (``max_share_bps``, ``Conflict`` past it) and may give back at most ``max_skips`` items
  (:func:`release_assignment`); both counts are read under a per-contributor lock (an advisory
  lock on PostgreSQL, the write lock on SQLite), so parallel calls cannot overshoot;
* a slot is taken with an atomic conditional ``UPDATE`` (``answers + reserved < capacity``),
  so concurrent callers never hold more slots than an item has; each candidate is tried in a
  savepoint, so parallel calls by one contributor end up holding different items;
* open items are found through a partial index of open items in position order, so a call
  costs about the same on a task of a hundred items or of a hundred thousand, however full;
* a hold expires after ``timeout_s``; expired holds are released (their slots return to the
  pool) at the start of each ``next_item`` call of the task, or by ``expire_assignments``.

What a contributor receives (``AssignedItem``) never says whether the item is gold, nor any
gold answer.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from datafair.core.assignment_rules import SHARE_CAP_FLOOR, AssignmentRules, assignment_rules
from datafair.core.canonical import keccak256
from datafair.core.errors import Conflict, NotFound
from datafair.core.ids import checksum_address
from datafair.core.schemas import ItemContext, ItemKind
from datafair.crypto.eip712 import contributor_bytes
from datafair.services.eligibility import check_eligible
from datafair.services.tasks import Clock, deadline_passed, load_task, now_ms
from datafair.store.blobs import BlobStore
from datafair.store.db import retry_transaction
from datafair.store.models import ASSIGNMENT_HELD, TASK_CLOSED, Assignment, Task
from datafair.store.repositories import AssignmentRepository, ItemRepository, TaskRepository

DEFAULT_TIMEOUT_S = 600
DEFAULT_MAX_HELD = 20
_CANDIDATES = 8
_ATTEMPTS = 3


@dataclass(frozen=True)
class AssignedItem:
    """An item handed to a contributor: what to label, and until when the slot is theirs.

    ``text`` is the item's text (text and pair items); ``content`` the image bytes when a blob
    store was given; ``meta`` the item's import metadata; ``expires_at`` Unix milliseconds.
    """

    assignment_id: int
    task_id: bytes
    item_cid: str
    context: ItemContext
    text: str | None
    expires_at: int
    meta: dict[str, Any] = field(default_factory=dict)
    content: bytes | None = None


def gold_draw(gold_seed: bytes, contributor: str, n: int) -> float:
    """The number in [0, 1) that decides whether assignment ``n`` of ``contributor`` is gold."""
    digest = keccak256(gold_seed + contributor_bytes(contributor) + n.to_bytes(8, "big"))
    return int.from_bytes(digest[:8], "big") / 2**64


def item_draw(gold_seed: bytes, contributor: str, n: int) -> float:
    """The number in [0, 1) that places assignment ``n`` of ``contributor`` in the task."""
    digest = keccak256(gold_seed + b"item" + contributor_bytes(contributor) + n.to_bytes(8, "big"))
    return int.from_bytes(digest[:8], "big") / 2**64


def rules_of(task: Task) -> AssignmentRules:
    """The task's assignment rules (its spec's ``extra``; checked at creation)."""
    extra = task.spec.get("extra") or {}
    return assignment_rules(dict(extra), has_gold=task.gold_ratio > 0)


def next_item(
    session: Session,
    task_id: bytes | str,
    contributor: str,
    *,
    clock: Clock = time.time,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    max_held: int = DEFAULT_MAX_HELD,
    blobs: BlobStore | None = None,
) -> AssignedItem | None:
    """Hold the next item of the task for ``contributor`` and commit; None when none is left.

    Raises ``NotFound`` (unknown task), ``InvalidInput`` (malformed id or address),
    ``Conflict`` (task closed or past its deadline; the contributor is paused on the task or
    below its minimum reputation, see ``datafair.services.reputation``; the contributor already
    holds ``max_held`` unfinished items).
    """
    address = checksum_address(contributor)

    def work() -> AssignedItem | None:
        task = load_task(session, task_id)
        _check_open(task, clock())
        check_eligible(session, task, address)
        AssignmentRepository(session).expire(task.id, now_ms=now_ms(clock))
        return _assign(session, task, address, clock, timeout_s, max_held)

    # One transaction (one commit) per call. A conflict means the same contributor took an
    # item in a concurrent call, or the database was busy: everything is read again.
    assigned = retry_transaction(session, work, attempts=_ATTEMPTS)
    if assigned is not None and blobs is not None and assigned.context.kind is ItemKind.IMAGE:
        assigned = _with_content(assigned, blobs)
    return assigned


def _check_open(task: Task, unix_seconds: float) -> None:
    if task.status == TASK_CLOSED:
        raise Conflict(f"task 0x{task.task_id.hex()}: closed, it takes no more answers")
    if deadline_passed(task.deadline, unix_seconds):
        raise Conflict(f"task 0x{task.task_id.hex()}: its deadline {task.deadline} has passed")


def _assign(
    session: Session, task: Task, address: str, clock: Clock, timeout_s: float, max_held: int
) -> AssignedItem | None:
    assignments = AssignmentRepository(session)
    assignments.lock_contributor(task.id, address)
    started = now_ms(clock)
    tally = assignments.tally(task.id, address, now_ms=started)
    if tally.held >= max_held:
        raise Conflict(
            f"assignment: {address} already holds {max_held} unfinished items in this task "
            "(submit them or wait for them to expire)"
        )
    rules = rules_of(task)
    n = tally.total
    want_gold = _wants_gold(task, rules, address, n, tally.gold)
    last = tally.last_position
    capped = tally.ordinary_taken >= SHARE_CAP_FLOOR and tally.ordinary_taken >= rules.share_cap(
        last + 1 - assignments.gold_count(task.id), task.overlap
    )
    if capped:
        raise Conflict(
            f"assignment: {address} has taken its share of this task "
            f"({tally.ordinary_taken} answers, extra.max_share_bps {rules.max_share_bps})"
        )
    order = (True, False) if want_gold else (False,)
    start = int(item_draw(task.gold_seed, address, n) * (last + 1))
    for gold in order:
        while True:
            candidates = assignments.candidates(
                task.id, address, gold=gold, limit=_CANDIDATES, start=start
            )
            if not candidates:
                break
            expires = started + int(timeout_s * 1000)
            for task_item_id, item_cid in candidates:
                assignment_id = assignments.take(
                    task_pk=task.id,
                    task_item_id=task_item_id,
                    contributor=address,
                    is_gold=gold,
                    now_ms=started,
                    expires_at=expires,
                )
                if assignment_id is not None:
                    return _assigned(session, task, item_cid, assignment_id, expires)
    return None


def _wants_gold(task: Task, rules: AssignmentRules, address: str, n: int, gold: int) -> bool:
    """Whether assignment ``n`` of ``address`` (after ``gold`` gold ones) should be gold."""
    draw = gold_draw(task.gold_seed, address, n)
    onboarding = rules.onboarding_wants_gold(n, gold, draw)
    if onboarding is not None:
        return onboarding
    return task.gold_ratio > 0 and draw < task.gold_ratio


def _assigned(
    session: Session, task: Task, item_cid: str, assignment_id: int, expires_at: int
) -> AssignedItem:
    item = ItemRepository(session).row(item_cid)
    assert item is not None
    return AssignedItem(
        assignment_id=assignment_id,
        task_id=task.task_id,
        item_cid=item.cid,
        context=ItemContext(ItemKind(item.kind), item.text_length, item.width, item.height),
        text=item.text,
        expires_at=expires_at,
        meta=dict(item.meta or {}),
    )


def _with_content(assigned: AssignedItem, blobs: BlobStore) -> AssignedItem:
    return AssignedItem(
        assignment_id=assigned.assignment_id,
        task_id=assigned.task_id,
        item_cid=assigned.item_cid,
        context=assigned.context,
        text=assigned.text,
        expires_at=assigned.expires_at,
        meta=assigned.meta,
        content=blobs.get(assigned.item_cid),
    )


def expire_assignments(session: Session, task_id: bytes | str, *, clock: Clock = time.time) -> int:
    """Release every hold of the task past its time and commit; how many were released."""
    try:
        task = load_task(session, task_id)
        released = AssignmentRepository(session).expire(task.id, now_ms=now_ms(clock))
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return released


def release_assignment(session: Session, assignment_id: int, contributor: str) -> None:
    """Skip a held item: give it back before its timeout, unanswered, and commit.

    The item is never offered to this contributor again, and the skip counts against the
    task's ``max_skips`` (``Conflict`` once they are used up, nothing changed). ``NotFound``
    unless ``assignment_id`` is a live hold of ``contributor``.
    """
    address = checksum_address(contributor)
    try:
        assignment = session.get(Assignment, assignment_id)
        if assignment is None or assignment.contributor != address:
            raise NotFound(f"assignment {assignment_id}: no such assignment of {address}")
        if assignment.status != ASSIGNMENT_HELD:
            raise NotFound(f"assignment {assignment_id}: not held any more ({assignment.status})")
        task = session.get(Task, assignment.task_pk)
        assert task is not None
        assignments = AssignmentRepository(session)
        assignments.lock_contributor(task.id, address)
        skips = assignments.tally(task.id, address, now_ms=0).skips
        limit = rules_of(task).max_skips
        if skips >= limit:
            raise Conflict(
                f"assignment: {address} has skipped {skips} items of this task, its limit "
                f"(extra.max_skips {limit}); answer the item or let the hold expire"
            )
        TaskRepository(session).lock_items([assignment.task_item_id])
        freed = assignments.give_up(assignment_id, address)
        if freed is not None:
            TaskRepository(session).release({freed: 1})
        session.commit()
    except BaseException:
        session.rollback()
        raise
