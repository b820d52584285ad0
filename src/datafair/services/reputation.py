"""Reputation use cases: record what each settlement says of contributors, pause spammers, and
check whether a contributor may work on a task.

Inputs: an open ``Session`` (write calls commit, or roll back and raise leaving nothing
changed); a task id (bytes or hex); contributors' addresses; the quality engine's output.

The rule is :mod:`datafair.economics.reputation`: a contributor's reputation on a task type is
the lower end of the 95 % credible interval of their accuracy, ``Beta(1 + s, 1 + n - s)`` over
``n`` answers of which ``s`` are expected to be right, pooled over every task of that type.

* **One task counts once.** Inference on a task always covers *all* of its answers so far, so
  each task's latest evidence *replaces* what the same task contributed before (kept in
  ``task_standings``); the pooled row moves by the difference. Recording the same result twice
  changes nothing; a later settlement of the task with more answers adds only the new ones.
  ``settlements`` counts the updates that changed a contributor's evidence.
* **Evidence.** From an :class:`~datafair.services.inference.InferenceResult`, a skill's
  posterior mean accuracy and answer count convert back to soft counts
  (:func:`~datafair.economics.evidence_from_skill`); from a settlement bundle, ``s`` is the
  number of a contributor's answers equal to the inferred label (hard counts), or for
  structured task types the sum of their answers' scores against it (soft counts,
  :mod:`datafair.quality.answer_scores`).
* **Pauses.** A contributor flagged as a spammer on a task is paused on it; recording never
  lifts a pause (:func:`lift_pause` is the operator's).
* **Eligibility.** A task may require a minimum reputation on its type,
  ``spec.extra["min_reputation_bps"]`` (0..10 000, default 0). :func:`check_eligible` raises a
  one-line ``Conflict`` naming why a contributor may not take items (paused, or below the
  minimum); the assignment service calls it in ``next_item``. The eligibility checks live in
  :mod:`datafair.services.eligibility` (re-exported here), so submissions and assignment need
  not import this module, which depends on inference.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy.orm import Session

from datafair.core.canonical import canonical_json
from datafair.core.errors import InvalidInput
from datafair.core.ids import checksum_address
from datafair.core.schemas import TaskType
from datafair.economics import (
    Evidence,
    Reputation,
    evidence,
    evidence_from_skill,
)
from datafair.quality.answer_scores import SCORERS, score_rows
from datafair.services.eligibility import (
    as_reputation,
    blocked_contributors,
    check_eligible,
    min_reputation_bps,
)
from datafair.services.tasks import Clock, load_task, now_ms
from datafair.store.models import Task
from datafair.store.repositories.reputation import ReputationRepository
from datafair.store.reputation_models import REASON_LEN, ContributorReputation, TaskStanding

if TYPE_CHECKING:
    from datafair.services.inference import InferenceResult

SPAM_REASON = "flagged as a spammer by the quality engine"


def _task_type(value: str | TaskType) -> str:
    try:
        return str(TaskType(value))
    except ValueError:
        known = ", ".join(str(t) for t in TaskType)
        raise InvalidInput("task_type", f"unknown task type {value!r}", f"use {known}") from None


def reputation_of(session: Session, contributor: str, task_type: str | TaskType) -> Reputation:
    """The contributor's pooled record on a task type (an empty record if they have none)."""
    address = checksum_address(contributor)
    return as_reputation(ReputationRepository(session).pooled(address, _task_type(task_type)))


def reputations(session: Session, task_type: str | TaskType) -> dict[str, Reputation]:
    """Every contributor's record on a task type, by address."""
    rows = ReputationRepository(session).pooled_for_type(_task_type(task_type))
    return {row.contributor: as_reputation(row) for row in rows}


def is_paused(session: Session, task_id: bytes | str, contributor: str) -> bool:
    """Whether the contributor is paused on the task."""
    task = load_task(session, task_id)
    standing = ReputationRepository(session).standing(task.id, checksum_address(contributor))
    return bool(standing is not None and standing.paused)


