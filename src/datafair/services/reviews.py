"""Reviews: hand a reviewer a submission to judge, verify their signed verdict, store it.

Inputs: an open ``Session`` (write calls commit, or roll back and raise leaving nothing
stored); a task id (bytes or hex); the reviewer's address; a clock (Unix seconds).

A review accepts or rejects the label a submission gave, or rates it 1-5, and is signed with
the reviewer's wallet as the EIP-712 ``Review`` of :mod:`datafair.crypto.eip712` (it names the
submission by keccak-256 of its signature). Each submission takes up to
``extra["reviews_per_submission"]`` reviews (default 3, as the Pundi AI data platform uses three
reviewers a row).

Rules of :func:`next_review`: never the reviewer's own submission, never one of an item they
answered themselves (their verdict would not be independent of their own label, which the
evidence model assumes), never one of an item they hold an assignment for, never one of a
sealed item (a settlement published its answers), never one they already reviewed, never one
with its full count of reviews; the oldest such submission comes first, so reviews fill
submissions in order and a partial run leaves completely reviewed submissions. No peeking: a
reviewer handed a submission has seen an answer to its item, so the hand-out (and any
accepted review) records a ``review_exclusions`` row, committed before the answer is returned;
assignment never offers that item to them again and the submission service refuses their
answer to it (``docs/reviews.md``).

:func:`submit_review` / :func:`submit_reviews` accept a review only if, in this order: the task
exists (``NotFound``) and is not closed (``Conflict``); reviewer address, verdict, rating and
signature bytes are well formed (``InvalidInput``); the submission exists in this task
(``NotFound``); the signature is the reviewer's over this task, submission, verdict and rating
under the task's chain (``SignatureError``); the reviewer is not its contributor and did not
answer its item (``Conflict``); its item is not sealed (a settlement published its answers,
``Conflict``); they have not reviewed it yet (a replay, ``Conflict``); it has fewer reviews
than the task allows (``Conflict``). A task past its deadline still takes
reviews (they usually follow the labelling); a closed one does not. The batch path checks
fields and signatures first, then takes the locks (PostgreSQL: the task's status, then the
reviewed submissions in id order), re-checks the stored state and writes the accepted reviews
with one multi-row insert into ``reviews``, one transaction per chunk; each entry gets its own
result.

:func:`infer_with_reviews` fits the quality engine on the submissions plus the reviews'
pseudo-answers (:mod:`datafair.quality.reviews`); :func:`review_pay_columns` gives settlement
the ``ReviewColumns`` of a task's reviews against an inference result.
"""

from __future__ import annotations

import contextlib
import functools
import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from datafair.core.errors import Conflict, DatafairError, InvalidInput, NotFound
from datafair.core.ids import checksum_address, parse_task_id
from datafair.core.schemas import CATEGORICAL_TASK_TYPES
from datafair.core.task import TaskSpec
from datafair.crypto.eip712 import (
    VERDICT_ACCEPT,
    VERDICT_NONE,
    VERDICT_REJECT,
    ReviewMessage,
    SubmissionDomain,
    sign_review,
    submission_hash,
    verify_review,
)
from datafair.economics import ReviewColumns
from datafair.quality import get_aggregator
from datafair.quality.reviews import (
    informedness_weights,
    is_pseudo_worker,
    review_evidence,
    reviewer_informedness,
    says_right,
)
from datafair.services.inference import InferenceResult, ItemLabel, infer_answers
from datafair.services.submissions import task_answers
from datafair.services.tasks import Clock, load_task, now_ms
from datafair.sim.population import address_of
from datafair.store.db import retry_transaction
from datafair.store.models import TASK_CLOSED, Task
from datafair.store.repositories import (
    ItemRepository,
    ReviewRepository,
    SubmissionRepository,
    TaskRepository,
)

DEFAULT_REVIEWS_PER_SUBMISSION = 3
MAX_REVIEWS_PER_SUBMISSION = 20
CHUNK_SIZE = 1000
_ATTEMPTS = 4
_VERDICT_CODES = {None: VERDICT_NONE, "accept": VERDICT_ACCEPT, "reject": VERDICT_REJECT}


