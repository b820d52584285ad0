"""SQLAlchemy models of reputation: pooled evidence per contributor and task type, and each
contributor's standing on each task (its share of that evidence, and a pause).

Conventions are those of :mod:`datafair.store.base` (same ``Base``, times in Unix ms,
checksummed addresses).

* ``reputations``: one row per (contributor, task type): the expected number of correct answers
  in millionths (``correct_units``, :data:`datafair.economics.reputation.EVIDENCE_SCALE`) and the
  number of answers, pooled over every task of that type, and how many settlements changed it.
  The reputation itself (the lower credible bound) is computed from these counts on read.
* ``task_standings``: one row per (task, contributor): the evidence this task contributed to
  the pooled row (so a later settlement of the same task replaces it instead of adding it
  twice), and whether the contributor is paused on the task (flagged as a spammer).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from datafair.store.base import ADDRESS_LEN, Base

REASON_LEN = 200


class ContributorReputation(Base):
    """Pooled evidence of one contributor on one task type."""

    __tablename__ = "reputations"

    contributor: Mapped[str] = mapped_column(String(ADDRESS_LEN), primary_key=True)
    task_type: Mapped[str] = mapped_column(String(32), primary_key=True)
    correct_units: Mapped[int] = mapped_column(BigInteger, default=0)
    answers: Mapped[int] = mapped_column(BigInteger, default=0)
    settlements: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        CheckConstraint("answers >= 0", name="answers"),
        CheckConstraint("correct_units >= 0", name="correct_units"),
        CheckConstraint("settlements >= 0", name="settlements"),
    )


class TaskStanding(Base):
    """What one task says of one contributor: its evidence, and a pause after a spam flag."""

    __tablename__ = "task_standings"

    task_pk: Mapped[int] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True
    )
    contributor: Mapped[str] = mapped_column(String(ADDRESS_LEN), primary_key=True)
    correct_units: Mapped[int] = mapped_column(BigInteger, default=0)
    answers: Mapped[int] = mapped_column(BigInteger, default=0)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str | None] = mapped_column(String(REASON_LEN))
    updated_at: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        CheckConstraint("answers >= 0", name="answers"),
        CheckConstraint("correct_units >= 0", name="correct_units"),
    )
