"""Assignments: items held for a contributor, candidate choice, expiry, give-up.

Inputs: an open ``Session``; callers own the transaction (repositories never commit).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.orm import Session

from datafair.store.models import (
    ASSIGNMENT_EXPIRED,
    ASSIGNMENT_HELD,
    ASSIGNMENT_SUBMITTED,
    STARTED_OPEN_SQL,
    Assignment,
    Submission,
    TaskItem,
)
from datafair.store.repositories._common import (
    chunked,
)
from datafair.store.repositories.tasks import CAPACITY_LEFT, TaskRepository


class AssignmentRepository:
    """Held slots: one row per (task item, contributor)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, assignment_id: int) -> Assignment | None:
        return self.session.get(Assignment, assignment_id)

    def count_for(self, task_pk: int, contributor: str) -> int:
        """How many assignments the contributor has had in the task (any status)."""
        return int(
            self.session.scalar(
                select(func.count()).where(
                    Assignment.task_pk == task_pk, Assignment.contributor == contributor
                )
            )
            or 0
        )

    def held_by(self, task_pk: int, contributor: str, *, now_ms: int) -> int:
        """How many live (held, unexpired) assignments the contributor has in the task."""
        return int(
            self.session.scalar(
                select(func.count()).where(
                    Assignment.task_pk == task_pk,
                    Assignment.contributor == contributor,
                    Assignment.status == ASSIGNMENT_HELD,
                    Assignment.expires_at > now_ms,
                )
            )
            or 0
        )

    def candidates(self, task_pk: int, contributor: str, *, gold: bool, limit: int) -> list[int]:
        """Task item ids the contributor may take next, best first.

        Only items with a free slot that the contributor has neither answered nor holds (or
        held and submitted). Ordinary items: the most filled first (items are completed up to k
        before new ones are started), then untouched items in task order. Gold items: the least
        answered first.

        Ordinary items are looked up in two steps so that a large task costs little: started
        items (few, since they are filled first) are checked against the contributor's
        answers and holds; untouched items cannot have any, and are read in task order along
        the ``(task_pk, is_gold, position)`` index.
        """
        fill = TaskItem.answers + TaskItem.reserved
        answered = select(Submission.id).where(
            Submission.task_item_id == TaskItem.id, Submission.contributor == contributor
        )
        holding = select(Assignment.id).where(
            Assignment.task_item_id == TaskItem.id,
            Assignment.contributor == contributor,
            Assignment.status.in_((ASSIGNMENT_HELD, ASSIGNMENT_SUBMITTED)),
        )
        mine = (~answered.exists(), ~holding.exists())
        base = (TaskItem.task_pk == task_pk, TaskItem.is_gold == gold, CAPACITY_LEFT)
        if gold:
            query = (
                select(TaskItem.id)
                .where(*base, *mine)
                .order_by(fill, TaskItem.position)
                .limit(limit)
            )
            return list(self.session.scalars(query))
        started = (
            select(TaskItem.id)
            .where(TaskItem.task_pk == task_pk, TaskItem.is_gold == gold)
            .where(text(STARTED_OPEN_SQL), *mine)
            .order_by(fill.desc(), TaskItem.position)
            .limit(limit)
        )
        found = list(self.session.scalars(started))
        if len(found) < limit:
            untouched = (
                select(TaskItem.id)
                .where(*base, TaskItem.answers == 0, TaskItem.reserved == 0)
                .order_by(TaskItem.position)
                .limit(limit - len(found))
            )
            found.extend(self.session.scalars(untouched))
        return found

    def hold(
        self,
        *,
        task_pk: int,
        task_item_id: int,
        contributor: str,
        is_gold: bool,
        now_ms: int,
        expires_at: int,
    ) -> int:
        """Record the contributor's hold on the item (reviving an expired row); its id."""
        revived = self.session.execute(
            update(Assignment)
            .where(
                Assignment.task_item_id == task_item_id,
                Assignment.contributor == contributor,
                Assignment.status == ASSIGNMENT_EXPIRED,
            )
            .values(status=ASSIGNMENT_HELD, created_at=now_ms, expires_at=expires_at)
            .returning(Assignment.id)
        ).scalar()
        if revived is not None:
            return int(revived)
        new_id = self.session.execute(
            insert(Assignment)
            .values(
                task_pk=task_pk,
                task_item_id=task_item_id,
                contributor=contributor,
                is_gold=is_gold,
                status=ASSIGNMENT_HELD,
                created_at=now_ms,
                expires_at=expires_at,
            )
            .returning(Assignment.id)
        ).scalar_one()
        return int(new_id)

    def held_for_items(self, task_item_ids: Sequence[int]) -> dict[tuple[int, str], int]:
        """Held assignments on the items: ``{(task_item_id, contributor): assignment_id}``."""
        found: dict[tuple[int, str], int] = {}
        for part in chunked(sorted(set(task_item_ids))):
            query = select(Assignment.id, Assignment.task_item_id, Assignment.contributor).where(
                Assignment.task_item_id.in_(part), Assignment.status == ASSIGNMENT_HELD
            )
            for assignment_id, item_id, contributor in self.session.execute(query):
                found[(item_id, contributor)] = assignment_id
        return found

    def mark_submitted(self, assignment_ids: Sequence[int]) -> None:
        """Close held assignments whose answers were accepted."""
        for part in chunked(list(assignment_ids)):
            self.session.execute(
                update(Assignment)
                .where(Assignment.id.in_(part), Assignment.status == ASSIGNMENT_HELD)
                .values(status=ASSIGNMENT_SUBMITTED)
            )

    def expire(self, task_pk: int, *, now_ms: int) -> int:
        """Expire held assignments past their time and give their slots back; how many.

        Locks the affected task items first (in id order), as the submission path does, so
        the two never deadlock on PostgreSQL.
        """
        due = self.session.execute(
            select(Assignment.id, Assignment.task_item_id).where(
                Assignment.task_pk == task_pk,
                Assignment.status == ASSIGNMENT_HELD,
                Assignment.expires_at <= now_ms,
            )
        ).all()
        if not due:
            return 0
        TaskRepository(self.session).lock_items([item_id for _, item_id in due])
        released: dict[int, int] = {}
        for part in chunked([assignment_id for assignment_id, _ in due]):
            rows = self.session.execute(
                update(Assignment)
                .where(Assignment.id.in_(part), Assignment.status == ASSIGNMENT_HELD)
                .values(status=ASSIGNMENT_EXPIRED)
                .returning(Assignment.task_item_id)
            ).scalars()
            for item_id in rows:
                released[item_id] = released.get(item_id, 0) + 1
        TaskRepository(self.session).release(released)
        return sum(released.values())

    def give_up(self, assignment_id: int, contributor: str) -> int | None:
        """End the contributor's held assignment early; the freed task item id, or None."""
        return self.session.execute(
            update(Assignment)
            .where(
                Assignment.id == assignment_id,
                Assignment.contributor == contributor,
                Assignment.status == ASSIGNMENT_HELD,
            )
            .values(status=ASSIGNMENT_EXPIRED)
            .returning(Assignment.task_item_id)
        ).scalar()