def reviews_per_submission(spec: TaskSpec) -> int:
    """How many reviews each submission of the task takes (``extra.reviews_per_submission``)."""
    value = spec.extra.get("reviews_per_submission", DEFAULT_REVIEWS_PER_SUBMISSION)
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not 1 <= value <= MAX_REVIEWS_PER_SUBMISSION
    ):
        raise InvalidInput(
            "extra.reviews_per_submission",
            f"must be an integer 1..{MAX_REVIEWS_PER_SUBMISSION}, got {value!r}",
        )
    return value


@dataclass(frozen=True)
class ReviewTarget:
    """A submission handed to a reviewer: what was labelled, the label, and what to sign.

    ``submission_hash`` is the value the reviewer's ``Review`` signature names; ``reviews`` the
    number of reviews it had when handed out.
    """

    submission_id: int
    task_id: bytes
    item_cid: str
    text: str | None
    answer: Any
    contributor: str
    submission_hash: bytes
    reviews: int


@dataclass(frozen=True)
class ReviewInput:
    """One signed review as a reviewer sends it.

    ``verdict`` is ``"accept"``, ``"reject"`` or ``None``; ``rating`` 1..5 or ``None`` (at
    least one of them); ``signature`` 65 bytes or their hex.
    """

    task_id: bytes | str
    submission_id: int
    reviewer: str
    verdict: str | None
    rating: int | None
    signature: bytes | str


@dataclass(frozen=True)
class ReviewResult:
    """The outcome of one entry of :func:`submit_reviews`: a review id, or the error."""

    index: int
    review_id: int | None
    error: DatafairError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _open_task(session: Session, task_id: bytes | str) -> Task:
    task = load_task(session, task_id)
    if task.status == TASK_CLOSED:
        raise Conflict(f"task 0x{task.task_id.hex()}: closed, it takes no more reviews")
    return task


def next_review(
    session: Session,
    task_id: bytes | str,
    reviewer: str,
    *,
    per_submission: int | None = None,
    clock: Clock = time.time,
) -> ReviewTarget | None:
    """A submission of the task for ``reviewer`` to review, or ``None`` when none is left.

    ``per_submission`` overrides the task's number of reviews per submission. Raises
    ``NotFound`` (unknown task), ``InvalidInput`` (malformed id or address), ``Conflict``
    (closed task). Handing out a submission shows its answer, so before it is returned the
    reviewer's exclusion from answering its item is committed (``review_exclusions``): the
    submission service refuses their later answer to that item. No slot is held.
    """
    try:
        address = checksum_address(reviewer, "reviewer")
        task = _open_task(session, task_id)
        limit = per_submission or reviews_per_submission(TaskSpec.from_dict(task.spec))
        store = ReviewRepository(session)
        found = store.next_for(task.id, address, limit)
        target = None
        if found is not None:
            target, task_item_id = _target(session, task, *found)
            store.exclude([(task.id, task_item_id, address)], now_ms=now_ms(clock))
            session.commit()
    finally:
        session.rollback()
    return target


def _target(
    session: Session, task: Task, submission_id: int, reviews: int
) -> tuple[ReviewTarget, int]:
    """The ``ReviewTarget`` of a submission, and its task item id."""
    submission = SubmissionRepository(session).get(submission_id)
    assert submission is not None
    item = ItemRepository(session).get(submission.item_cid)
    return ReviewTarget(
        submission_id=submission.id,
        task_id=task.task_id,
        item_cid=submission.item_cid,
        text=None if item is None else item.text,
        answer=json.loads(submission.answer),
        contributor=submission.contributor,
        submission_hash=submission_hash(submission.signature),
        reviews=reviews,
    ), submission.task_item_id


