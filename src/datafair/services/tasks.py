"""Task use cases: create a labelling task over a stored dataset, look it up, close it.

Inputs: an open SQLAlchemy ``Session`` (write use cases commit it, or roll it back and raise a
``DatafairError`` leaving nothing stored), a ``TaskSpec``, gold answers by item CID, and a clock
(a function returning Unix seconds, ``time.time`` by default; tests pass their own).

A task holds every item of its dataset, in dataset order. Gold items are items of the dataset
whose answers the requester knows: their answers are validated and canonicalised like any
answer, stored apart (``gold_answers``) and never handed to contributors. Ordinary items take k
(= ``spec.overlap``) answers each; a gold item takes at most ``gold_overlap`` answers, or any
number (each contributor once) when ``gold_overlap`` is None.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from datafair.core.canonical import canonical_json
from datafair.core.collection import DEFAULT_ROYALTY_FLOOR_BPS, royalty_bps
from datafair.core.errors import Conflict, InvalidInput, NotFound
from datafair.core.ids import checksum_address, parse_task_id
from datafair.core.schemas import TaskType
from datafair.core.task import MAX_OVERLAP, TaskSpec
from datafair.core.terms import task_budget, task_deadline
from datafair.store.models import TASK_CLOSED, Task
from datafair.store.repositories import DatasetRepository, ItemRepository, TaskRepository

Clock = Callable[[], float]


def now_ms(clock: Clock) -> int:
    """The clock's time in Unix milliseconds."""
    return int(clock() * 1000)


@dataclass(frozen=True)
class TaskInfo:
    """A stored task: its id, spec, dataset, status and times (Unix ms)."""

    task_id: bytes
    spec: TaskSpec
    dataset_cid: str
    status: str
    requester: str | None
    created_at: int
    closed_at: int | None

    @property
    def task_id_hex(self) -> str:
        return "0x" + self.task_id.hex()

    def is_open_at(self, unix_seconds: float) -> bool:
        """Open and (if it has a deadline) not past it."""
        return self.status != TASK_CLOSED and not deadline_passed(self.spec.deadline, unix_seconds)


@dataclass(frozen=True)
class TaskProgress:
    """How far the labelling of a task is: items, gold items, answers, held slots, full items."""

    items: int
    gold_items: int
    answers: int
    reserved: int
    full_items: int


def deadline_passed(deadline: int, unix_seconds: float) -> bool:
    """Whether ``deadline`` (Unix seconds; 0 means none) is at or before ``unix_seconds``."""
    return deadline > 0 and unix_seconds >= deadline


def task_info(task: Task, dataset_cid: str) -> TaskInfo:
    return TaskInfo(
        task_id=task.task_id,
        spec=TaskSpec.from_dict(task.spec),
        dataset_cid=dataset_cid,
        status=task.status,
        requester=task.requester,
        created_at=task.created_at,
        closed_at=task.closed_at,
    )


def load_task(session: Session, task_id: bytes | str) -> Task:
    """The stored task row; ``InvalidInput`` for a malformed id, ``NotFound`` if unknown."""
    raw = parse_task_id(task_id)
    task = TaskRepository(session).by_task_id(raw)
    if task is None:
        raise NotFound(f"task_id: no task 0x{raw.hex()} (list tasks with `datafair task list`)")
    return task


def create_task(
    session: Session,
    spec: TaskSpec,
    *,
    gold: Mapping[str, Any] | None = None,
    gold_overlap: int | None = None,
    requester: str | None = None,
    clock: Clock = time.time,
    gold_seed: bytes | None = None,
    royalty_floor_bps: int = DEFAULT_ROYALTY_FLOOR_BPS,
) -> TaskInfo:
    """Store a task over the dataset ``spec.dataset_cid`` and commit; its ``TaskInfo``.

    The spec's royalty promise (``extra.royalty_bps``, default 30 %) must be at least
    ``royalty_floor_bps`` (:func:`datafair.core.collection.royalty_bps`).

    ``gold`` maps item CIDs of the dataset to their known answers. ``gold_seed`` (32 bytes,
    random by default) drives the gold mix of assignments; pass one for reproducible runs.
    Raises ``NotFound`` (unknown dataset), ``Conflict`` (same spec already stored) or
    ``InvalidInput`` (items the schema cannot label, bad gold answers, gold ratio without gold,
    a deadline not in the next ten years, a budget ``price × items × k`` above 2**256-1: see
    :mod:`datafair.core.terms`).
    """
    try:
        royalty_bps(spec.extra, royalty_floor_bps)
        info = _create_task(
            session, spec, dict(gold or {}), gold_overlap, requester, clock, gold_seed
        )
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return info


