"""Repositories: the store's queries, one small class per aggregate, over a SQLAlchemy session.

Inputs: an open ``Session``; callers own the transaction (repositories never commit). Bulk
paths (item import, submissions) use Core ``insert``/``update`` with many parameter sets rather
than the ORM unit of work. Times are Unix milliseconds.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, case, func, insert, or_, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from datafair.core.errors import Conflict, InvalidInput, NotFound
from datafair.core.schemas import ItemContext, ItemKind
from datafair.store.models import (
    ASSIGNMENT_EXPIRED,
    ASSIGNMENT_HELD,
    ASSIGNMENT_SUBMITTED,
    STARTED_OPEN_SQL,
    TASK_CLOSED,
    TASK_OPEN,
    UINT64_OFFSET,
    VERDICT_ACCEPT,
    VERDICT_REJECT,
    Account,
    Assignment,
    Dataset,
    DatasetItem,
    GoldAnswer,
    Item,
    Review,
    Submission,
    Task,
    TaskItem,
)

CHUNK = 500
BIG_CHUNK = 5000


def _bulk_insert(session: Session, model: type, rows: Sequence[Mapping[str, Any]]) -> None:
    """Core multi-row INSERT of plain rows (no ORM bookkeeping), in chunks."""
    table = cast(Table, model.__table__)  # type: ignore[attr-defined]
    connection = session.connection()
    for part in chunked(rows, BIG_CHUNK):
        connection.execute(insert(table), list(part))


def chunked(values: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    """``values`` in consecutive slices of at most ``size``."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _rowcount(result: Any) -> int:
    """Rows matched by an UPDATE (summed over parameter sets; -1 if the driver cannot tell)."""
    return int(result.rowcount)


def _locks_rows(session: Session) -> bool:
    """Whether ``SELECT ... FOR UPDATE`` is needed (SQLite transactions already hold the lock)."""
    return session.get_bind().dialect.name != "sqlite"


# --------------------------------------------------------------------------- accounts


