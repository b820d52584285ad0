"""Reputation: pooled evidence per (contributor, task type) and each contributor's standing
(evidence share and pause) on each task.

Inputs: an open ``Session``; callers own the transaction (repositories never commit). Reads
with ``lock=True`` take a row lock on PostgreSQL (``SELECT ... FOR UPDATE``); SQLite's
transactions already hold the write lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, select, text
from sqlalchemy.orm import Session

from datafair.store.repositories._common import locks_rows
from datafair.store.reputation_models import ContributorReputation, TaskStanding

_PAUSED = text("SELECT paused FROM task_standings WHERE task_pk = :task AND contributor = :who")


# built once: every eligibility check of a task runs it
_PAUSED_ON_TASK = (
    select(TaskStanding.contributor, TaskStanding.reason)
    .where(TaskStanding.task_pk == bindparam("task_pk"), TaskStanding.paused.is_(True))
    .order_by(TaskStanding.contributor)
)


class ReputationRepository:
    """Rows of ``reputations`` and ``task_standings``."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def _get(self, model: type[Any], key: tuple[Any, ...], lock: bool) -> Any:
        if lock and locks_rows(self.session):
            return self.session.get(model, key, with_for_update=True)
        return self.session.get(model, key)

    def pooled(
        self, contributor: str, task_type: str, *, lock: bool = False
    ) -> ContributorReputation | None:
        """The contributor's pooled record on a task type (``contributor`` checksummed)."""
        row: ContributorReputation | None = self._get(
            ContributorReputation, (contributor, task_type), lock
        )
        return row

    def pooled_for_type(
        self, task_type: str, contributors: Sequence[str] | None = None
    ) -> list[ContributorReputation]:
        """Every record on a task type, or those of ``contributors`` only."""
        query = select(ContributorReputation).where(ContributorReputation.task_type == task_type)
        if contributors is not None:
            query = query.where(ContributorReputation.contributor.in_(list(contributors)))
        return list(self.session.scalars(query))

    def standing(
        self, task_pk: int, contributor: str, *, lock: bool = False
    ) -> TaskStanding | None:
        """The contributor's standing on a task (``None``: never recorded)."""
        row: TaskStanding | None = self._get(TaskStanding, (task_pk, contributor), lock)
        return row

    def is_paused(self, task_pk: int, contributor: str) -> bool:
        """Whether the contributor is paused on the task (one primary-key probe)."""
        found = (
            self.session.connection()
            .execute(_PAUSED, {"task": task_pk, "who": contributor})
            .scalar()
        )
        return bool(found)

    def paused(self, task_pk: int) -> dict[str, str | None]:
        """The contributors paused on the task, with the reason, by address."""
        rows = self.session.connection().execute(_PAUSED_ON_TASK, {"task_pk": task_pk})
        return {contributor: reason for contributor, reason in rows}

    def add(self, row: ContributorReputation | TaskStanding) -> None:
        """Stage a new row (flushed with the session)."""
        self.session.add(row)
