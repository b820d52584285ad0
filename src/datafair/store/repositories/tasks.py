"""Tasks, their items' capacity counters (the k-cap), gold answers and status.

Inputs: an open ``Session``; callers own the transaction (repositories never commit).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, case, func, or_, select, update
from sqlalchemy.orm import Session

from datafair.core.errors import Conflict
from datafair.core.schemas import ItemContext, ItemKind
from datafair.store.models import (
    ASSIGNMENT_EXPIRED,
    ASSIGNMENT_HELD,
    TASK_CLOSED,
    TASK_OPEN,
    Assignment,
    GoldAnswer,
    Item,
    Task,
    TaskItem,
)
from datafair.store.repositories._common import (
    bulk_insert,
    chunked,
    locks_rows,
    rowcount,
)


@dataclass(frozen=True)
class Slot:
    """A task item as the submission path sees it: counts, capacity and the item's context."""

    task_item_id: int
    item_cid: str
    is_gold: bool
    capacity: int | None
    answers: int
    reserved: int
    context: ItemContext
    sealed_epoch: int | None = None

    def free(self) -> int | None:
        """Slots not answered nor reserved (None: unlimited)."""
        return None if self.capacity is None else self.capacity - self.answers - self.reserved


TASK_ITEMS = cast(Table, TaskItem.__table__)
_BY_TASK_ID = select(Task).where(Task.task_id == bindparam("task_id"))
# The submission path's queries, built once (building a statement costs more than running it):
_STATUS = (
    select(Task.id, Task.status)
    .where(Task.id.in_(bindparam("pks", expanding=True)))
    .order_by(Task.id)
)
_STATUS_LOCKED = _STATUS.with_for_update(read=True)
_SLOTS = (
    select(
        TaskItem.id,
        TaskItem.item_cid,
        TaskItem.is_gold,
        TaskItem.capacity,
        TaskItem.answers,
        TaskItem.reserved,
        Item.kind,
        Item.text_length,
        Item.width,
        Item.height,
        TaskItem.sealed_epoch,
    )
    .join(Item, Item.cid == TaskItem.item_cid)
    .where(
        TaskItem.task_pk == bindparam("task_pk"),
        TaskItem.item_cid.in_(bindparam("cids", expanding=True)),
    )
    .order_by(TaskItem.id)
)
_SLOTS_LOCKED = _SLOTS.with_for_update(of=TaskItem)
# one task's status (share-locked first, as lock_status does) and its slots, in one statement
_STATUS_AND_SLOTS_LOCKED = (
    _SLOTS.add_columns(Task.status)
    .join(Task, Task.id == TaskItem.task_pk)
    .suffix_with("FOR SHARE OF tasks FOR UPDATE OF task_items", dialect="postgresql")
)


def _slot(row: Sequence[Any]) -> Slot:
    """A :class:`Slot` from the first columns of a ``_SLOTS`` row."""
    return Slot(
        task_item_id=row[0],
        item_cid=row[1],
        is_gold=row[2],
        capacity=row[3],
        answers=row[4],
        reserved=row[5],
        context=ItemContext(ItemKind(row[6]), row[7], row[8], row[9]),
        sealed_epoch=row[10],
    )


CAPACITY_LEFT = or_(
    TaskItem.capacity.is_(None), TaskItem.answers + TaskItem.reserved < TaskItem.capacity
)
_ADD_ANSWERS = (
    update(TASK_ITEMS)
    .where(
        TASK_ITEMS.c.id == bindparam("b_id"),
        or_(
            TASK_ITEMS.c.capacity.is_(None),
            TASK_ITEMS.c.answers + bindparam("b_n") + TASK_ITEMS.c.reserved - bindparam("b_r")
            <= TASK_ITEMS.c.capacity,
        ),
        TASK_ITEMS.c.reserved >= bindparam("b_r"),
    )
    .values(
        answers=TASK_ITEMS.c.answers + bindparam("b_n"),
        reserved=TASK_ITEMS.c.reserved - bindparam("b_r"),
    )
)