class AccountRepository:
    """Known wallets by checksummed address."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, address: str) -> Account | None:
        return self.session.scalar(select(Account).where(Account.address == address))

    def ensure(self, address: str, *, now_ms: int, name: str | None = None) -> Account:
        """The account of ``address``, created if missing (``name`` set when given)."""
        account = self.get(address)
        if account is None:
            account = Account(address=address, name=name, created_at=now_ms)
            self.session.add(account)
            self.session.flush()
        elif name is not None and account.name != name:
            account.name = name
        return account

    def all(self) -> list[Account]:
        return list(self.session.scalars(select(Account).order_by(Account.id)))


# --------------------------------------------------------------------------- items


@dataclass(frozen=True)
class NewItem:
    """An item to store: CID of its content, kind, inline text, image size, byte size, meta."""

    cid: str
    kind: ItemKind
    size: int
    text: str | None = None
    width: int | None = None
    height: int | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)


def item_context(item: Item) -> ItemContext:
    """What answer validation needs to know of a stored item."""
    return ItemContext(ItemKind(item.kind), item.text_length, item.width, item.height)


# Column order and PostgreSQL array types of the unnest insert of items.
_ITEM_ARRAYS = (
    ("cid", "varchar"),
    ("kind", "varchar"),
    ("text", "text"),
    ("text_length", "integer"),
    ("width", "integer"),
    ("height", "integer"),
    ("size", "bigint"),
    ("meta", "json"),
    ("created_at", "bigint"),
)


class ItemRepository:
    """Content-addressed items; adding an existing CID is a no-op (duplicates collapse)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def existing(self, cids: Sequence[str]) -> set[str]:
        """Which of ``cids`` are stored."""
        found: set[str] = set()
        connection = self.session.connection()
        for part in chunked(list(cids), BIG_CHUNK):
            found.update(connection.execute(select(Item.cid).where(Item.cid.in_(part))).scalars())
        return found

    def add_many(self, items: Iterable[NewItem], *, now_ms: int) -> int:
        """Store the items not yet stored; return how many were new.

        Repeated CIDs (within ``items`` or already stored) are skipped, never an error.
        """
        unique: dict[str, NewItem] = {}
        for item in items:
            unique.setdefault(item.cid, item)
        if not unique:
            return 0
        rows = [
            {
                "cid": item.cid,
                "kind": str(item.kind),
                "text": item.text,
                "text_length": None if item.text is None else len(item.text),
                "width": item.width,
                "height": item.height,
                "size": item.size,
                "meta": dict(item.meta),
                "created_at": now_ms,
            }
            for item in unique.values()
        ]
        if self.session.get_bind().dialect.name == "postgresql":
            return sum(self._insert_unnest(part) for part in chunked(rows, BIG_CHUNK))
        return self._insert_sqlite(rows)

    def _insert_sqlite(self, rows: Sequence[Mapping[str, Any]]) -> int:
        # Plain tuples through the driver's executemany (the bulk import path); SQLite reports
        # the rows it really inserted, conflicts skipped.
        columns = [name for name, _ in _ITEM_ARRAYS]
        sql = (
            f"INSERT INTO items ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
            "ON CONFLICT (cid) DO NOTHING"
        )
        connection = self.session.connection()
        inserted = 0
        for part in chunked(rows, BIG_CHUNK):
            values = [
                tuple(json.dumps(row[name]) if name == "meta" else row[name] for name in columns)
                for row in part
            ]
            inserted += _rowcount(connection.exec_driver_sql(sql, values))
        return inserted

    def _insert_unnest(self, rows: Sequence[Mapping[str, Any]]) -> int:
        columns = [name for name, _ in _ITEM_ARRAYS]
        arrays = [[row[name] for row in rows] for name in columns]
        meta_at = columns.index("meta")
        arrays[meta_at] = [json.dumps(meta) for meta in arrays[meta_at]]
        casts = ", ".join(f"%s::{sql_type}[]" for _, sql_type in _ITEM_ARRAYS)
        inserted = self.session.connection().exec_driver_sql(
            f"INSERT INTO items ({', '.join(columns)}) SELECT * FROM unnest({casts}) "
            "ON CONFLICT (cid) DO NOTHING RETURNING cid",
            tuple(arrays),
        )
        return len(inserted.all())

    def get(self, cid: str) -> Item | None:
        return self.session.get(Item, cid)

    def contexts(self, cids: Sequence[str]) -> dict[str, ItemContext]:
        """What answer validation needs of each stored item among ``cids``, by CID."""
        found: dict[str, ItemContext] = {}
        connection = self.session.connection()
        for part in chunked(list(cids), BIG_CHUNK):
            rows = connection.execute(
                select(Item.cid, Item.kind, Item.text_length, Item.width, Item.height).where(
                    Item.cid.in_(part)
                )
            )
            for cid, kind, length, width, height in rows:
                found[cid] = ItemContext(ItemKind(kind), length, width, height)
        return found

    def get_many(self, cids: Sequence[str]) -> dict[str, Item]:
        """The stored items among ``cids``, by CID."""
        found: dict[str, Item] = {}
        for part in chunked(list(cids)):
            for item in self.session.scalars(select(Item).where(Item.cid.in_(part))):
                found[item.cid] = item
        return found


# --------------------------------------------------------------------------- datasets


