"""Assignment: which item a contributor labels next, held for them until a timeout.

Inputs: an open ``Session`` (committed by each call), a task id (bytes or hex), the
contributor's address, a clock (Unix seconds) and the hold timeout in seconds.

Rules of ``next_item``:

* never an item the contributor already answered or currently holds;
* ordinary items are filled up to k before new ones are started (most-filled first, then
  dataset order), so a partial run still yields completely labelled items;
* a share ``gold_ratio`` of assignments are gold items. Whether the n-th assignment of a
  contributor in a task is gold is decided by ``keccak256(gold_seed || contributor || n)``
  read as a number in [0, 1) compared with the ratio: deterministic given the task's private
  seed (reproducible runs pass one to ``create_task``), unpredictable to contributors (who never
  see the seed), and averaging to the ratio. When the draw says gold but the contributor has
  seen every gold item, an ordinary item is given instead; when no ordinary item is left, the
  contributor is done (``None``), even if gold items remain;
* a slot is taken with an atomic conditional ``UPDATE`` (``answers + reserved < capacity``),
  so concurrent callers never hold more slots than an item has; each candidate is tried in a
  savepoint, so parallel calls by one contributor end up holding different items;
* started items are found through a partial index of open, started items, so a call costs
  about the same on a task of a hundred items or of a hundred thousand;
* a hold expires after ``timeout_s``; expired holds are released (their slots return to the
  pool) at the start of each ``next_item`` call of the task, or by ``expire_assignments``.

What a contributor receives (``AssignedItem``) never says whether the item is gold, nor any
gold answer.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from datafair.core.canonical import keccak256
from datafair.core.errors import Conflict, NotFound
from datafair.core.ids import checksum_address
from datafair.core.schemas import ItemContext, ItemKind
from datafair.crypto.eip712 import contributor_bytes
from datafair.services.eligibility import check_eligible
from datafair.services.tasks import Clock, deadline_passed, load_task, now_ms
from datafair.store.blobs import BlobStore
from datafair.store.db import retry_transaction
from datafair.store.models import ASSIGNMENT_HELD, TASK_CLOSED, Assignment, Task, TaskItem
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
    try:
        task = load_task(session, task_id)
        _check_open(task, clock())
        check_eligible(session, task, address)
        AssignmentRepository(session).expire(task.id, now_ms=now_ms(clock))
        session.commit()
    except BaseException:
        session.rollback()
        raise
    # a conflict means the same contributor took this item in a concurrent call: look again
    assigned = retry_transaction(
        session,
        lambda: _assign(session, task, address, clock, timeout_s, max_held),
        attempts=_ATTEMPTS,
    )
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
    started = now_ms(clock)
    if assignments.held_by(task.id, address, now_ms=started) >= max_held:
        raise Conflict(
            f"assignment: {address} already holds {max_held} unfinished items in this task "
            "(submit them or wait for them to expire)"
        )
    n = assignments.count_for(task.id, address)
    want_gold = task.gold_ratio > 0 and gold_draw(task.gold_seed, address, n) < task.gold_ratio
    order = (True, False) if want_gold else (False,)
    for gold in order:
        while True:
            candidates = assignments.candidates(task.id, address, gold=gold, limit=_CANDIDATES)
            if not candidates:
                break
            expires = started + int(timeout_s * 1000)
            for task_item_id in candidates:
                assignment_id = _try_hold(
                    session, task, task_item_id, address, gold, started, expires
                )
                if assignment_id is not None:
                    return _assigned(session, task, task_item_id, assignment_id, expires)
    return None


def _try_hold(
    session: Session,
    task: Task,
    task_item_id: int,
    address: str,
    gold: bool,
    now: int,
    expires: int,
) -> int | None:
    """Reserve a slot of the item and record the hold, in a savepoint; the assignment id, or
    None if the item filled up or this contributor took it in a concurrent call.
    """
    try:
        with session.begin_nested():
            if not TaskRepository(session).try_reserve(task_item_id):
                return None
            return AssignmentRepository(session).hold(
                task_pk=task.id,
                task_item_id=task_item_id,
                contributor=address,
                is_gold=gold,
                now_ms=now,
                expires_at=expires,
            )
    except IntegrityError:
        return None


def _assigned(
    session: Session, task: Task, task_item_id: int, assignment_id: int, expires_at: int
) -> AssignedItem:
    task_item = session.get(TaskItem, task_item_id)
    assert task_item is not None
    item = ItemRepository(session).get(task_item.item_cid)
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
    """Give a held item back before its timeout (the contributor skips it) and commit.

    ``NotFound`` unless ``assignment_id`` is a live hold of ``contributor``.
    """
    address = checksum_address(contributor)
    try:
        assignment = session.get(Assignment, assignment_id)
        if assignment is None or assignment.contributor != address:
            raise NotFound(f"assignment {assignment_id}: no such assignment of {address}")
        if assignment.status != ASSIGNMENT_HELD:
            raise NotFound(f"assignment {assignment_id}: not held any more ({assignment.status})")
        TaskRepository(session).lock_items([assignment.task_item_id])
        freed = AssignmentRepository(session).give_up(assignment_id, address)
        if freed is not None:
            TaskRepository(session).release({freed: 1})
        session.commit()
    except BaseException:
        session.rollback()
        raise