class TaskRepository:
    """Tasks, their items (with answer counts) and gold answers."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def by_task_id(self, task_id: bytes) -> Task | None:
        return self.session.scalar(_BY_TASK_ID, {"task_id": task_id})

    def by_task_ids(self, task_ids: Sequence[bytes]) -> dict[bytes, Task]:
        found = self.session.scalars(select(Task).where(Task.task_id.in_(list(task_ids))))
        return {task.task_id: task for task in found}

    def all(self) -> list[Task]:
        return list(self.session.scalars(select(Task).order_by(Task.id)))

    def add(self, task: Task) -> Task:
        self.session.add(task)
        self.session.flush()
        return task

    def add_items(
        self,
        task_pk: int,
        item_cids: Sequence[str],
        *,
        gold: set[str],
        capacity: int,
        gold_capacity: int | None,
    ) -> None:
        """Put ``item_cids`` (in order) in the task; those in ``gold`` are gold items."""
        rows = [
            {
                "task_pk": task_pk,
                "item_cid": cid,
                "position": position,
                "is_gold": cid in gold,
                "capacity": gold_capacity if cid in gold else capacity,
                "answers": 0,
                "reserved": 0,
            }
            for position, cid in enumerate(item_cids)
        ]
        bulk_insert(self.session, TaskItem, rows)

    def set_gold_answers(self, task_pk: int, answers: Mapping[str, str]) -> None:
        """Store gold answers (canonical JSON text) by item CID."""
        rows = [
            {"task_pk": task_pk, "item_cid": cid, "answer": text} for cid, text in answers.items()
        ]
        bulk_insert(self.session, GoldAnswer, rows)

    def gold_answers(self, task_pk: int) -> dict[str, Any]:
        """The gold answers of the task by item CID, decoded from their canonical JSON."""
        rows = self.session.execute(
            select(GoldAnswer.item_cid, GoldAnswer.answer).where(GoldAnswer.task_pk == task_pk)
        )
        return {cid: json.loads(text) for cid, text in rows}

    def retired_gold(self, task_pk: int, item_cids: Sequence[str] | None = None) -> dict[str, int]:
        """Gold items a settlement bundle revealed, with the epoch that revealed them: every
        one of the task, or those among ``item_cids``."""
        query = select(GoldAnswer.item_cid, GoldAnswer.retired_epoch).where(
            GoldAnswer.task_pk == task_pk, GoldAnswer.retired_epoch.is_not(None)
        )
        if item_cids is None:
            return {cid: int(epoch or 0) for cid, epoch in self.session.execute(query)}
        found: dict[str, int] = {}
        for part in chunked(sorted(set(item_cids))):
            rows = self.session.execute(query.where(GoldAnswer.item_cid.in_(part)))
            found.update((cid, int(epoch or 0)) for cid, epoch in rows)
        return found

    def retire_gold(self, task_pk: int, item_cids: Sequence[str], epoch: int) -> None:
        """Retire gold items the bundle of ``epoch`` reveals: record the epoch and close them
        (:meth:`_close`), so they are never assigned or answered again."""
        for part in chunked(sorted(set(item_cids))):
            self._close(self._item_ids(task_pk, part))
            self.session.execute(
                update(GoldAnswer)
                .where(
                    GoldAnswer.task_pk == task_pk,
                    GoldAnswer.item_cid.in_(part),
                    GoldAnswer.retired_epoch.is_(None),
                )
                .values(retired_epoch=epoch)
            )

    def seal_items(self, task_pk: int, item_cids: Sequence[str], epoch: int) -> dict[str, int]:
        """Seal the items whose answers the bundle of ``epoch`` publishes first: record the
        epoch and close them (:meth:`_close`), so they are never assigned, answered or
        reviewed again. Returns each item's answer count, read under the lock."""
        answers: dict[str, int] = {}
        for part in chunked(sorted(set(item_cids))):
            ids = self._item_ids(task_pk, part)
            self._close(ids)
            self.session.execute(
                update(TaskItem)
                .where(TaskItem.id.in_(ids), TaskItem.sealed_epoch.is_(None))
                .values(sealed_epoch=epoch)
            )
            rows = self.session.execute(
                select(TaskItem.item_cid, TaskItem.answers).where(TaskItem.id.in_(ids))
            )
            answers.update((cid, int(count)) for cid, count in rows)
        return answers

    def sealed_items(self, task_pk: int) -> dict[str, int]:
        """Items whose answers a settlement bundle published, with the epoch that sealed them."""
        rows = self.session.execute(
            select(TaskItem.item_cid, TaskItem.sealed_epoch).where(
                TaskItem.task_pk == task_pk, TaskItem.sealed_epoch.is_not(None)
            )
        )
        return {cid: int(epoch or 0) for cid, epoch in rows}

    def full_items(self, task_pk: int) -> set[str]:
        """Items that have all their answers (``answers >= capacity``): closed to answers."""
        rows = self.session.scalars(
            select(TaskItem.item_cid).where(
                TaskItem.task_pk == task_pk,
                TaskItem.capacity.is_not(None),
                TaskItem.answers >= TaskItem.capacity,
            )
        )
        return set(rows)

    def _item_ids(self, task_pk: int, item_cids: Sequence[str]) -> list[int]:
        return list(
            self.session.scalars(
                select(TaskItem.id).where(
                    TaskItem.task_pk == task_pk, TaskItem.item_cid.in_(list(item_cids))
                )
            )
        )

    def _close(self, ids: Sequence[int]) -> None:
        """Close task items to answers: expire the slots held on them and set capacity =
        answers. Task items are locked before assignments change (the order every path
        follows)."""
        self.lock_items(ids)
        self.session.execute(
            update(Assignment)
            .where(Assignment.task_item_id.in_(ids), Assignment.status == ASSIGNMENT_HELD)
            .values(status=ASSIGNMENT_EXPIRED)
        )
        self.session.execute(
            update(TaskItem)
            .where(TaskItem.id.in_(ids))
            .values(reserved=0, capacity=TaskItem.answers)
        )

    def item_cids(self, task_pk: int) -> list[str]:
        """The task's item CIDs in order (gold items included)."""
        return list(
            self.session.scalars(
                select(TaskItem.item_cid)
                .where(TaskItem.task_pk == task_pk)
                .order_by(TaskItem.position)
            )
        )

    def counts(self, task_pk: int) -> dict[str, int]:
        """Items, gold items, answers, held slots and items that reached capacity."""
        full = and_(TaskItem.capacity.is_not(None), TaskItem.answers >= TaskItem.capacity)
        row = self.session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(case((TaskItem.is_gold, 1), else_=0)), 0),
                func.coalesce(func.sum(TaskItem.answers), 0),
                func.coalesce(func.sum(TaskItem.reserved), 0),
                func.coalesce(func.sum(case((full, 1), else_=0)), 0),
            ).where(TaskItem.task_pk == task_pk)
        ).one()
        items, gold_items, answers, reserved, full_items = (int(value) for value in row)
        return {
            "items": items,
            "gold_items": gold_items,
            "answers": answers,
            "reserved": reserved,
            "full_items": full_items,
        }

    def set_status(self, task_pk: int, status: str, *, now_ms: int) -> bool:
        """Move an open task to ``status``; False if it was not open."""
        if status not in (TASK_OPEN, TASK_CLOSED):
            raise ValueError(status)
        result = self.session.execute(
            update(Task)
            .where(Task.id == task_pk, Task.status == TASK_OPEN)
            .values(status=status, closed_at=now_ms if status == TASK_CLOSED else None)
        )
        return rowcount(result) > 0

    def lock_status(self, task_pks: Sequence[int]) -> dict[int, str]:
        """The tasks' statuses, share-locked (PostgreSQL) until the transaction ends."""
        query = _STATUS_LOCKED if locks_rows(self.session) else _STATUS
        rows = self.session.connection().execute(query, {"pks": list(task_pks)})
        return {task_pk: status for task_pk, status in rows}

    def slots(
        self, task_pk: int, item_cids: Sequence[str], *, lock: bool = False
    ) -> dict[str, Slot]:
        """The task items for ``item_cids`` with their item context, by CID.

        With ``lock`` the rows are locked (PostgreSQL ``FOR UPDATE``, in id order, so two
        transactions never wait on each other in a cycle) until the transaction ends.
        """
        found: dict[str, Slot] = {}
        query = _SLOTS_LOCKED if lock and locks_rows(self.session) else _SLOTS
        connection = self.session.connection()
        for part in chunked(sorted(set(item_cids))):
            for row in connection.execute(query, {"task_pk": task_pk, "cids": list(part)}):
                found[row[1]] = _slot(row)
        return found

    def lock_status_and_slots(
        self, task_pk: int, item_cids: Sequence[str]
    ) -> tuple[str | None, dict[str, Slot]]:
        """:meth:`lock_status` and :meth:`slots` with ``lock`` for one task, in one statement
        per chunk of CIDs: the task's status (``None`` when none of the CIDs is found) and the
        locked slots. PostgreSQL locks the task's row (shared) before the items' (in id order),
        the order of :meth:`lock_status` then :meth:`slots`."""
        status: str | None = None
        found: dict[str, Slot] = {}
        connection = self.session.connection()
        for part in chunked(sorted(set(item_cids))):
            rows = connection.execute(
                _STATUS_AND_SLOTS_LOCKED, {"task_pk": task_pk, "cids": list(part)}
            )
            for row in rows:
                found[row[1]] = _slot(row)
                status = row[11]
        return status, found

    def lock_items(self, task_item_ids: Sequence[int]) -> None:
        """Lock task item rows (PostgreSQL ``FOR UPDATE``, in id order) until the transaction
        ends. Every path that changes both task items and assignments locks the task items
        first, so concurrent transactions never deadlock.
        """
        if not locks_rows(self.session):
            return
        for part in chunked(sorted(set(task_item_ids))):
            self.session.execute(
                select(TaskItem.id)
                .where(TaskItem.id.in_(part))
                .order_by(TaskItem.id)
                .with_for_update()
            ).all()

    def try_reserve(self, task_item_id: int) -> bool:
        """Hold one slot of the item if one is free: atomic, never past capacity."""
        result = self.session.execute(
            update(TaskItem)
            .where(TaskItem.id == task_item_id, CAPACITY_LEFT)
            .values(reserved=TaskItem.reserved + 1)
        )
        return rowcount(result) == 1

    def try_answer(self, task_item_id: int, *, from_reservation: bool = False) -> bool:
        """Count one answer, consuming a held slot or taking a free one: atomic, never past k."""
        if from_reservation:
            statement = (
                update(TaskItem)
                .where(TaskItem.id == task_item_id, TaskItem.reserved > 0)
                .values(answers=TaskItem.answers + 1, reserved=TaskItem.reserved - 1)
            )
        else:
            statement = (
                update(TaskItem)
                .where(TaskItem.id == task_item_id, CAPACITY_LEFT)
                .values(answers=TaskItem.answers + 1)
            )
        return rowcount(self.session.execute(statement)) == 1

    def add_answers(self, changes: Mapping[int, tuple[int, int]]) -> None:
        """Apply ``{task_item_id: (answers_added, reservations_consumed)}`` in one statement.

        Each row update is conditional on staying within capacity; the CHECK constraint backs
        it. ``Conflict`` if any row would overflow (the caller rolls back).
        """
        if not changes:
            return
        params = [
            {"b_id": item_id, "b_n": added, "b_r": consumed}
            for item_id, (added, consumed) in sorted(changes.items())
        ]
        result = self.session.connection().execute(_ADD_ANSWERS, params)
        if rowcount(result) not in (-1, len(params)):
            raise Conflict("item: answer count changed concurrently (retry)")

    def release(self, counts: Mapping[int, int]) -> None:
        """Give back ``{task_item_id: n}`` held slots."""
        if not counts:
            return
        table = TASK_ITEMS
        statement = (
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values(reserved=table.c.reserved - bindparam("b_n"))
        )
        self.session.connection().execute(
            statement, [{"b_id": key, "b_n": n} for key, n in sorted(counts.items())]
        )