class DatasetRepository:
    """Datasets: a card, a manifest CID and an ordered list of item CIDs."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def create(
        self,
        *,
        manifest_cid: str,
        card: Mapping[str, Any],
        item_cids: Sequence[str],
        now_ms: int,
        owner: str | None = None,
    ) -> Dataset:
        """Store a dataset over already stored items, in the given order.

        ``Conflict`` if the manifest is already stored, ``InvalidInput`` if the list is empty or
        repeats a CID, ``NotFound`` if an item is not stored.
        """
        if not item_cids:
            raise InvalidInput("items", "the dataset is empty", "import at least one item")
        if len(set(item_cids)) != len(item_cids):
            raise InvalidInput("items", "a CID appears twice", "list each item once")
        if self.by_manifest(manifest_cid) is not None:
            raise Conflict(f"dataset {manifest_cid}: already stored")
        dataset = Dataset(
            manifest_cid=manifest_cid,
            title=str(card.get("title", "")),
            card=dict(card),
            owner=owner,
            item_count=len(item_cids),
            created_at=now_ms,
        )
        self.session.add(dataset)
        self.session.flush()
        rows = [
            {"dataset_id": dataset.id, "position": position, "item_cid": cid}
            for position, cid in enumerate(item_cids)
        ]
        try:
            with self.session.begin_nested():
                _bulk_insert(self.session, DatasetItem, rows)
        except IntegrityError:
            # the foreign key refused an item that is not stored; name it
            missing = set(item_cids) - ItemRepository(self.session).existing(item_cids)
            first = sorted(missing)[0] if missing else "?"
            raise NotFound(f"item {first}: not stored (store items before the dataset)") from None
        return dataset

    def by_manifest(self, manifest_cid: str) -> Dataset | None:
        return self.session.scalar(select(Dataset).where(Dataset.manifest_cid == manifest_cid))

    def get(self, dataset_id: int) -> Dataset | None:
        return self.session.get(Dataset, dataset_id)

    def all(self) -> list[Dataset]:
        return list(self.session.scalars(select(Dataset).order_by(Dataset.id)))

    def item_cids(self, dataset_id: int) -> list[str]:
        """The dataset's item CIDs in order."""
        return list(
            self.session.scalars(
                select(DatasetItem.item_cid)
                .where(DatasetItem.dataset_id == dataset_id)
                .order_by(DatasetItem.position)
            )
        )


# --------------------------------------------------------------------------- tasks


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

    def free(self) -> int | None:
        """Slots not answered nor reserved (None: unlimited)."""
        return None if self.capacity is None else self.capacity - self.answers - self.reserved


_TASK_ITEMS = cast(Table, TaskItem.__table__)
_CAPACITY_LEFT = or_(
    TaskItem.capacity.is_(None), TaskItem.answers + TaskItem.reserved < TaskItem.capacity
)


