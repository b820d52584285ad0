"""Signed submissions: verify each answer and its EIP-712 signature, store it, list them.

Inputs: an open ``Session``; one ``SubmissionInput`` per answer (task id, item CID, the
contributor's address, the answer as a JSON value, nonce, time spent in ms, the 65-byte
signature, and optionally the answer hash the contributor signed); a clock (Unix seconds).

An answer is accepted only if, in this order:

1. the task exists (``NotFound``), is open and not past its deadline (``Conflict``);
2. the item exists (``NotFound``) and is part of the task (``InvalidInput``);
3. nonce, duration and address fit their EIP-712 types (``InvalidInput``);
4. the answer is valid for the task's schema and the item, e.g. a known class, spans inside the
   text (``InvalidInput``); it is then canonicalised (``datafair.core.schemas``);
5. ``answer_hash``, when given, equals keccak256 of the canonical answer's canonical JSON
   (``InvalidInput``): clients sign the hash of the *canonical* answer;
6. the signature recovers to the contributor under the domain of the task's chain id, over
   this task, item, answer hash, nonce and duration, or to a session key the contributor
   delegated for this task that has not expired, been revoked or used up its answers
   (``SignatureError``, :mod:`datafair.services.delegations`);
7. the nonce was not used before by this contributor in this task (replay, ``Conflict``), the
   contributor has not answered this item yet nor been handed another's answer to it for
   review (``Conflict``, :func:`datafair.services.reviews.next_review`), and the item has a
   free slot: a slot the contributor holds through an assignment, or one not held by anyone
   (``Conflict`` when it already has its k answers; on a task with ``extra.assigned_only``,
   only a slot the contributor holds, :mod:`datafair.core.assignment_rules`), and it is not a
   gold item a settlement bundle revealed (``Conflict``: revealed gold is retired,
   :mod:`datafair.services.settlement.gold`) nor an item whose answers a settlement bundle
   published (``Conflict``: a published item is sealed,
   :mod:`datafair.services.settlement.settle`);
8. the contributor is not paused on the task nor below its minimum reputation (``Conflict``,
   ``datafair.services.reputation``).

Accepted answers are stored with their canonical JSON and signature for public audit, and
committed before ``submit``/``submit_many`` return: an acknowledged submission survives a crash.
Both end the session's transaction (commit or roll back), so call them with a session that
holds no other pending change.
Rejected answers are never stored. ``submit_many`` is the throughput path: it reads the tasks and
items of a chunk at once, checks answers and signatures outside any write lock, then takes the
locks, re-checks state and writes the accepted rows with multi-row statements, one transaction
per chunk; each entry gets its own result.
"""

from __future__ import annotations

import time
import weakref
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from datafair.core.canonical import canonical_json, keccak256
from datafair.core.errors import Conflict, DatafairError, InvalidInput, NotFound
from datafair.core.ids import checksum_address, parse_task_id
from datafair.core.schemas import LabelSchema
from datafair.core.task import TaskSpec
from datafair.crypto.cid import is_cid
from datafair.crypto.eip712 import (
    SubmissionDomain,
    SubmissionMessage,
    contributor_bytes,
    recover_signer,
    signing_digest,
)
from datafair.services.assignment import rules_of
from datafair.services.delegations import (
    answers_left,
    link_submissions,
    resolve_session_keys,
    use_answers,
)
from datafair.services.eligibility import blocked_on, min_reputation_bps
from datafair.services.tasks import Clock, TaskInfo, deadline_passed, get_task, load_task, now_ms
from datafair.store.db import begin_read, retry_transaction
from datafair.store.models import TASK_CLOSED
from datafair.store.repositories import (
    AssignmentRepository,
    ItemRepository,
    Slot,
    SubmissionColumns,
    SubmissionRepository,
    TaskRepository,
)

CHUNK_SIZE = 1000
_ATTEMPTS = 4

