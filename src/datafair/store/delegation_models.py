"""SQLAlchemy models of session-key delegations (:mod:`datafair.crypto.delegation`).

Conventions are those of :mod:`datafair.store.models` (same ``Base``, checksummed addresses,
times in Unix ms except ``expires_at``, which is Unix seconds as the wallet signed it).

* ``delegations``: one row per delegation a wallet signed: the session key, the tasks it may
  answer (0x-hex task ids, JSON list), its expiry and answer limit, the wallet's signature, how
  many answers it has signed so far (``used <= max_answers`` is a CHECK constraint and every
  increment a conditional ``UPDATE``, so the limit holds under concurrency), and when the
  wallet revoked it.
* ``delegated_submissions``: which delegation authorised each submission signed by a session
  key (submissions signed by the wallet itself have no row).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from datafair.store.base import ADDRESS_LEN, Base, BigId, Uint64


class SessionDelegation(Base):
    """A wallet's signed permission for a session key to answer some tasks for it."""

    __tablename__ = "delegations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    wallet: Mapped[str] = mapped_column(String(ADDRESS_LEN))
    session_key: Mapped[str] = mapped_column(String(ADDRESS_LEN))
    task_ids: Mapped[list[Any]] = mapped_column(JSON)
    expires_at: Mapped[int] = mapped_column(BigInteger)
    max_answers: Mapped[int] = mapped_column(BigInteger)
    nonce: Mapped[int] = mapped_column(Uint64)
    signature: Mapped[bytes] = mapped_column(LargeBinary(65))
    used: Mapped[int] = mapped_column(BigInteger, default=0)
    revoked_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        UniqueConstraint("wallet", "session_key", "nonce"),
        CheckConstraint("used >= 0 AND used <= max_answers", name="used_within_limit"),
        Index(None, "session_key", "wallet"),
    )


class DelegatedSubmission(Base):
    """The delegation under which a session key signed a submission."""

    __tablename__ = "delegated_submissions"

    submission_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("submissions.id", ondelete="CASCADE"), primary_key=True
    )
    delegation_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("delegations.id", ondelete="CASCADE"), index=True
    )