def _check_verdict(verdict: str | None, rating: int | None) -> None:
    if verdict not in _VERDICT_CODES:
        raise InvalidInput("verdict", f"unknown verdict {verdict!r}", "use accept or reject")
    if rating is not None and (
        isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5
    ):
        raise InvalidInput("rating", f"must be an integer 1..5, got {rating!r}")
    if verdict is None and rating is None:
        raise InvalidInput("verdict", "a review needs a verdict or a rating", "give one")


def review_message(
    task_id: bytes,
    signature_of_submission: bytes,
    reviewer: str,
    verdict: str | None,
    rating: int | None,
) -> ReviewMessage:
    """The EIP-712 ``Review`` for a verdict (``accept``/``reject``/None) and rating (or None)."""
    _check_verdict(verdict, rating)
    return ReviewMessage(
        task_id=task_id,
        submission_hash=submission_hash(signature_of_submission),
        reviewer=reviewer,
        verdict=_VERDICT_CODES[verdict],
        rating=rating or 0,
    )


def signed_review(
    session: Session,
    task_id: bytes | str,
    submission_id: int,
    private_key: bytes,
    *,
    verdict: str | None = None,
    rating: int | None = None,
) -> ReviewInput:
    """A ``ReviewInput`` of the submission, signed with ``private_key`` (reviewer side)."""
    try:
        task = load_task(session, task_id)
        submission = SubmissionRepository(session).get(submission_id)
        if submission is None or submission.task_pk != task.id:
            raise NotFound(f"submission {submission_id}: not a submission of this task")
        reviewer = address_of(private_key)
        message = review_message(task.task_id, submission.signature, reviewer, verdict, rating)
        signature = sign_review(private_key, SubmissionDomain(task.chain_id), message)
        task_bytes = task.task_id
    finally:
        session.rollback()
    return ReviewInput(task_bytes, submission_id, reviewer, verdict, rating, signature)


def sign_and_submit_reviews(
    session: Session,
    task_id: bytes | str,
    reviews: Iterable[tuple[int, bytes, str | None, int | None]],
    *,
    clock: Clock = time.time,
) -> list[ReviewResult]:
    """Sign each ``(submission id, reviewer's private key, verdict, rating)`` with that key and
    store them through :func:`submit_reviews` (simulated crowds, tests, bulk tools).

    An entry naming no submission of the task is refused by :func:`submit_reviews` like any
    other bad entry; a malformed verdict or rating likewise.
    """
    wanted = list(reviews)
    try:
        task = load_task(session, task_id)
        task_bytes, domain = task.task_id, SubmissionDomain(task.chain_id)
        wanted_ids = [entry[0] for entry in wanted if type(entry[0]) is int]
        signatures = ReviewRepository(session).signatures_of(task.id, wanted_ids)
    finally:
        session.rollback()
    entries: list[ReviewInput] = []
    for submission_id, key, verdict, rating in wanted:
        reviewer = address_of(key)
        signature = bytes(65)
        if submission_id in signatures:
            with contextlib.suppress(InvalidInput):
                message = review_message(
                    task_bytes, signatures[submission_id], reviewer, verdict, rating
                )
                signature = sign_review(key, domain, message)
        entries.append(ReviewInput(task_bytes, submission_id, reviewer, verdict, rating, signature))
    return submit_reviews(session, entries, clock=clock)


def _signature_bytes(value: bytes | str) -> bytes:
    if isinstance(value, str):
        text = value[2:] if value[:2] in ("0x", "0X") else value
        try:
            value = bytes.fromhex(text)
        except ValueError:
            raise InvalidInput("signature", "is not hex", "send 65 bytes as 0x...") from None
    if not isinstance(value, bytes) or len(value) != 65:
        raise InvalidInput("signature", "must be 65 bytes (r, s, v)")
    return value


@dataclass(frozen=True)
class _Checked:
    """A review whose fields and signature verified; state checks come next."""

    index: int
    task: _TaskFacts
    submission: _Reviewed
    reviewer: str
    verdict: str | None
    rating: int | None
    signature: bytes


@dataclass(frozen=True)
class _TaskFacts:
    pk: int
    task_id: bytes
    chain_id: int
    status: str
    limit: int