Screen = Callable[[Session, range], Mapping[int, DatafairError]]
"""A caller's own check of entries (by index) in a chunk's read snapshot, before any other:
the errors of the entries it refuses (they are neither checked further nor stored)."""


@dataclass(frozen=True)
class SubmissionInput:
    """One signed answer as a contributor sends it.

    ``task_id``: 32 bytes or hex; ``signature``: 65 bytes ``r || s || v`` or its hex;
    ``answer_hash``: the 32-byte hash the contributor signed, or its hex (optional; checked
    when given).
    """

    task_id: bytes | str
    item_cid: str
    contributor: str
    answer: Any
    nonce: int
    duration_ms: int
    signature: bytes | str
    answer_hash: bytes | str | None = None


@dataclass(frozen=True)
class SubmitResult:
    """The outcome of one entry of ``submit_many``: a submission id, or the error."""

    index: int
    submission_id: int | None
    error: DatafairError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class _TaskContext:
    """The immutable facts of a task the checks need (copied out of the ORM row): all of them
    follow from the task's spec, whose hash is the task id, so they never change."""

    pk: int
    task_id: bytes
    deadline: int
    schema: LabelSchema
    domain: SubmissionDomain
    task_type: str
    min_reputation_bps: int
    assigned_only: bool


# Task contexts by database engine and task id: parsing a spec costs more than checking an
# answer, and a task's context never changes (see _TaskContext). Only tasks found are kept.
_CONTEXTS: weakref.WeakKeyDictionary[Engine, dict[bytes, _TaskContext]] = (
    weakref.WeakKeyDictionary()
)
_CONTEXTS_PER_ENGINE = 4096


@dataclass
class _Checked:
    """An entry whose answer and signature verified; state checks come next."""

    index: int
    context: _TaskContext
    slot: Slot
    contributor: str
    nonce: int
    duration_ms: int
    answer_json: str
    answer_hash: bytes
    signature: bytes
    session_key: str | None = None
    delegation_id: int | None = None


def submit(session: Session, entry: SubmissionInput, *, clock: Clock = time.time) -> int:
    """Verify and store one submission, committed; its id. Raises the entry's error."""
    (result,) = submit_many(session, [entry], clock=clock)
    if result.error is not None:
        raise result.error
    assert result.submission_id is not None
    return result.submission_id


def submit_many(
    session: Session,
    entries: Iterable[SubmissionInput],
    *,
    clock: Clock = time.time,
    chunk_size: int = CHUNK_SIZE,
    screen: Screen | None = None,
) -> list[SubmitResult]:
    """Verify and store many submissions; one result per entry, in order.

    Each bad entry is rejected on its own (and not stored); the good ones are committed, one
    transaction per chunk of ``chunk_size`` entries, before this returns. ``screen``, when
    given, is called first in each chunk's read snapshot with the chunk's indices (e.g. the
    sign-in checks of a server's callers, :mod:`datafair.services.intake`).
    """
    batch = list(entries)
    results: list[SubmitResult] = []
    for start in range(0, len(batch), chunk_size):
        chunk = batch[start : start + chunk_size]
        results.extend(_submit_chunk(session, chunk, start, clock, screen))
    return results


def _submit_chunk(
    session: Session,
    entries: Sequence[SubmissionInput],
    offset: int,
    clock: Clock,
    screen: Screen | None = None,
) -> list[SubmitResult]:
    errors: dict[int, DatafairError] = {}
    session.rollback()  # a pending transaction of the caller ends here (see the module docstring)
    begin_read(session)  # the checks read a snapshot without the write lock
    try:
        if screen is not None:
            errors.update(screen(session, range(offset, offset + len(entries))))
        checked = _check_entries(session, entries, offset, errors, clock)
    finally:
        session.rollback()  # ends the read transaction; the checks copied what they need

    def store() -> tuple[dict[int, int], dict[int, DatafairError]]:
        # a conflict means a concurrent writer stored the same nonce/answer first: nothing of
        # this chunk is kept, and the state is read again
        state_errors: dict[int, DatafairError] = {}
        return _store(session, checked, state_errors, clock), state_errors

    ids, state_errors = retry_transaction(session, store, attempts=_ATTEMPTS)
    errors.update(state_errors)
    return [
        SubmitResult(index, ids.get(index), errors.get(index))
        for index in range(offset, offset + len(entries))
    ]