def _record(
    session: Session,
    task: Task,
    new: Mapping[str, Evidence],
    spammers: Iterable[str],
    clock: Clock,
) -> dict[str, Reputation]:
    now = now_ms(clock)
    store = ReputationRepository(session)
    flagged = {checksum_address(address) for address in spammers}
    changed: dict[str, Reputation] = {}
    for address in sorted(set(new) | flagged):
        standing = store.standing(task.id, address, lock=True)
        if standing is None:
            standing = TaskStanding(
                task_pk=task.id,
                contributor=address,
                correct_units=0,
                answers=0,
                paused=False,
                updated_at=now,
            )
            store.add(standing)
        if address in flagged and not standing.paused:
            standing.paused, standing.reason, standing.updated_at = True, SPAM_REASON, now
        found = new.get(address)
        if found is None or (found.correct_units, found.answers) == (
            standing.correct_units,
            standing.answers,
        ):
            continue
        pooled = store.pooled(address, task.task_type, lock=True)
        if pooled is None:
            pooled = ContributorReputation(
                contributor=address,
                task_type=task.task_type,
                correct_units=0,
                answers=0,
                settlements=0,
                updated_at=now,
            )
            store.add(pooled)
        pooled.correct_units += found.correct_units - standing.correct_units
        pooled.answers += found.answers - standing.answers
        pooled.settlements += 1
        pooled.updated_at = now
        standing.correct_units, standing.answers = found.correct_units, found.answers
        standing.updated_at = now
        changed[address] = as_reputation(pooled)
    session.flush()
    return changed


def record_evidence(
    session: Session,
    task_id: bytes | str,
    new: Mapping[str, Evidence],
    *,
    spammers: Iterable[str] = (),
    clock: Clock = time.time,
) -> dict[str, Reputation]:
    """Record the task's latest evidence per contributor and pause ``spammers``; commit.

    Returns the new pooled records of the contributors whose evidence changed.
    """
    try:
        task = load_task(session, task_id)
        checked = {checksum_address(address): value for address, value in new.items()}
        changed = _record(session, task, checked, spammers, clock)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return changed


def update_reputations(
    session: Session, task_id: bytes | str, result: InferenceResult, *, clock: Clock = time.time
) -> dict[str, Reputation]:
    """Record an inference result of the task: each skill's soft counts, pauses for spammers."""
    found = {
        str(skill.worker): evidence_from_skill(float(skill.accuracy), int(skill.n_answers))
        for skill in result.skills
    }
    return record_evidence(session, task_id, found, spammers=result.spammers, clock=clock)


def evidence_from_labels(
    contributors: Iterable[str], answers: Iterable[Any], labels: Iterable[Any]
) -> dict[str, Evidence]:
    """Hard-count evidence: per contributor, answers and how many equal the inferred label.

    The three columns are aligned, one row per answer (``labels`` holds each answer's item
    label).
    """
    totals: dict[str, list[int]] = {}
    for contributor, answer, label in zip(contributors, answers, labels, strict=True):
        counts = totals.setdefault(contributor, [0, 0])
        counts[0] += answer == label
        counts[1] += 1
    return {who: evidence(float(right), n) for who, (right, n) in totals.items()}


def epoch_evidence(
    accounts: Sequence[str],
    contributor: Sequence[int],
    item: Sequence[int],
    answer_json: Sequence[str],
    labels: Sequence[Any],
    task_type: TaskType | str | None = None,
) -> dict[str, Evidence]:
    """Evidence from a settlement's columns.

    ``contributor``/``item`` index ``accounts``/``labels`` (one inferred label per item);
    ``answer_json`` is each answer's canonical JSON text. For categorical tasks it is compared
    with the canonical JSON of its item's label, without decoding any answer (hard counts);
    for a structured ``task_type`` (multi-label, spans, boxes, transcription), whose consensus
    an answer rarely equals byte for byte, an answer counts its score against the label
    (:func:`datafair.quality.answer_scores.score_rows`), as settlement pays it.
    """
    items = np.asarray(item, dtype=np.int64)
    who = np.asarray(contributor, dtype=np.int64)
    if not (items.shape == who.shape == (len(answer_json),)):
        raise InvalidInput("submissions", "item, contributor and answer columns differ in length")
    if items.size and (items.min() < 0 or items.max() >= len(labels)):
        raise InvalidInput("submissions", "an item index has no inferred label")
    if who.size and (who.min() < 0 or who.max() >= len(accounts)):
        raise InvalidInput("submissions", "a contributor index has no account")
    if task_type is not None and TaskType(task_type) in SCORERS:
        right = np.asarray(score_rows(task_type, answer_json, items.tolist(), labels))
    else:
        label_text = np.array([canonical_json(label).decode() for label in labels] + [""], object)
        right = np.asarray(answer_json, dtype=object) == label_text[items]
    answers = np.bincount(who, minlength=len(accounts))
    correct = np.bincount(who, weights=right.astype(np.float64), minlength=len(accounts))
    return {
        accounts[k]: evidence(float(correct[k]), int(answers[k]))
        for k in np.flatnonzero(answers).tolist()
    }