class TaskRepository:
    """Tasks, their items (with answer counts) and gold answers."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def by_task_id(self, task_id: bytes) -> Task | None:
        return self.session.scalar(select(Task).where(Task.task_id == task_id))

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
        _bulk_insert(self.session, TaskItem, rows)

    def set_gold_answers(self, task_pk: int, answers: Mapping[str, str]) -> None:
        """Store gold answers (canonical JSON text) by item CID."""
        rows = [
            {"task_pk": task_pk, "item_cid": cid, "answer": text} for cid, text in answers.items()
        ]
        _bulk_insert(self.session, GoldAnswer, rows)

    def gold_answers(self, task_pk: int) -> dict[str, Any]:
        """The gold answers of the task by item CID, decoded from their canonical JSON."""
        rows = self.session.execute(
            select(GoldAnswer.item_cid, GoldAnswer.answer).where(GoldAnswer.task_pk == task_pk)
        )
        return {cid: json.loads(text) for cid, text in rows}

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
        return _rowcount(result) > 0

    def lock_status(self, task_pks: Sequence[int]) -> dict[int, str]:
        """The tasks' statuses, share-locked (PostgreSQL) until the transaction ends."""
        query = select(Task.id, Task.status).where(Task.id.in_(list(task_pks))).order_by(Task.id)
        if _locks_rows(self.session):
            query = query.with_for_update(read=True)
        return {task_pk: status for task_pk, status in self.session.execute(query)}

    def slots(
        self, task_pk: int, item_cids: Sequence[str], *, lock: bool = False
    ) -> dict[str, Slot]:
        """The task items for ``item_cids`` with their item context, by CID.

        With ``lock`` the rows are locked (PostgreSQL ``FOR UPDATE``, in id order, so two
        transactions never wait on each other in a cycle) until the transaction ends.
        """
        found: dict[str, Slot] = {}
        for part in chunked(sorted(set(item_cids))):
            query = (
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
                )
                .join(Item, Item.cid == TaskItem.item_cid)
                .where(TaskItem.task_pk == task_pk, TaskItem.item_cid.in_(part))
                .order_by(TaskItem.id)
            )
            if lock and _locks_rows(self.session):
                query = query.with_for_update(of=TaskItem)
            for row in self.session.execute(query):
                found[row[1]] = Slot(
                    task_item_id=row[0],
                    item_cid=row[1],
                    is_gold=row[2],
                    capacity=row[3],
                    answers=row[4],
                    reserved=row[5],
                    context=ItemContext(ItemKind(row[6]), row[7], row[8], row[9]),
                )
        return found

    def lock_items(self, task_item_ids: Sequence[int]) -> None:
        """Lock task item rows (PostgreSQL ``FOR UPDATE``, in id order) until the transaction
        ends. Every path that changes both task items and assignments locks the task items
        first, so concurrent transactions never deadlock.
        """
        if not _locks_rows(self.session):
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
            .where(TaskItem.id == task_item_id, _CAPACITY_LEFT)
            .values(reserved=TaskItem.reserved + 1)
        )
        return _rowcount(result) == 1

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
                .where(TaskItem.id == task_item_id, _CAPACITY_LEFT)
                .values(answers=TaskItem.answers + 1)
            )
        return _rowcount(self.session.execute(statement)) == 1

    def add_answers(self, changes: Mapping[int, tuple[int, int]]) -> None:
        """Apply ``{task_item_id: (answers_added, reservations_consumed)}`` in one statement.

        Each row update is conditional on staying within capacity; the CHECK constraint backs
        it. ``Conflict`` if any row would overflow (the caller rolls back).
        """
        if not changes:
            return
        table = _TASK_ITEMS
        statement = (
            update(table)
            .where(
                table.c.id == bindparam("b_id"),
                or_(
                    table.c.capacity.is_(None),
                    table.c.answers + bindparam("b_n") + table.c.reserved - bindparam("b_r")
                    <= table.c.capacity,
                ),
                table.c.reserved >= bindparam("b_r"),
            )
            .values(
                answers=table.c.answers + bindparam("b_n"),
                reserved=table.c.reserved - bindparam("b_r"),
            )
        )
        params = [
            {"b_id": item_id, "b_n": added, "b_r": consumed}
            for item_id, (added, consumed) in sorted(changes.items())
        ]
        result = self.session.connection().execute(statement, params)
        if _rowcount(result) not in (-1, len(params)):
            raise Conflict("item: answer count changed concurrently (retry)")

    def release(self, counts: Mapping[int, int]) -> None:
        """Give back ``{task_item_id: n}`` held slots."""
        if not counts:
            return
        table = _TASK_ITEMS
        statement = (
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values(reserved=table.c.reserved - bindparam("b_n"))
        )
        self.session.connection().execute(
            statement, [{"b_id": key, "b_n": n} for key, n in sorted(counts.items())]
        )


# --------------------------------------------------------------------------- assignments


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
        base = (TaskItem.task_pk == task_pk, TaskItem.is_gold == gold, _CAPACITY_LEFT)
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


# --------------------------------------------------------------------------- submissions


@dataclass(frozen=True)
class SubmissionColumns:
    """All accepted submissions of a task as parallel columns, in acceptance order.

    ``answers`` holds the canonical JSON text of each answer (decode with ``json.loads``; hash
    with keccak-256 to recompute the signed ``answerHash``).
    """

    ids: list[int]
    item_cids: list[str]
    contributors: list[str]
    answers: list[str]
    answer_hashes: list[bytes]
    signatures: list[bytes]
    nonces: list[int]
    durations_ms: list[int]
    accepted_at: list[int]

    def __len__(self) -> int:
        return len(self.ids)

    def decoded_answers(self) -> list[Any]:
        """The answers as JSON values."""
        return [json.loads(text) for text in self.answers]


# Column order and PostgreSQL array types of the unnest insert.
_SUBMISSION_ARRAYS = (
    ("task_pk", "integer"),
    ("task_item_id", "integer"),
    ("item_cid", "varchar"),
    ("contributor", "varchar"),
    ("answer", "text"),
    ("answer_hash", "bytea"),
    ("nonce", "bigint"),
    ("duration_ms", "bigint"),
    ("signature", "bytea"),
    ("accepted_at", "bigint"),
)


