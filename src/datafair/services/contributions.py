"""A remote contributor's side of labelling and reviewing: what to sign, and idempotent intake.

Inputs: an open ``Session`` (write calls commit), a task id (bytes or hex), the contributor's
or reviewer's address, a clock (Unix seconds).

The server never holds a contributor's key, so it hands out exactly what their wallet signs:

* :func:`signing_request` gives, for an answer to an item, the canonical answer (the one the
  server stores and hashes, :mod:`datafair.core.schemas`), its ``answerHash`` and the full
  ``eth_signTypedData_v4`` JSON of the EIP-712 ``Submission`` (:mod:`datafair.crypto.eip712`);
* :func:`take_item` holds the next item (:func:`datafair.services.assignment.next_item`) and,
  for a task with a fixed set of answers (classification, preference), the typed data of each
  possible answer, so a wallet can sign without a second round trip; ``durationMs`` is 0 in
  them: the client sets it to the time spent (it is part of what is signed);
* :func:`review_to_sign` does the same for the next submission to review.

Intake is idempotent by signature: :func:`submit_signed` / :func:`submit_signed_reviews`
store through :mod:`datafair.services.submissions` / :mod:`datafair.services.reviews`, and an
entry refused as a replay whose signature equals the stored one is reported as the earlier
result (``duplicate``), so a client retrying after a timeout never counts twice and learns the
id of its first submission.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from datafair.core.canonical import canonical_json, keccak256
from datafair.core.errors import Conflict, DatafairError, InvalidInput, NotFound
from datafair.core.schemas import TaskType
from datafair.crypto.cid import is_cid
from datafair.crypto.eip712 import (
    SubmissionDomain,
    SubmissionMessage,
    review_typed_data,
    typed_data,
)
from datafair.services.assignment import AssignedItem, next_item
from datafair.services.reviews import (
    ReviewInput,
    ReviewTarget,
    next_review,
    review_message,
    submit_reviews,
)
from datafair.services.submissions import Screen, SubmissionInput, submit_many
from datafair.services.tasks import Clock, TaskInfo, checksum_address, get_task, parse_task_id
from datafair.store.blobs import BlobStore
from datafair.store.models import Review, Submission, Task
from datafair.store.repositories import ItemRepository, item_context

MAX_BATCH = 1000
_NONCE_BITS = 52  # below 2**53: JavaScript wallets read the typed data JSON exactly


@dataclass(frozen=True)
class SigningRequest:
    """What a wallet signs for one answer: the canonical answer, its hash, the typed data."""

    answer: Any
    answer_hash: bytes
    typed_data: dict[str, Any]


@dataclass(frozen=True)
class ItemToLabel:
    """A held item, the nonce to sign with, and the typed data of each possible answer (empty
    for free-form tasks: ask :func:`signing_request` for the answer given)."""

    task: TaskInfo
    item: AssignedItem
    nonce: int
    choices: list[SigningRequest]


@dataclass(frozen=True)
class ReviewToSign:
    """A submission to review and the typed data of an ``accept`` verdict (change ``verdict``
    to 2 for reject, or set ``rating`` 1-5)."""

    target: ReviewTarget
    typed_data: dict[str, Any]


@dataclass(frozen=True)
class Intake:
    """The outcome of one entry: its stored id (also when it repeats an earlier identical
    request: ``duplicate``), or the error that refused it."""

    index: int
    stored_id: int | None
    duplicate: bool = False
    error: DatafairError | None = None


def fresh_nonce() -> int:
    """A random 52-bit nonce (a clash with an earlier one is negligible)."""
    return secrets.randbits(_NONCE_BITS)


def signing_request(
    session: Session,
    task_id: bytes | str,
    item_cid: str,
    answer: Any,
    contributor: str,
    *,
    nonce: int,
    duration_ms: int = 0,
) -> SigningRequest:
    """The canonical answer and the EIP-712 typed data ``contributor`` signs for it.

    Raises ``NotFound`` (task, item), ``InvalidInput`` (malformed ids, nonce, duration, or an
    answer the task's schema refuses). Reads only.
    """
    try:
        info = get_task(session, task_id)
        if not isinstance(item_cid, str) or not is_cid(item_cid):
            raise InvalidInput("item_cid", f"{item_cid!r} is not a CID", "use 'bafkrei...'")
        item = ItemRepository(session).get(item_cid)
        if item is None:
            raise NotFound(f"item_cid: no item {item_cid}")
        canonical = info.spec.schema.validate(answer, item_context(item))
    finally:
        session.rollback()
    return _request(info, item_cid, canonical, contributor, nonce, duration_ms)


def _request(
    info: TaskInfo, item_cid: str, canonical: Any, contributor: str, nonce: int, duration_ms: int
) -> SigningRequest:
    answer_hash = keccak256(canonical_json(canonical))
    message = SubmissionMessage(
        info.task_id,
        item_cid,
        answer_hash,
        checksum_address(contributor),
        nonce,
        duration_ms,
    )
    message.check()
    domain = SubmissionDomain(chain_id=info.spec.chain_id)
    return SigningRequest(canonical, answer_hash, typed_data(domain, message))


_FIXED_CHOICES = (TaskType.CLASSIFICATION, TaskType.PREFERENCE)


def take_item(
    session: Session,
    task_id: bytes | str,
    contributor: str,
    *,
    blobs: BlobStore | None = None,
    clock: Clock = time.time,
) -> ItemToLabel | None:
    """Hold the next item for ``contributor`` (committed) with the typed data to sign; None
    when nothing is left for them. Errors as :func:`datafair.services.assignment.next_item`."""
    assigned = next_item(session, task_id, contributor, clock=clock, blobs=blobs)
    if assigned is None:
        return None
    info = get_task(session, assigned.task_id)
    session.rollback()
    nonce = fresh_nonce()
    schema = info.spec.schema
    choices: list[SigningRequest] = []
    if schema.task_type in _FIXED_CHOICES:
        for choice in schema.choices:
            canonical = schema.validate(choice, assigned.context)
            choices.append(_request(info, assigned.item_cid, canonical, contributor, nonce, 0))
    return ItemToLabel(info, assigned, nonce, choices)


def check_batch_size(size: int, field: str = "submissions") -> None:
    """``InvalidInput`` on ``field`` when a batch holds more than :data:`MAX_BATCH` entries."""
    if size > MAX_BATCH:
        raise InvalidInput(
            field,
            f"{size} entries are more than {MAX_BATCH}",
            f"send at most {MAX_BATCH} per request",
        )


def submit_signed(
    session: Session,
    entries: Sequence[SubmissionInput],
    *,
    clock: Clock = time.time,
    screen: Screen | None = None,
) -> list[Intake]:
    """Store signed submissions (at most :data:`MAX_BATCH`), idempotent by signature;
    ``screen`` as in :func:`~datafair.services.submissions.submit_many`."""
    check_batch_size(len(entries), "submissions")
    results = submit_many(session, entries, clock=clock, screen=screen)
    outcome: list[Intake] = []
    for result in results:
        if result.error is None:
            outcome.append(Intake(result.index, result.submission_id))
            continue
        earlier = (
            _earlier_submission(session, entries[result.index])
            if isinstance(result.error, Conflict)
            else None
        )
        if earlier is not None:
            outcome.append(Intake(result.index, earlier, duplicate=True))
        else:
            outcome.append(Intake(result.index, None, error=result.error))
    session.rollback()
    return outcome


def _signature(value: bytes | str) -> bytes | None:
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    text = value[2:] if value[:2] in ("0x", "0X") else value
    try:
        return bytes.fromhex(text)
    except ValueError:
        return None


def _earlier_submission(session: Session, entry: SubmissionInput) -> int | None:
    """The id of the stored submission with this entry's task, contributor, nonce and
    signature, if there is one."""
    try:
        task_id = parse_task_id(entry.task_id)
        contributor = checksum_address(entry.contributor)
    except InvalidInput:
        return None
    signature = _signature(entry.signature)
    row = session.execute(
        select(Submission.id, Submission.signature)
        .join(Task, Task.id == Submission.task_pk)
        .where(
            Task.task_id == task_id,
            Submission.contributor == contributor,
            Submission.nonce == entry.nonce,
        )
    ).first()
    if row is None or bytes(row[1]) != signature:
        return None
    return int(row[0])


def review_to_sign(session: Session, task_id: bytes | str, reviewer: str) -> ReviewToSign | None:
    """The next submission for ``reviewer`` and the typed data of an ``accept`` review."""
    target = next_review(session, task_id, reviewer)
    if target is None:
        return None
    info = get_task(session, target.task_id)
    session.rollback()
    submission_signature = session.scalar(
        select(Submission.signature).where(Submission.id == target.submission_id)
    )
    session.rollback()
    assert submission_signature is not None
    message = review_message(
        info.task_id, bytes(submission_signature), checksum_address(reviewer), "accept", None
    )
    domain = SubmissionDomain(chain_id=info.spec.chain_id)
    return ReviewToSign(target, review_typed_data(domain, message))


def review_signing_request(
    session: Session,
    task_id: bytes | str,
    submission_id: int,
    reviewer: str,
    *,
    verdict: str | None,
    rating: int | None,
) -> dict[str, Any]:
    """The ``eth_signTypedData_v4`` JSON of ``reviewer``'s review of a submission of the task;
    ``NotFound`` unless the submission belongs to the task, ``InvalidInput`` for a bad
    verdict, rating or address. Reads only."""
    try:
        info = get_task(session, task_id)
        row = session.execute(
            select(Submission.signature)
            .join(Task, Task.id == Submission.task_pk)
            .where(Submission.id == submission_id, Task.task_id == info.task_id)
        ).first()
    finally:
        session.rollback()
    if row is None:
        raise NotFound(f"submission_id: {submission_id} is not a submission of this task")
    message = review_message(
        info.task_id, bytes(row[0]), checksum_address(reviewer, "reviewer"), verdict, rating
    )
    return review_typed_data(SubmissionDomain(chain_id=info.spec.chain_id), message)


def submit_signed_reviews(
    session: Session, entries: Sequence[ReviewInput], *, clock: Clock = time.time
) -> list[Intake]:
    """Store signed reviews (at most :data:`MAX_BATCH`), idempotent by signature."""
    check_batch_size(len(entries), "reviews")
    results = submit_reviews(session, entries, clock=clock)
    outcome: list[Intake] = []
    for result in results:
        if result.error is None:
            outcome.append(Intake(result.index, result.review_id))
            continue
        earlier = (
            _earlier_review(session, entries[result.index])
            if isinstance(result.error, Conflict)
            else None
        )
        if earlier is not None:
            outcome.append(Intake(result.index, earlier, duplicate=True))
        else:
            outcome.append(Intake(result.index, None, error=result.error))
    session.rollback()
    return outcome


def _earlier_review(session: Session, entry: ReviewInput) -> int | None:
    try:
        reviewer = checksum_address(entry.reviewer, "reviewer")
    except InvalidInput:
        return None
    row = session.execute(
        select(Review.id, Review.signature).where(
            Review.submission_id == entry.submission_id, Review.reviewer == reviewer
        )
    ).first()
    if row is None or row[1] is None or bytes(row[1]) != _signature(entry.signature):
        return None
    return int(row[0])
