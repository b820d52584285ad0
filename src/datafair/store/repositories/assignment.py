"""Assignments: items held for a contributor, candidate choice, expiry, skips.

Inputs: an open ``Session``; callers own the transaction (repositories never commit).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from datafair.store.models import (
    ASSIGNMENT_EXPIRED,
    ASSIGNMENT_HELD,
    ASSIGNMENT_SUBMITTED,
    OPEN_SQL,
    Assignment,
    TaskItem,
)
from datafair.store.repositories._common import chunked, locks_rows
from datafair.store.repositories.tasks import TaskRepository


@dataclass(frozen=True)
class Tally:
    """One contributor's assignments in one task."""

    total: int
    """Every assignment, whatever its status (the index of the next one)."""
    gold: int
    """Assignments of gold items."""
    held: int
    """Live holds (held and not yet expired)."""
    ordinary_taken: int
    """Ordinary items held or answered: what the share cap counts."""
    skips: int
    """Items given back unanswered."""
    last_position: int = -1
    """The task's highest item position (-1 without items)."""


# The hot path of ``next_item`` runs these prebuilt statements: building a SQLAlchemy
# expression per call costs more than the query. Column and status spellings follow
# ``datafair.store.models``; the open-items condition repeats ``OPEN_SQL`` literally so that
# SQLite uses the partial index.
_TALLY = text(
    """
    SELECT count(*),
           sum(CASE WHEN is_gold THEN 1 ELSE 0 END),
           sum(CASE WHEN status = 'held' AND expires_at > :now THEN 1 ELSE 0 END),
           sum(CASE WHEN NOT is_gold AND status IN ('held', 'submitted') THEN 1 ELSE 0 END),
           sum(CASE WHEN skipped THEN 1 ELSE 0 END),
           (SELECT max(position) FROM task_items WHERE task_pk = :task AND is_gold = :no),
           (SELECT max(position) FROM task_items WHERE task_pk = :task AND is_gold = :yes)
    FROM assignments
    WHERE task_pk = :task AND contributor = :who
    """
)
_LAST_POSITION = text(
    "SELECT max(position) FROM task_items WHERE task_pk = :task AND is_gold = :no "
    "UNION ALL SELECT max(position) FROM task_items WHERE task_pk = :task AND is_gold = :yes"
)
_CANDIDATES = f"""
    SELECT task_items.id, task_items.item_cid
    FROM task_items
    WHERE task_items.task_pk = :task AND task_items.is_gold = :gold AND ({OPEN_SQL})
      AND task_items.position {{op}} :start
      AND NOT EXISTS (
          SELECT 1 FROM submissions
          WHERE submissions.task_item_id = task_items.id AND submissions.contributor = :who)
      AND NOT EXISTS (
          SELECT 1 FROM assignments
          WHERE assignments.task_item_id = task_items.id AND assignments.contributor = :who
            AND (assignments.status IN ('held', 'submitted') OR assignments.skipped))
      AND NOT EXISTS (
          SELECT 1 FROM review_exclusions
          WHERE review_exclusions.task_item_id = task_items.id
            AND review_exclusions.contributor = :who)
    ORDER BY task_items.position
    LIMIT :limit
    """
_CANDIDATES_FROM = text(_CANDIDATES.format(op=">="))
_CANDIDATES_BEFORE = text(_CANDIDATES.format(op="<"))
_RESERVE = text(
    "UPDATE task_items SET reserved = reserved + 1 "
    "WHERE id = :item AND (capacity IS NULL OR answers + reserved < capacity)"
)
_UNRESERVE = text("UPDATE task_items SET reserved = reserved - 1 WHERE id = :item")
_HOLD = text(
    """
    INSERT INTO assignments
        (task_pk, task_item_id, contributor, is_gold, status, created_at, expires_at, skipped)
    VALUES (:task, :item, :who, :gold, 'held', :now, :expires, false)
    ON CONFLICT (task_item_id, contributor) DO UPDATE
        SET status = 'held', created_at = excluded.created_at, expires_at = excluded.expires_at
        WHERE assignments.status = 'expired' AND NOT assignments.skipped
    RETURNING id
    """
)
_DUE = text(
    "SELECT id, task_item_id FROM assignments "
    "WHERE task_pk = :task AND status = 'held' AND expires_at <= :now"
)


