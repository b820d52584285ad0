"""SQLAlchemy models of settlement: escrow fundings, epochs (a persisted state machine), leaves.

Conventions are those of :mod:`datafair.store.base` (same ``Base``, times in Unix ms,
checksummed addresses). Token amounts can exceed 64 bits, so they are stored as decimal text
(``Amount``) and read back as Python integers: no floats and no dialect-specific numerics.

* ``task_fundings``: one row per funded task: the gold salt (private until the first
  settlement reveals it), the commitment the escrow stores, the token, the requester and the
  last funding transaction.
* ``settlements``: one row per task and epoch, moving through the states of
  :mod:`datafair.services.settlement.settle`; ``(task_pk, epoch)`` is unique, so one epoch can
  never get two bundles.
* ``payout_leaves``: the leaves ``(index, account, amount)`` of each epoch's Merkle tree, which
  ``datafair claim`` turns into proofs without reading the bundle.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from datafair.store.base import ADDRESS_LEN, CID_LEN, Amount, Base

TX_HASH_LEN = 66

SETTLEMENT_STATES = ("open", "bundled", "tree", "sending", "posted", "done", "empty")
"""States of an epoch, in order; ``done`` and ``empty`` (nothing earned) are final."""


class TaskFunding(Base):
    """How a task was funded on the escrow, with the secret that opens its gold commitment."""

    __tablename__ = "task_fundings"

    task_pk: Mapped[int] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True
    )
    gold_salt: Mapped[bytes] = mapped_column(LargeBinary(32))
    gold_commitment: Mapped[bytes] = mapped_column(LargeBinary(32))
    token: Mapped[str] = mapped_column(String(ADDRESS_LEN))
    requester: Mapped[str] = mapped_column(String(ADDRESS_LEN))
    escrow: Mapped[str] = mapped_column(String(ADDRESS_LEN))
    funded: Mapped[int] = mapped_column(Amount, default=0)
    deadline: Mapped[int] = mapped_column(BigInteger)
    tx_hash: Mapped[str | None] = mapped_column(String(TX_HASH_LEN))
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)


class Settlement(Base):
    """One epoch of one task: its state, bundle, root, amounts and payout transaction."""

    __tablename__ = "settlements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_pk: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    epoch: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))
    method: Mapped[str] = mapped_column(String(32))
    escrow: Mapped[str] = mapped_column(String(ADDRESS_LEN))
    bundle_cid: Mapped[str | None] = mapped_column(String(CID_LEN))
    root: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    total: Mapped[int | None] = mapped_column(Amount)
    fee: Mapped[int | None] = mapped_column(Amount)
    submissions: Mapped[int | None] = mapped_column(Integer)
    tx_hash: Mapped[str | None] = mapped_column(String(TX_HASH_LEN))
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        UniqueConstraint("task_pk", "epoch"),
        CheckConstraint("epoch >= 1", name="epoch"),
        CheckConstraint(
            "state IN ('open', 'bundled', 'tree', 'sending', 'posted', 'done', 'empty')",
            name="state",
        ),
    )


class PayoutLeaf(Base):
    """A leaf ``(index, account, amount)`` of an epoch's payout tree."""

    __tablename__ = "payout_leaves"

    settlement_id: Mapped[int] = mapped_column(
        ForeignKey("settlements.id", ondelete="CASCADE"), primary_key=True
    )
    leaf_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    account: Mapped[str] = mapped_column(String(ADDRESS_LEN))
    amount: Mapped[int] = mapped_column(Amount)

    __table_args__ = (Index(None, "account"),)