def update_reputations_from_epoch(
    session: Session,
    task_id: bytes | str,
    columns: tuple[Sequence[str], Sequence[int], Sequence[int], Sequence[str], Sequence[Any]],
    spammers: Iterable[str],
    *,
    clock: Clock = time.time,
) -> dict[str, Reputation]:
    """Record one settlement epoch: ``columns`` as :func:`epoch_evidence` takes them
    (accounts, contributor, item, answer JSON, labels) over *every* submission the epoch's
    inference saw, and the spam-flagged accounts. Idempotent: the task's share is replaced.
    """
    return record_evidence(
        session, task_id, epoch_evidence(*columns), spammers=spammers, clock=clock
    )


def update_reputations_from_bundle(
    session: Session, document: Mapping[str, Any], *, clock: Clock = time.time
) -> dict[str, Reputation]:
    """Record what a settlement bundle (``datafair-settlement/1``) says of its contributors.

    Uses the bundle's submissions, inferred labels and spam flags (answers of structured task
    types count their score, see :func:`epoch_evidence`); the bundle covers every
    submission of the task up to its epoch, so recording it replaces the task's earlier
    evidence.
    """
    try:
        subs = document["submissions"]
        columns = (
            list(subs["accounts"]),
            list(subs["contributor"]),
            list(subs["item"]),
            list(subs["answer"]),
            list(document["inferred"]["labels"]),
        )
        task_id = document["task"]["task_id"]
        spammers = list(document["inferred"]["spammers"])
        found = epoch_evidence(*columns, task_type=load_task(session, task_id).task_type)
    except (KeyError, IndexError, TypeError, ValueError, InvalidInput) as error:
        raise InvalidInput(
            "bundle", f"lacks or garbles {error}", "pass a datafair-settlement/1 bundle"
        ) from None
    return record_evidence(session, task_id, found, spammers=spammers, clock=clock)


def pause_spammers(
    session: Session,
    task_id: bytes | str,
    addresses: Iterable[str],
    *,
    reason: str = SPAM_REASON,
    clock: Clock = time.time,
) -> int:
    """Pause the contributors on the task and commit; how many were not paused before."""
    if not reason.strip() or len(reason) > REASON_LEN:
        raise InvalidInput("reason", f"must be 1..{REASON_LEN} characters")
    try:
        task = load_task(session, task_id)
        now = now_ms(clock)
        store = ReputationRepository(session)
        newly = 0
        for address in sorted({checksum_address(a) for a in addresses}):
            standing = store.standing(task.id, address, lock=True)
            if standing is None:
                standing = TaskStanding(
                    task_pk=task.id, contributor=address, correct_units=0, answers=0
                )
                store.add(standing)
            elif standing.paused:
                continue
            standing.paused, standing.reason, standing.updated_at = True, reason, now
            newly += 1
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return newly


def lift_pause(
    session: Session, task_id: bytes | str, contributor: str, *, clock: Clock = time.time
) -> bool:
    """Lift a contributor's pause on the task (an operator's decision) and commit; whether one
    was lifted."""
    try:
        task = load_task(session, task_id)
        store = ReputationRepository(session)
        standing = store.standing(task.id, checksum_address(contributor), lock=True)
        lifted = standing is not None and standing.paused
        if standing is not None and lifted:
            standing.paused, standing.reason, standing.updated_at = False, None, now_ms(clock)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return lifted


def paused_on(session: Session, task_id: bytes | str) -> dict[str, str | None]:
    """The contributors paused on the task, with the reason."""
    task = load_task(session, task_id)
    return ReputationRepository(session).paused(task.id)


def require_eligible_for(session: Session, task_id: bytes | str, contributor: str) -> None:
    """:func:`check_eligible` by task id and any address form (for callers outside assignment)."""
    check_eligible(session, load_task(session, task_id), checksum_address(contributor))


__all__ = [
    "SPAM_REASON",
    "blocked_contributors",
    "check_eligible",
    "epoch_evidence",
    "evidence_from_labels",
    "is_paused",
    "lift_pause",
    "min_reputation_bps",
    "pause_spammers",
    "paused_on",
    "record_evidence",
    "reputation_of",
    "reputations",
    "require_eligible_for",
    "update_reputations",
    "update_reputations_from_bundle",
    "update_reputations_from_epoch",
]