def _check_entries(
    session: Session,
    entries: Sequence[SubmissionInput],
    offset: int,
    errors: dict[int, DatafairError],
    clock: Clock,
) -> list[_Checked]:
    """Everything that depends only on the request and on immutable stored data."""
    task_ids: dict[int, bytes] = {}
    for position, entry in enumerate(entries):
        if offset + position in errors:  # refused by the caller's screen
            continue
        try:
            task_ids[offset + position] = parse_task_id(entry.task_id)
        except InvalidInput as error:
            errors[offset + position] = error
    tasks = TaskRepository(session)
    contexts = _task_contexts(session, set(task_ids.values()))
    wanted: dict[bytes, set[str]] = defaultdict(set)
    for position, entry in enumerate(entries):
        wanted_id = task_ids.get(offset + position)
        if wanted_id is not None and wanted_id in contexts and isinstance(entry.item_cid, str):
            wanted[wanted_id].add(entry.item_cid)
    slots = {
        task_id: tasks.slots(contexts[task_id].pk, sorted(cids)) for task_id, cids in wanted.items()
    }
    unknown_items = _unknown_items(session, entries, offset, task_ids, slots)
    checked: list[_Checked] = []
    for position, entry in enumerate(entries):
        index = offset + position
        if index in errors:
            continue
        try:
            checked.append(
                _check_entry(index, entry, contexts.get(task_ids[index]), slots, unknown_items)
            )
        except DatafairError as error:
            errors[index] = error
    return _with_delegations(session, checked, errors, clock())


def _task_contexts(session: Session, task_ids: set[bytes]) -> dict[bytes, _TaskContext]:
    """The contexts of the stored tasks among ``task_ids`` (cached per engine)."""
    cache = _CONTEXTS.setdefault(session.get_bind().engine, {})
    found = {task_id: cache[task_id] for task_id in task_ids if task_id in cache}
    missing = sorted(task_ids - found.keys())
    if not missing:
        return found
    if len(cache) + len(missing) > _CONTEXTS_PER_ENGINE:
        cache.clear()
    for task_id, task in TaskRepository(session).by_task_ids(missing).items():
        spec = TaskSpec.from_dict(task.spec)
        context = _TaskContext(
            task.id,
            task.task_id,
            task.deadline,
            spec.schema,
            SubmissionDomain(task.chain_id),
            task.task_type,
            min_reputation_bps(task.spec),
            rules_of(task).assigned_only,
        )
        cache[task_id] = found[task_id] = context
    return found


def _with_delegations(
    session: Session, checked: list[_Checked], errors: dict[int, DatafairError], now: float
) -> list[_Checked]:
    """Entries signed by a session key keep the delegation that covers them; others fail."""
    delegated = [
        (entry.index, entry.contributor, entry.session_key, entry.context.task_id)
        for entry in checked
        if entry.session_key is not None
    ]
    if not delegated:
        return checked
    found, refused = resolve_session_keys(session, delegated, now)
    errors.update(refused)
    kept = []
    for entry in checked:
        if entry.session_key is not None:
            if entry.index in refused:
                continue
            entry.delegation_id = found[entry.index]
        kept.append(entry)
    return kept


