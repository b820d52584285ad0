"""Who may work on a task: pauses and the task's minimum reputation.

Inputs: an open ``Session`` (read only); a stored ``Task``; contributors' checksummed addresses.
A task may require a minimum reputation on its type, ``spec.extra["min_reputation_bps"]``
(0..10 000, default 0); a contributor flagged as a spammer on a task is paused on it. The rule
itself is :func:`datafair.economics.ineligibility`; the rows come from
:class:`~datafair.store.repositories.reputation.ReputationRepository`.

:func:`still_answerable` tells which items a contributor could still answer: no path may show
them another's answer to those (``docs/reviews.md``, "No peeking").

Submissions and assignment call this module (not :mod:`datafair.services.reputation`, which
records inference results and so depends on the inference service).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session

from datafair.core.errors import Conflict, InvalidInput
from datafair.economics import Reputation, ineligibility
from datafair.store.models import TASK_CLOSED, ReviewExclusion, Submission, Task, TaskItem
from datafair.store.repositories.reputation import ReputationRepository
from datafair.store.reputation_models import ContributorReputation


def min_reputation_bps(spec: Mapping[str, Any]) -> int:
    """The task's minimum reputation in bps, from a stored spec's ``extra`` (default 0)."""
    value = (spec.get("extra") or {}).get("min_reputation_bps", 0)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10_000:
        raise InvalidInput(
            "extra.min_reputation_bps", f"must be an integer 0..10000, got {value!r}"
        )
    return value


def as_reputation(row: ContributorReputation | None) -> Reputation:
    """The economics record of a stored row (an empty record for ``None``)."""
    if row is None:
        return Reputation()
    return Reputation(row.correct_units, row.answers, row.settlements)


def check_eligible(session: Session, task: Task, contributor: str) -> None:
    """Raise ``Conflict`` naming why ``contributor`` (checksummed) may not work on ``task``.

    Two primary-key reads at most: the standing on the task, and the record on its type when
    the task sets a minimum.
    """
    minimum = min_reputation_bps(task.spec)
    store = ReputationRepository(session)
    paused = store.is_paused(task.id, contributor)
    if not paused and minimum == 0:
        return
    record = None
    if minimum:
        record = as_reputation(store.pooled(contributor, task.task_type))
    reason = ineligibility(record, min_reputation_bps=minimum, paused=paused)
    if reason is not None:
        raise Conflict(f"contributor: {contributor} may not take items of this task: {reason}")


def blocked_contributors(
    session: Session, task_pk: int, addresses: Iterable[str]
) -> dict[str, str]:
    """Which of ``addresses`` (checksummed) may not contribute to the task, with the reason.

    For batch paths: at most three queries whatever the number of addresses (the task, the
    pauses, and the records when the task sets a minimum).
    """
    task = session.get(Task, task_pk)
    if task is None:
        return {}
    return blocked_on(session, task_pk, task.task_type, min_reputation_bps(task.spec), addresses)


def blocked_on(
    session: Session,
    task_pk: int,
    task_type: str,
    minimum: int,
    addresses: Iterable[str],
    *,
    paused_on_task: Iterable[str] | None = None,
) -> dict[str, str]:
    """:func:`blocked_contributors` for a caller that already knows the task's type and its
    minimum reputation (``min_reputation_bps`` of its spec; both fixed for the task's life):
    the pauses (read here unless the caller read ``paused_on_task``, the contributors paused
    on the task, in the same transaction), and the records only when ``minimum`` is set."""
    wanted = sorted(set(addresses))
    if not wanted:
        return {}
    store = ReputationRepository(session)
    paused = set(store.paused(task_pk) if paused_on_task is None else paused_on_task)
    records: dict[str, Reputation] = {}
    if minimum:
        rows = store.pooled_for_type(task_type, wanted)
        records = {row.contributor: as_reputation(row) for row in rows}
    blocked: dict[str, str] = {}
    for address in wanted:
        if address not in paused and not minimum:
            continue
        reason = ineligibility(
            records.get(address), min_reputation_bps=minimum, paused=address in paused
        )
        if reason is not None:
            blocked[address] = reason
    return blocked


def still_answerable(
    session: Session,
    task: Task,
    contributor: str,
    item_cids: Iterable[str],
    *,
    now: float | None = None,
) -> set[str]:
    """Which of ``item_cids`` ``contributor`` (checksummed) may still answer in ``task``.

    An item stays answerable while the task is open and before its deadline, the item has a
    free slot (gold items without a capacity always do), and the contributor has neither
    answered it nor been excluded from it by reviewing it. Conservative: a slot held by
    someone else's live assignment still counts as free (it may expire). One query.
    """
    from datafair.services.tasks import deadline_passed

    wanted = sorted(set(item_cids))
    clock = time.time() if now is None else now
    if not wanted or task.status == TASK_CLOSED or deadline_passed(task.deadline, clock):
        return set()
    answered = exists().where(
        and_(Submission.task_item_id == TaskItem.id, Submission.contributor == contributor)
    )
    excluded = exists().where(
        and_(
            ReviewExclusion.task_item_id == TaskItem.id,
            ReviewExclusion.contributor == contributor,
        )
    )
    rows = session.scalars(
        select(TaskItem.item_cid).where(
            TaskItem.task_pk == task.id,
            TaskItem.item_cid.in_(wanted),
            (TaskItem.capacity.is_(None)) | (TaskItem.answers < TaskItem.capacity),
            ~answered,
            ~excluded,
        )
    )
    return set(rows)