@dataclass(frozen=True)
class _Reviewed:
    id: int
    task_pk: int
    task_item_id: int
    item_cid: str
    contributor: str
    signature: bytes


def _task_facts(session: Session, task_ids: Iterable[bytes]) -> dict[bytes, _TaskFacts | Exception]:
    found: dict[bytes, _TaskFacts | Exception] = {}
    for task in TaskRepository(session).by_task_ids(sorted(set(task_ids))).values():
        try:
            limit = reviews_per_submission(TaskSpec.from_dict(task.spec))
        except InvalidInput as error:
            found[task.task_id] = error
            continue
        found[task.task_id] = _TaskFacts(task.id, task.task_id, task.chain_id, task.status, limit)
    return found


def _reviewed(session: Session, ids: Iterable[int]) -> dict[int, _Reviewed]:
    rows = ReviewRepository(session).reviewed_submissions(list(ids))
    return {row[0]: _Reviewed(*row) for row in rows}


def _check_review(
    index: int,
    entry: ReviewInput,
    tasks: dict[bytes, _TaskFacts | Exception],
    submissions: dict[int, _Reviewed],
) -> _Checked:
    """Everything that depends only on the request and on immutable stored data."""
    task_id = parse_task_id(entry.task_id)
    task = tasks.get(task_id)
    if task is None:
        raise NotFound(f"task_id: no task 0x{task_id.hex()} (list tasks with `datafair task list`)")
    if isinstance(task, Exception):
        raise task
    if task.status == TASK_CLOSED:
        raise Conflict(f"task 0x{task_id.hex()}: closed, it takes no more reviews")
    reviewer = checksum_address(entry.reviewer, "reviewer")
    _check_verdict(entry.verdict, entry.rating)
    signature = _signature_bytes(entry.signature)
    if isinstance(entry.submission_id, bool) or not isinstance(entry.submission_id, int):
        raise InvalidInput("submission_id", f"must be an integer, got {entry.submission_id!r}")
    submission = submissions.get(entry.submission_id)
    if submission is None or submission.task_pk != task.pk:
        raise NotFound(
            f"submission_id: no submission {entry.submission_id} in task 0x{task_id.hex()}"
        )
    message = review_message(task_id, submission.signature, reviewer, entry.verdict, entry.rating)
    verify_review(SubmissionDomain(task.chain_id), message, signature)
    if submission.contributor == reviewer:
        raise Conflict(f"review: {reviewer} cannot review their own submission")
    return _Checked(index, task, submission, reviewer, entry.verdict, entry.rating, signature)


def _check_reviews(
    session: Session, entries: Sequence[ReviewInput], errors: dict[int, DatafairError]
) -> list[_Checked]:
    task_ids: list[bytes] = []
    for entry in entries:
        with contextlib.suppress(InvalidInput):
            task_ids.append(parse_task_id(entry.task_id))
    tasks = _task_facts(session, task_ids)
    wanted = [e.submission_id for e in entries if type(e.submission_id) is int]
    submissions = _reviewed(session, wanted)
    checked: list[_Checked] = []
    for index, entry in enumerate(entries):
        try:
            checked.append(_check_review(index, entry, tasks, submissions))
        except DatafairError as error:
            errors[index] = error
    return checked