class AssignmentRepository:
    """Held slots: one row per (task item, contributor)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, assignment_id: int) -> Assignment | None:
        return self.session.get(Assignment, assignment_id)

    def count_for(self, task_pk: int, contributor: str) -> int:
        """How many assignments the contributor has had in the task (any status)."""
        return self.tally(task_pk, contributor, now_ms=0).total

    def held_by(self, task_pk: int, contributor: str, *, now_ms: int) -> int:
        """How many live (held, unexpired) assignments the contributor has in the task."""
        return self.tally(task_pk, contributor, now_ms=now_ms).held

    def tally(self, task_pk: int, contributor: str, *, now_ms: int) -> Tally:
        """The contributor's assignments in the task, counted in one indexed query, with the
        task's last item position."""
        row = (
            self.session.connection()
            .execute(
                _TALLY,
                {"task": task_pk, "who": contributor, "now": now_ms, "no": False, "yes": True},
            )
            .one()
        )
        total, gold, held, ordinary, skips = (int(value or 0) for value in row[:5])
        # one max per half of the (task_pk, is_gold, position) index: each is a single probe
        last = max(-1 if value is None else int(value) for value in row[5:7])
        return Tally(total, gold, held, ordinary, skips, last)

    def lock_contributor(self, task_pk: int, contributor: str) -> None:
        """Serialise this contributor's assignment changes in the task until the transaction
        ends, so counts read under the lock (share cap, skips) stay exact.

        PostgreSQL: a transaction-scoped advisory lock keyed by the task and the address.
        SQLite: nothing to do, every transaction already holds the database's write lock.
        """
        if not locks_rows(self.session):
            return
        digest = hashlib.blake2b(f"{task_pk}:{contributor}".encode(), digest_size=8).digest()
        key = int.from_bytes(digest, "big", signed=True)
        self.session.execute(select(func.pg_advisory_xact_lock(key)))

    def last_position(self, task_pk: int) -> int:
        """The highest item position of the task (-1 for a task without items)."""
        rows = self.session.connection().execute(
            _LAST_POSITION, {"task": task_pk, "no": False, "yes": True}
        )
        return max((-1 if row[0] is None else int(row[0]) for row in rows), default=-1)

    def gold_count(self, task_pk: int) -> int:
        """How many of the task's items are gold (a short range of the position index)."""
        query = select(func.count()).where(TaskItem.task_pk == task_pk, TaskItem.is_gold.is_(True))
        return int(self.session.scalar(query) or 0)

    def candidates(
        self, task_pk: int, contributor: str, *, gold: bool, limit: int, start: int = 0
    ) -> list[tuple[int, str]]:
        """``(task item id, item CID)`` of items the contributor may take next: open items (a
        free slot) that the contributor has not answered, does not hold, did not skip and was
        not excluded from by reviewing it (``review_exclusions``), in
        position order from ``start``, wrapping around to the first position.

        The scan walks the partial index of open items (:data:`~datafair.store.models.OPEN_SQL`)
        from ``start``, so it reads about ``limit`` index entries however large or full the task
        is; each is checked against the contributor's answer and hold with two unique-index
        probes. The statements are built once (this is the hot path of ``next_item``).
        """
        connection = self.session.connection()
        params = {"task": task_pk, "gold": gold, "who": contributor, "start": start}
        found = [
            (int(row[0]), str(row[1]))
            for row in connection.execute(_CANDIDATES_FROM, {**params, "limit": limit})
        ]
        if len(found) < limit and start > 0:
            rest = {**params, "limit": limit - len(found)}
            found.extend(
                (int(row[0]), str(row[1])) for row in connection.execute(_CANDIDATES_BEFORE, rest)
            )
        return found

    def take(
        self,
        *,
        task_pk: int,
        task_item_id: int,
        contributor: str,
        is_gold: bool,
        now_ms: int,
        expires_at: int,
    ) -> int | None:
        """Reserve a slot of the item and record the contributor's hold on it; the assignment
        id, or None (and nothing changed) if the item is full or the contributor holds it.

        Two statements: the conditional ``UPDATE`` of the item's counters (never past its
        capacity), then one upsert of the hold (reviving an expired, not skipped, row). If the
        upsert finds the contributor's live hold (a parallel call of theirs won), the slot is
        given back.
        """
        connection = self.session.connection()
        if connection.execute(_RESERVE, {"item": task_item_id}).rowcount != 1:
            return None
        held = connection.execute(
            _HOLD,
            {
                "task": task_pk,
                "item": task_item_id,
                "who": contributor,
                "gold": is_gold,
                "now": now_ms,
                "expires": expires_at,
            },
        ).scalar()
        if held is None:
            connection.execute(_UNRESERVE, {"item": task_item_id})
            return None
        return int(held)

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
        due = self.session.connection().execute(_DUE, {"task": task_pk, "now": now_ms}).all()
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

    def give_up(self, assignment_id: int, contributor: str, *, skipped: bool = True) -> int | None:
        """End the contributor's held assignment early (a skip unless ``skipped`` is false);
        the freed task item id, or None."""
        return self.session.execute(
            update(Assignment)
            .where(
                Assignment.id == assignment_id,
                Assignment.contributor == contributor,
                Assignment.status == ASSIGNMENT_HELD,
            )
            .values(status=ASSIGNMENT_EXPIRED, skipped=skipped)
            .returning(Assignment.task_item_id)
        ).scalar()