def _unknown_items(
    session: Session,
    entries: Sequence[SubmissionInput],
    offset: int,
    task_ids: dict[int, bytes],
    slots: dict[bytes, dict[str, Slot]],
) -> set[str]:
    """Item CIDs of the entries that are well formed but stored nowhere (a rare path)."""
    outside = set()
    for position, entry in enumerate(entries):
        found = slots.get(task_ids.get(position + offset, b""), {})
        cid = entry.item_cid
        if isinstance(cid, str) and cid not in found and is_cid(cid):
            outside.add(cid)
    if not outside:
        return set()
    return outside - ItemRepository(session).existing(sorted(outside))


def _check_entry(
    index: int,
    entry: SubmissionInput,
    context: _TaskContext | None,
    slots: dict[bytes, dict[str, Slot]],
    unknown_items: set[str],
) -> _Checked:
    if context is None:
        raise NotFound(
            f"task_id: no task {_hex(entry.task_id)} (list tasks with `datafair task list`)"
        )
    task = context
    # A CID found among the task's stored items is well formed; only others are parsed.
    slot = slots.get(task.task_id, {}).get(entry.item_cid)
    if slot is None:
        if not isinstance(entry.item_cid, str) or not is_cid(entry.item_cid):
            raise InvalidInput(
                "item_cid",
                f"{entry.item_cid!r} is not a CIDv1 raw sha2-256 id",
                "use 'bafkrei...'",
            )
        if entry.item_cid in unknown_items:
            raise NotFound(f"item_cid: no item {entry.item_cid}")
        raise InvalidInput(
            "item_cid",
            f"item {entry.item_cid} is not part of task 0x{task.task_id.hex()}",
            "answer items of this task only",
        )
    contributor = checksum_address(entry.contributor)
    for name in ("nonce", "duration_ms"):
        value = getattr(entry, name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidInput(name, f"must be an integer, got {value!r}")
    canonical = context.schema.validate(entry.answer, slot.context)
    answer_json = canonical_json(canonical)  # validated answers are always plain JSON
    answer_hash = _answer_hash(answer_json)
    claimed = _hash_bytes(entry.answer_hash)
    if claimed is not None and claimed != answer_hash:
        raise InvalidInput(
            "answer_hash",
            f"0x{claimed.hex()} is not the hash of the canonical answer 0x{answer_hash.hex()}",
            "sign keccak256 of the canonical JSON of the canonical answer",
        )
    signature = _signature_bytes(entry.signature)
    message = SubmissionMessage(
        task_id=task.task_id,
        item_cid=entry.item_cid,
        answer_hash=answer_hash,
        contributor=contributor,
        nonce=entry.nonce,
        duration_ms=entry.duration_ms,
    )
    message.check()
    signer = recover_signer(signing_digest(context.domain, message), signature)
    session_key = None
    if signer != contributor_bytes(contributor):
        session_key = checksum_address("0x" + signer.hex())
    return _Checked(
        index=index,
        context=context,
        slot=slot,
        contributor=contributor,
        nonce=entry.nonce,
        duration_ms=entry.duration_ms,
        answer_json=answer_json.decode("utf-8"),
        answer_hash=answer_hash,
        signature=signature,
        session_key=session_key,
    )


def _store(
    session: Session, checked: list[_Checked], errors: dict[int, DatafairError], clock: Clock
) -> dict[int, int]:
    """Check stored state under locks and write the accepted entries; ids by entry index."""
    if not checked:
        return {}
    tasks = TaskRepository(session)
    submissions = SubmissionRepository(session)
    by_task: dict[int, list[_Checked]] = defaultdict(list)
    for entry in checked:
        by_task[entry.context.pk].append(entry)
    locked: dict[int, dict[str, Slot]] = {}
    if len(by_task) == 1:  # the usual batch: its task and items locked in one statement
        ((task_pk, group),) = by_task.items()
        status, locked[task_pk] = tasks.lock_status_and_slots(
            task_pk, [entry.slot.item_cid for entry in group]
        )
        statuses = {task_pk: status} if status is not None else {}
    else:
        statuses = tasks.lock_status(sorted(by_task))
    accepted_at = now_ms(clock)
    unix_now = clock()
    rows: list[dict[str, Any]] = []
    row_indices: list[int] = []
    changes: dict[int, tuple[int, int]] = {}
    consumed_assignments: list[int] = []
    left = answers_left(session, (e.delegation_id for e in checked if e.delegation_id))
    used_answers: dict[int, int] = defaultdict(int)
    for task_pk in sorted(by_task):
        group = by_task[task_pk]
        task = group[0].context
        if task_pk not in statuses:  # a cached context whose task is gone (a reset database)
            for entry in group:
                errors[entry.index] = NotFound(f"task_id: no task 0x{task.task_id.hex()}")
            continue
        if statuses.get(task_pk) == TASK_CLOSED or deadline_passed(task.deadline, unix_now):
            problem = "closed" if statuses.get(task_pk) == TASK_CLOSED else "past its deadline"
            for entry in group:
                errors[entry.index] = Conflict(
                    f"task 0x{task.task_id.hex()}: {problem}, it takes no more answers"
                )
            continue
        live = locked.get(task_pk) or tasks.slots(
            task_pk, [entry.slot.item_cid for entry in group], lock=True
        )
        state = submissions.answer_state(
            task_pk, [(e.slot.task_item_id, e.contributor, e.nonce) for e in group]
        )
        used, answered, excluded, held = (
            state.used_nonces,
            state.answered,
            state.excluded,
            state.held,
        )
        blocked = blocked_on(
            session,
            task_pk,
            task.task_type,
            task.min_reputation_bps,
            [e.contributor for e in group],
            paused_on_task=state.paused,
        )
        gold_cids = [e.slot.item_cid for e in group if live[e.slot.item_cid].is_gold]
        retired = tasks.retired_gold(task_pk, gold_cids) if gold_cids else {}
        for entry in group:
            slot = live[entry.slot.item_cid]
            if slot.item_cid in retired:
                errors[entry.index] = Conflict(
                    f"item_cid: item {slot.item_cid} is a gold item whose answer epoch "
                    f"{retired[slot.item_cid]}'s settlement published; it takes no more answers"
                )
                continue
            if slot.sealed_epoch is not None:
                errors[entry.index] = Conflict(
                    f"item_cid: item {slot.item_cid} is sealed: epoch {slot.sealed_epoch}'s "
                    "settlement published its answers, so it takes no more (take another item "
                    "with `task next`)"
                )
                continue
            delegation = entry.delegation_id
            if delegation is not None and left.get(delegation, 0) <= used_answers[delegation]:
                errors[entry.index] = Conflict(
                    f"signature: the session key's delegation {delegation} has no answers left "
                    "or was revoked (ask the wallet for a new delegation)"
                )
                continue
            if entry.contributor in blocked:
                errors[entry.index] = Conflict(
                    f"contributor: {entry.contributor} may not contribute to this task: "
                    f"{blocked[entry.contributor]}"
                )
                continue
            nonce_key = (entry.contributor, entry.nonce)
            answer_key = (slot.task_item_id, entry.contributor)
            if nonce_key in used:
                errors[entry.index] = Conflict(
                    f"nonce: {entry.nonce} was already used by {entry.contributor} in this task "
                    "(a replay; sign again with a fresh nonce)"
                )
                continue
            if answer_key in answered:
                errors[entry.index] = Conflict(
                    f"item_cid: {entry.contributor} already answered item {slot.item_cid} "
                    "in this task"
                )
                continue
            if answer_key in excluded:
                errors[entry.index] = Conflict(
                    f"item_cid: {entry.contributor} was shown others' answers to item "
                    f"{slot.item_cid} for review, so may no longer answer it (take another item "
                    "with `task next`)"
                )
                continue
            added, consumed = changes.get(slot.task_item_id, (0, 0))
            assignment_id = held.get(answer_key)
            if assignment_id is not None:
                consumed_assignments.append(assignment_id)
                changes[slot.task_item_id] = (added + 1, consumed + 1)
            elif task.assigned_only:
                errors[entry.index] = Conflict(
                    f"item_cid: {entry.contributor} does not hold item {slot.item_cid}; this "
                    "task takes answers only on items assigned to the contributor (take one "
                    "with `datafair task next` or POST /tasks/{task_id}/next)"
                )
                continue
            elif slot.capacity is not None and (
                slot.answers + added + slot.reserved - consumed >= slot.capacity
            ):
                errors[entry.index] = Conflict(
                    f"item_cid: item {slot.item_cid} already has its {slot.capacity} answers"
                )
                continue
            else:
                changes[slot.task_item_id] = (added + 1, consumed)
            if delegation is not None:
                used_answers[delegation] += 1
            used.add(nonce_key)
            answered.add(answer_key)
            row_indices.append(entry.index)
            rows.append(
                {
                    "task_pk": task_pk,
                    "task_item_id": slot.task_item_id,
                    "item_cid": slot.item_cid,
                    "contributor": entry.contributor,
                    "answer": entry.answer_json,
                    "answer_hash": entry.answer_hash,
                    "nonce": entry.nonce,
                    "duration_ms": entry.duration_ms,
                    "signature": entry.signature,
                    "accepted_at": accepted_at,
                }
            )
    tasks.add_answers(changes)
    use_answers(session, used_answers)
    AssignmentRepository(session).mark_submitted(consumed_assignments)
    ids = submissions.insert_many(rows)
    by_index = dict(zip(row_indices, ids, strict=True))
    link_submissions(
        session,
        [
            (by_index[entry.index], entry.delegation_id)
            for entry in checked
            if entry.delegation_id is not None and entry.index in by_index
        ],
    )
    return by_index


@lru_cache(maxsize=65_536)
def _answer_hash(answer_json: bytes) -> bytes:
    """keccak256 of a canonical answer (answers repeat a lot: classes, a/b choices)."""
    return keccak256(answer_json)


def _hash_bytes(value: bytes | str | None) -> bytes | None:
    if value is None or isinstance(value, bytes | bytearray):
        return None if value is None else bytes(value)
    if isinstance(value, str):
        text = value[2:] if value[:2] in ("0x", "0X") else value
        try:
            return bytes.fromhex(text)
        except ValueError:
            pass
    raise InvalidInput("answer_hash", "must be 32 bytes or their 0x-hex")


def _signature_bytes(value: bytes | str) -> bytes:
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, str):
        text = value[2:] if value[:2] in ("0x", "0X") else value
        try:
            return bytes.fromhex(text)
        except ValueError:
            pass
    raise InvalidInput("signature", "must be 65 bytes or their 0x-hex", "send r || s || v")


def _hex(task_id: bytes | str) -> str:
    return "0x" + task_id.hex() if isinstance(task_id, bytes) else str(task_id)


@dataclass(frozen=True)
class TaskAnswers:
    """What inference and export read: the task, its items in order, every accepted
    submission as columns, and the gold answers by item CID (never shown to contributors).
    """

    task: TaskInfo
    item_cids: list[str]
    submissions: SubmissionColumns
    gold: dict[str, Any]


def list_submissions(session: Session, task_id: bytes | str) -> SubmissionColumns:
    """Every accepted submission of the task as columns, in acceptance order."""
    task = load_task(session, task_id)
    return SubmissionRepository(session).columns(task.id)


def task_answers(session: Session, task_id: bytes | str) -> TaskAnswers:
    """The task, its items, its submissions (columns) and its gold answers, in one call."""
    task = load_task(session, task_id)
    tasks = TaskRepository(session)
    return TaskAnswers(
        task=get_task(session, task.task_id),
        item_cids=tasks.item_cids(task.id),
        submissions=SubmissionRepository(session).columns(task.id),
        gold=tasks.gold_answers(task.id),
    )