def _create_task(
    session: Session,
    spec: TaskSpec,
    gold: dict[str, Any],
    gold_overlap: int | None,
    requester: str | None,
    clock: Clock,
    gold_seed: bytes | None,
) -> TaskInfo:
    if gold_overlap is not None and (
        isinstance(gold_overlap, bool) or not 1 <= gold_overlap <= 1_000_000
    ):
        raise InvalidInput("gold_overlap", "must be a positive integer or None (no limit)")
    if gold_seed is None:
        gold_seed = os.urandom(32)
    if len(gold_seed) != 32:
        raise InvalidInput("gold_seed", "must be 32 bytes")
    if spec.overlap > MAX_OVERLAP:
        raise InvalidInput("overlap", f"must be at most {MAX_OVERLAP}")
    task_deadline(spec.deadline, clock())
    # settlement terms are checked now, so a task that could never be paid is never funded
    # (imported here: the settlement package imports this module)
    from datafair.services.settlement.bundle import task_settings

    if spec.task_type is TaskType.COLLECTION:
        raise InvalidInput(
            "task_type",
            "a collection task gathers new items, not labels of a dataset",
            "create it with `datafair collect create`",
        )
    task_settings(spec)
    requester_address = checksum_address(requester, "requester") if requester else None
    datasets = DatasetRepository(session)
    dataset = datasets.by_manifest(spec.dataset_cid)
    if dataset is None:
        raise NotFound(
            f"dataset_cid: no dataset {spec.dataset_cid} "
            "(import one with `datafair dataset import`)"
        )
    tasks = TaskRepository(session)
    task_id = spec.task_id
    if tasks.by_task_id(task_id) is not None:
        raise Conflict(f"task 0x{task_id.hex()}: already exists (change the spec or its salt)")
    item_cids = datasets.item_cids(dataset.id)
    task_budget(spec.price_per_answer, len(item_cids), spec.overlap)
    items = ItemRepository(session).contexts(item_cids)
    schema = spec.schema
    for cid in item_cids:
        context = items[cid]
        if not schema.accepts(context.kind):
            raise InvalidInput(
                "dataset",
                f"item {cid} is {context.kind}; a {schema.task_type} task cannot label it",
                "choose a task type for this dataset's modality",
            )
    gold_json: dict[str, str] = {}
    for cid, answer in gold.items():
        if cid not in items:
            raise InvalidInput(f"gold[{cid}]", "is not an item of the dataset", "use item CIDs")
        try:
            canonical = schema.validate(answer, items[cid])
        except InvalidInput as error:
            raise InvalidInput(f"gold[{cid}]", error.problem, error.fix) from None
        gold_json[cid] = canonical_json(canonical).decode("utf-8")
    if spec.gold_ratio > 0 and not gold_json:
        raise InvalidInput(
            "gold",
            f"gold_ratio is {spec.gold_ratio} but no gold answers were given",
            "give gold answers or set gold_ratio to 0",
        )
    if len(gold_json) == len(item_cids):
        raise InvalidInput("gold", "every item is gold", "leave items without known answers")
    spec.assignment_rules()
    created = now_ms(clock)
    task = tasks.add(
        Task(
            task_id=task_id,
            dataset_id=dataset.id,
            spec=spec.to_dict(),
            task_type=str(spec.task_type),
            overlap=spec.overlap,
            gold_ratio=spec.gold_ratio,
            chain_id=spec.chain_id,
            deadline=spec.deadline,
            status="open",
            requester=requester_address,
            gold_seed=gold_seed,
            created_at=created,
        )
    )
    tasks.add_items(
        task.id, item_cids, gold=set(gold_json), capacity=spec.overlap, gold_capacity=gold_overlap
    )
    tasks.set_gold_answers(task.id, gold_json)
    session.flush()
    return task_info(task, dataset.manifest_cid)


def get_task(session: Session, task_id: bytes | str) -> TaskInfo:
    """The task ``task_id`` (bytes or hex); ``NotFound`` if unknown."""
    task = load_task(session, task_id)
    dataset = DatasetRepository(session).get(task.dataset_id)
    assert dataset is not None
    return task_info(task, dataset.manifest_cid)


def list_tasks(session: Session) -> list[TaskInfo]:
    """Every stored task, oldest first."""
    datasets = {dataset.id: dataset.manifest_cid for dataset in DatasetRepository(session).all()}
    return [task_info(task, datasets[task.dataset_id]) for task in TaskRepository(session).all()]


def close_task(session: Session, task_id: bytes | str, *, clock: Clock = time.time) -> TaskInfo:
    """Close an open task (no more assignments nor submissions) and commit.

    ``Conflict`` if it is already closed.
    """
    try:
        task = load_task(session, task_id)
        if not TaskRepository(session).set_status(task.id, TASK_CLOSED, now_ms=now_ms(clock)):
            raise Conflict(f"task 0x{task.task_id.hex()}: already closed")
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return get_task(session, task_id)


def task_progress(session: Session, task_id: bytes | str) -> TaskProgress:
    """Counts of the task's items, answers and held slots."""
    task = load_task(session, task_id)
    return TaskProgress(**TaskRepository(session).counts(task.id))


def gold_answers(session: Session, task_id: bytes | str) -> dict[str, Any]:
    """The task's gold answers (canonical values) by item CID: for inference and audit only."""
    task = load_task(session, task_id)
    return TaskRepository(session).gold_answers(task.id)


__all__ = [
    "Clock",
    "TaskInfo",
    "TaskProgress",
    "checksum_address",
    "close_task",
    "create_task",
    "deadline_passed",
    "get_task",
    "gold_answers",
    "list_tasks",
    "load_task",
    "now_ms",
    "parse_task_id",
    "task_progress",
]