def _store_reviews(
    session: Session, checked: list[_Checked], errors: dict[int, DatafairError], clock: Clock
) -> dict[int, int]:
    """Check stored state under locks and write the accepted reviews; ids by entry index."""
    if not checked:
        return {}
    statuses = TaskRepository(session).lock_status(sorted({c.task.pk for c in checked}))
    existing = ReviewRepository(session).reviewers_of([c.submission.id for c in checked])
    answered = SubmissionRepository(session).answered(
        [(c.submission.task_item_id, c.reviewer) for c in checked]
    )
    sealed = ReviewRepository(session).sealed([c.submission.task_item_id for c in checked])
    created = now_ms(clock)
    accepted: list[_Checked] = []
    for entry in checked:
        task, submission, reviewer = entry.task, entry.submission, entry.reviewer
        reviewers = existing[submission.id]
        if statuses.get(task.pk) == TASK_CLOSED:
            errors[entry.index] = Conflict(
                f"task 0x{task.task_id.hex()}: closed, it takes no more reviews"
            )
        elif submission.task_item_id in sealed:
            errors[entry.index] = Conflict(
                f"review: item {submission.item_cid} is sealed: epoch "
                f"{sealed[submission.task_item_id]}'s settlement published its answers, so it "
                "takes no more reviews"
            )
        elif (submission.task_item_id, reviewer) in answered:
            errors[entry.index] = Conflict(
                f"review: {reviewer} answered item {submission.item_cid} too; reviews must be "
                "independent of one's own answer"
            )
        elif reviewer in reviewers:
            errors[entry.index] = Conflict(
                f"review: {reviewer} already reviewed submission {submission.id} (a replay)"
            )
        elif len(reviewers) >= task.limit:
            errors[entry.index] = Conflict(
                f"review: submission {submission.id} already has its {task.limit} reviews"
            )
        else:
            reviewers.add(reviewer)
            accepted.append(entry)
    if not accepted:
        return {}
    rows = [
        {
            "submission_id": entry.submission.id,
            "reviewer": entry.reviewer,
            "verdict": entry.verdict,
            "rating": entry.rating,
            "signature": entry.signature,
            "created_at": created,
        }
        for entry in accepted
    ]
    store = ReviewRepository(session)
    store.exclude(
        [(e.task.pk, e.submission.task_item_id, e.reviewer) for e in accepted], now_ms=created
    )
    stored = store.insert_many(rows)
    return {entry.index: stored[(entry.submission.id, entry.reviewer)] for entry in accepted}


def _review_chunk(
    session: Session, part: Sequence[ReviewInput], clock: Clock
) -> tuple[dict[int, int], dict[int, DatafairError]]:
    errors: dict[int, DatafairError] = {}
    checked = _check_reviews(session, part, errors)
    return _store_reviews(session, checked, errors, clock), errors


def submit_reviews(
    session: Session, entries: Iterable[ReviewInput], *, clock: Clock = time.time
) -> list[ReviewResult]:
    """Verify and store many signed reviews; one result per entry, in order.

    Each bad entry is refused on its own (and not stored); the good ones are committed, one
    transaction per chunk of :data:`CHUNK_SIZE` entries, before this returns.
    """
    batch = list(entries)
    results: list[ReviewResult] = []
    for start in range(0, len(batch), CHUNK_SIZE):
        part = batch[start : start + CHUNK_SIZE]
        # a conflict means a concurrent writer stored the same review first: nothing of this
        # chunk is kept, and the checks run again
        ids, errors = retry_transaction(
            session, functools.partial(_review_chunk, session, part, clock), attempts=_ATTEMPTS
        )
        results.extend(ReviewResult(start + i, ids.get(i), errors.get(i)) for i in range(len(part)))
    return results


def submit_review(session: Session, entry: ReviewInput, *, clock: Clock = time.time) -> int:
    """Verify and store one signed review, committed; its id. Raises the entry's error."""
    (result,) = submit_reviews(session, [entry], clock=clock)
    if result.error is not None:
        raise result.error
    assert result.review_id is not None
    return result.review_id


# --------------------------------------------------------------------------- quality and pay


@dataclass(frozen=True)
class TaskReviews:
    """A task's reviews as columns: the reviewed submission id, its item and label, the
    reviewer, and the verdict (:func:`datafair.quality.reviews.says_right`)."""

    submission_ids: list[int]
    item_cids: list[str]
    labels: list[Any]
    reviewers: list[str]
    verdicts: list[bool | None]

    def __len__(self) -> int:
        return len(self.submission_ids)


