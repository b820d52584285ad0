"""The marketplace's totals: deposited, paid to contributors, fees, refunded, still held.

Inputs: an open ``Session`` and the escrow client. Per funded task the escrow's own books give
``deposited`` and ``unallocated`` (:class:`datafair.chain.escrow.TaskState`); the posted epochs
stored by settlement give what was allocated to contributors (``total``) and the fee. The rest
of a deposit that is neither allocated nor still unallocated was refunded to the requester:
``refunded = deposited - paid - fee - unallocated``, the escrow's conservation rule read
backwards (deposits = paid + fees + refunded + still held).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datafair.chain.escrow import EscrowClient
from datafair.store.models import Task
from datafair.store.settlement_models import Settlement, TaskFunding

POSTED_STATES = ("posted", "done")


@dataclass(frozen=True)
class MarketTotals:
    tasks_funded: int
    deposited: int
    paid_to_contributors: int
    fees: int
    refunded: int
    unallocated: int


def market_totals(session: Session, escrow: EscrowClient) -> MarketTotals:
    """Sum the books of every task this node funded on ``escrow``."""
    funded = session.execute(
        select(Task.task_id)
        .join(TaskFunding, TaskFunding.task_pk == Task.id)
        .where(TaskFunding.escrow == escrow.address)
    ).all()
    allocated = dict(
        session.execute(
            select(Settlement.task_pk, func.coalesce(func.sum(Settlement.total), 0))
            .where(Settlement.state.in_(POSTED_STATES))
            .group_by(Settlement.task_pk)
        ).all()
    )
    fees = dict(
        session.execute(
            select(Settlement.task_pk, func.coalesce(func.sum(Settlement.fee), 0))
            .where(Settlement.state.in_(POSTED_STATES))
            .group_by(Settlement.task_pk)
        ).all()
    )
    pks = dict(session.execute(select(Task.task_id, Task.id)).all())
    deposited = paid = fee = refunded = unallocated = 0
    for (task_id,) in funded:
        state = escrow.task(task_id)
        if not state.exists:
            continue
        task_pk = pks[task_id]
        task_paid, task_fee = int(allocated.get(task_pk) or 0), int(fees.get(task_pk) or 0)
        deposited += state.deposited
        paid += task_paid
        fee += task_fee
        unallocated += state.unallocated
        refunded += max(state.deposited - task_paid - task_fee - state.unallocated, 0)
    return MarketTotals(len(funded), deposited, paid, fee, refunded, unallocated)
