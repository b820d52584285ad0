"""Settlement: escrow fundings, epochs (the persisted state machine) and payout leaves.

Inputs: an open ``Session``; callers own the transaction (repositories never commit). Amounts
are Python integers (stored as decimal text, :class:`~datafair.store.base.Amount`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from datafair.store.models import Task
from datafair.store.settlement_models import PayoutLeaf, Settlement, TaskFunding

POSTED_STATES = ("posted", "done")
"""Epoch states whose root is on chain (its leaves can be claimed)."""


class SettlementRepository:
    """Rows of ``task_fundings``, ``settlements`` and ``payout_leaves``."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # -- fundings ----------------------------------------------------------------------------------

    def funding(self, task_pk: int) -> TaskFunding | None:
        """The task's funding row (gold salt, commitment, token), if this node funded it."""
        return self.session.get(TaskFunding, task_pk)

    def add(self, row: TaskFunding | Settlement) -> None:
        """Stage a new funding or epoch row (flushed with the session)."""
        self.session.add(row)

    # -- epochs ------------------------------------------------------------------------------------

    def epochs(self, task_pk: int) -> list[Settlement]:
        """Every epoch of the task, in order."""
        query = select(Settlement).where(Settlement.task_pk == task_pk).order_by(Settlement.epoch)
        return list(self.session.scalars(query))

    def last_epoch(self, task_pk: int) -> int:
        """The task's highest epoch number (0 before the first)."""
        query = select(func.coalesce(func.max(Settlement.epoch), 0)).where(
            Settlement.task_pk == task_pk
        )
        return int(self.session.scalar(query) or 0)

    def previous(self, row: Settlement) -> Settlement | None:
        """The task's epoch just before ``row``."""
        return self.session.scalar(
            select(Settlement)
            .where(Settlement.task_pk == row.task_pk, Settlement.epoch < row.epoch)
            .order_by(Settlement.epoch.desc())
            .limit(1)
        )

    # -- leaves ------------------------------------------------------------------------------------

    def replace_leaves(self, settlement_id: int, leaves: Iterable[tuple[int, str, int]]) -> None:
        """Store the epoch's leaves ``(index, account, amount)``, replacing any stored before."""
        self.session.execute(delete(PayoutLeaf).where(PayoutLeaf.settlement_id == settlement_id))
        self.session.add_all(
            PayoutLeaf(settlement_id=settlement_id, leaf_index=i, account=account, amount=amount)
            for i, account, amount in leaves
        )

    def leaf_count(self, settlement_id: int) -> int:
        """How many leaves the epoch stored."""
        query = (
            select(func.count())
            .select_from(PayoutLeaf)
            .where(PayoutLeaf.settlement_id == settlement_id)
        )
        return int(self.session.scalar(query) or 0)

    def leaves_of(self, settlement_ids: Sequence[int]) -> dict[int, list[tuple[int, str, int]]]:
        """The leaves ``(index, account, amount)`` of each epoch, by settlement id, in order."""
        leaves: dict[int, list[tuple[int, str, int]]] = defaultdict(list)
        rows = self.session.execute(
            select(
                PayoutLeaf.settlement_id,
                PayoutLeaf.leaf_index,
                PayoutLeaf.account,
                PayoutLeaf.amount,
            )
            .where(PayoutLeaf.settlement_id.in_(list(settlement_ids)))
            .order_by(PayoutLeaf.settlement_id, PayoutLeaf.leaf_index)
        )
        for settlement_id, index, account, amount in rows:
            leaves[settlement_id].append((index, account, amount))
        return dict(leaves)

    def posted_leaves_of(
        self, account: str, escrow: str
    ) -> list[tuple[Settlement, bytes, int, int]]:
        """``(epoch row, task id, leaf index, amount)`` of the account's leaves in posted epochs
        on ``escrow``, by task, epoch and index."""
        rows = self.session.execute(
            select(Settlement, Task.task_id, PayoutLeaf.leaf_index, PayoutLeaf.amount)
            .join(PayoutLeaf, PayoutLeaf.settlement_id == Settlement.id)
            .join(Task, Task.id == Settlement.task_pk)
            .where(
                PayoutLeaf.account == account,
                Settlement.state.in_(POSTED_STATES),
                Settlement.escrow == escrow,
            )
            .order_by(Task.id, Settlement.epoch, PayoutLeaf.leaf_index)
        ).all()
        return [(row[0], bytes(row[1]), int(row[2]), int(row[3])) for row in rows]

    def posted_amounts(self, task_pk: int) -> dict[str, int]:
        """What each account was allotted by the task's posted epochs, summed."""
        rows = self.session.execute(
            select(PayoutLeaf.account, PayoutLeaf.amount)
            .join(Settlement, Settlement.id == PayoutLeaf.settlement_id)
            .where(Settlement.task_pk == task_pk, Settlement.state.in_(POSTED_STATES))
        )
        totals: dict[str, int] = defaultdict(int)
        for account, amount in rows:
            totals[account] += amount
        return dict(totals)


__all__ = ["POSTED_STATES", "SettlementRepository"]