def task_reviews(session: Session, task_id: bytes | str) -> TaskReviews:
    """Every review of the task's submissions, in review order."""
    task = load_task(session, task_id)
    rows = ReviewRepository(session).task_rows(task.id)
    return TaskReviews(
        submission_ids=[row[0] for row in rows],
        item_cids=[row[1] for row in rows],
        labels=[json.loads(row[2]) for row in rows],
        reviewers=[row[3] for row in rows],
        verdicts=[says_right(row[4], row[5]) for row in rows],
    )


def infer_with_reviews(
    session: Session, task_id: bytes | str, *, method: str = "auto"
) -> InferenceResult:
    """Infer labels, skills and spam flags from the submissions *and* the reviews.

    Reviews enter as pseudo-answers (:func:`datafair.quality.reviews.review_evidence`); the
    result lists only real contributors' skills and flags. Without reviews it equals
    :func:`datafair.services.inference.infer_task`.
    """
    answers = task_answers(session, parse_task_id(task_id))
    reviews = task_reviews(session, task_id)
    session.rollback()
    plain = infer_answers(answers, method=method)
    if not len(reviews) or answers.task.spec.task_type not in CATEGORICAL_TASK_TYPES:
        return plain
    classes = list(answers.task.spec.schema.choices)
    evidence = review_evidence(
        reviews.item_cids, reviews.labels, reviews.reviewers, reviews.verdicts, classes
    )
    if not len(evidence):
        return plain
    columns = answers.submissions
    model = get_aggregator(method).fit(
        list(columns.item_cids) + evidence.items,
        list(columns.contributors) + evidence.workers,
        columns.decoded_answers() + evidence.labels,
        gold=answers.gold,
        classes=classes,
    )
    confidence = model.probas_.max(axis=1)
    by_item = {
        str(cid): (str(label), float(conf))
        for cid, label, conf in zip(model.items_, model.labels_, confidence, strict=True)
    }
    items = [
        ItemLabel(
            item_cid=item.item_cid,
            label=by_item[item.item_cid][0],
            confidence=by_item[item.item_cid][1],
            n_answers=item.n_answers,
            contributors=item.contributors,
            signature_hashes=item.signature_hashes,
            is_gold=item.is_gold,
        )
        for item in plain.items
    ]
    skills = [skill for skill in model.skills_ if not is_pseudo_worker(skill.worker)]
    spammers = frozenset(
        str(worker)
        for worker, flagged in zip(model.workers_, model.is_spammer_, strict=True)
        if flagged and not is_pseudo_worker(worker)
    )
    return InferenceResult(plain.task, method, items, skills, spammers, answers)


def review_pay_columns(
    reviews: TaskReviews,
    result: InferenceResult,
    *,
    item_index: dict[str, int],
    account_index: dict[str, int],
) -> ReviewColumns:
    """``ReviewColumns`` for :func:`datafair.economics.quality_weighted_rewards`.

    A review that takes a side weighs its reviewer's informedness, ``max(0, TPR − FPR)`` of
    their verdicts against the inferred labels (:func:`datafair.quality.reviews.
    reviewer_informedness`), so accept-all and reject-all weigh 0. Reviewers flagged as
    spammers in ``result`` are marked. ``item_index`` / ``account_index`` map CIDs and
    addresses to the integer indices the reward columns use.
    """
    label_of = result.label_of()
    right = [
        label_of.get(cid) == label
        for cid, label in zip(reviews.item_cids, reviews.labels, strict=True)
    ]
    informedness = reviewer_informedness(reviews.reviewers, reviews.verdicts, right)
    agreement = informedness_weights(reviews.reviewers, reviews.verdicts, informedness)
    try:
        items = np.array([item_index[cid] for cid in reviews.item_cids], dtype=np.int64)
        reviewers = np.array([account_index[r] for r in reviews.reviewers], dtype=np.int64)
    except KeyError as missing:
        raise InvalidInput(
            "reviews", f"{missing} has no index", "index every item and account"
        ) from None
    spam = np.array([r in result.spammers for r in reviews.reviewers], dtype=bool)
    return ReviewColumns(item=items, reviewer=reviewers, agreement=agreement, is_spam=spam)