class SubmissionRepository:
    """Accepted submissions (rejected ones are never stored)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def _on_postgres(self) -> bool:
        return self.session.get_bind().dialect.name == "postgresql"

    def insert_many(self, rows: Sequence[Mapping[str, Any]]) -> list[int]:
        """Insert submission rows (column names as in ``Submission``); their ids, in order.

        On PostgreSQL the rows travel as one array per column (``INSERT ... SELECT FROM
        unnest``): one short statement whatever the batch size.
        """
        if not rows:
            return []
        if self._on_postgres():
            return self._insert_unnest(rows)
        return self._insert_sqlite(rows)

    def _insert_sqlite(self, rows: Sequence[Mapping[str, Any]]) -> list[int]:
        # One executemany (RETURNING would insert row by row), then read the new ids back: the
        # transaction holds SQLite's write lock, so every id above the previous maximum is ours.
        connection = self.session.connection()
        table = cast(Table, Submission.__table__)
        before = connection.execute(select(func.max(table.c.id))).scalar() or 0
        connection.execute(insert(table), list(rows))
        returned = connection.execute(
            select(table.c.id, table.c.task_item_id, table.c.contributor).where(table.c.id > before)
        ).all()
        ids = {(item_id, contributor): row_id for row_id, item_id, contributor in returned}
        return [ids[(row["task_item_id"], row["contributor"])] for row in rows]

    def _insert_unnest(self, rows: Sequence[Mapping[str, Any]]) -> list[int]:
        columns = [name for name, _ in _SUBMISSION_ARRAYS]
        arrays = [[row[name] for row in rows] for name in columns]
        nonce_at = columns.index("nonce")
        # raw SQL bypasses the Uint64 column type, so nonces are shifted here as it would
        arrays[nonce_at] = [nonce - UINT64_OFFSET for nonce in arrays[nonce_at]]
        casts = ", ".join(f"%s::{sql_type}[]" for _, sql_type in _SUBMISSION_ARRAYS)
        sql = (
            f"INSERT INTO submissions ({', '.join(columns)}) "
            f"SELECT * FROM unnest({casts}) "
            "RETURNING id, task_item_id, contributor"
        )
        returned = self.session.connection().exec_driver_sql(sql, tuple(arrays)).all()
        ids = {(item_id, contributor): row_id for row_id, item_id, contributor in returned}
        return [ids[(row["task_item_id"], row["contributor"])] for row in rows]

    def used_nonces(self, task_pk: int, pairs: Sequence[tuple[str, int]]) -> set[tuple[str, int]]:
        """Which ``(contributor, nonce)`` pairs the task already has a submission for.

        The pairs travel as one parameter (PostgreSQL arrays, a SQLite JSON array), joined
        against the ``(task_pk, contributor, nonce)`` unique index.
        """
        unique = sorted(set(pairs))
        if not unique:
            return set()
        connection = self.session.connection()
        if self._on_postgres():
            rows = connection.exec_driver_sql(
                "SELECT s.contributor, s.nonce FROM submissions s "
                "JOIN unnest(%s::varchar[], %s::bigint[]) AS k(c, n) "
                "ON s.contributor = k.c AND s.nonce = k.n WHERE s.task_pk = %s",
                (
                    [contributor for contributor, _ in unique],
                    [nonce - UINT64_OFFSET for _, nonce in unique],
                    task_pk,
                ),
            )
        else:
            rows = connection.exec_driver_sql(
                # CROSS JOIN keeps the JSON list as the outer loop: one index probe per pair
                "SELECT s.contributor, s.nonce FROM json_each(?) AS k "
                "CROSS JOIN submissions s WHERE s.task_pk = ? "
                "AND s.contributor = json_extract(k.value, '$[0]') "
                "AND s.nonce = json_extract(k.value, '$[1]')",
                (json.dumps([[c, nonce - UINT64_OFFSET] for c, nonce in unique]), task_pk),
            )
        # raw SQL bypasses the Uint64 column type: shift the nonces back
        return {(contributor, nonce + UINT64_OFFSET) for contributor, nonce in rows}

    def answered(self, pairs: Sequence[tuple[int, str]]) -> set[tuple[int, str]]:
        """Which ``(task_item_id, contributor)`` pairs already have a submission (one
        parameter, joined against the ``(task_item_id, contributor)`` unique index)."""
        unique = sorted(set(pairs))
        if not unique:
            return set()
        connection = self.session.connection()
        if self._on_postgres():
            rows = connection.exec_driver_sql(
                "SELECT s.task_item_id, s.contributor FROM submissions s "
                "JOIN unnest(%s::integer[], %s::varchar[]) AS k(i, c) "
                "ON s.task_item_id = k.i AND s.contributor = k.c",
                ([item_id for item_id, _ in unique], [contributor for _, contributor in unique]),
            )
        else:
            rows = connection.exec_driver_sql(
                "SELECT s.task_item_id, s.contributor FROM json_each(?) AS k "
                "CROSS JOIN submissions s WHERE s.task_item_id = json_extract(k.value, '$[0]') "
                "AND s.contributor = json_extract(k.value, '$[1]')",
                (json.dumps([list(pair) for pair in unique]),),
            )
        return {(item_id, contributor) for item_id, contributor in rows}

    def count(self, task_pk: int) -> int:
        return int(
            self.session.scalar(select(func.count()).where(Submission.task_pk == task_pk)) or 0
        )

    def get(self, submission_id: int) -> Submission | None:
        return self.session.get(Submission, submission_id)

    def columns(self, task_pk: int) -> SubmissionColumns:
        """Every accepted submission of the task as columns (one query, no ORM objects)."""
        rows = self.session.execute(
            select(
                Submission.id,
                Submission.item_cid,
                Submission.contributor,
                Submission.answer,
                Submission.answer_hash,
                Submission.signature,
                Submission.nonce,
                Submission.duration_ms,
                Submission.accepted_at,
            )
            .where(Submission.task_pk == task_pk)
            .order_by(Submission.id)
        ).all()
        columns: list[list[Any]] = [list(column) for column in zip(*rows, strict=True)] or [
            [] for _ in range(9)
        ]
        return SubmissionColumns(*columns)


# --------------------------------------------------------------------------- reviews


class ReviewRepository:
    """Reviews of submissions: a verdict (accept/reject), a rating (1-5), or both."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(
        self,
        *,
        submission_id: int,
        reviewer: str,
        now_ms: int,
        verdict: str | None = None,
        rating: int | None = None,
        signature: bytes | None = None,
    ) -> Review:
        """Store one review. ``InvalidInput`` for a bad verdict/rating/signature,
        ``NotFound`` for an unknown submission, ``Conflict`` if the reviewer already reviewed it.
        """
        if verdict is None and rating is None:
            raise InvalidInput("verdict", "a review needs a verdict or a rating", "give one")
        if verdict is not None and verdict not in (VERDICT_ACCEPT, VERDICT_REJECT):
            raise InvalidInput("verdict", f"unknown verdict {verdict!r}", "use accept or reject")
        if rating is not None and (
            isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5
        ):
            raise InvalidInput("rating", f"must be an integer 1..5, got {rating!r}")
        if signature is not None and len(signature) != 65:
            raise InvalidInput("signature", "must be 65 bytes (r, s, v)")
        if self.session.get(Submission, submission_id) is None:
            raise NotFound(f"submission {submission_id}: no such submission")
        existing = self.session.scalar(
            select(Review.id).where(
                Review.submission_id == submission_id, Review.reviewer == reviewer
            )
        )
        if existing is not None:
            raise Conflict(f"review: {reviewer} already reviewed submission {submission_id}")
        review = Review(
            submission_id=submission_id,
            reviewer=reviewer,
            verdict=verdict,
            rating=rating,
            signature=signature,
            created_at=now_ms,
        )
        self.session.add(review)
        self.session.flush()
        return review

    def for_submission(self, submission_id: int) -> list[Review]:
        return list(
            self.session.scalars(
                select(Review).where(Review.submission_id == submission_id).order_by(Review.id)
            )
        )

    def for_task(self, task_pk: int) -> list[Review]:
        """Every review of the task's submissions, in order."""
        return list(
            self.session.scalars(
                select(Review)
                .join(Submission, Submission.id == Review.submission_id)
                .where(Submission.task_pk == task_pk)
                .order_by(Review.id)
            )
        )
