"""SQLAlchemy model of prior answers: labels that came in with a dataset, not from its tasks.

Conventions are those of :mod:`datafair.store.base` (shared ``Base``, times in Unix ms).

``prior_answers``: one row per imported label of one item: the dataset it came with, the item,
its ``role`` (``annotation``: a prior answer of the named ``contributor``; ``gold``: a known
answer, e.g. Label Studio's ``ground_truth``; ``prediction``: a model's pre-annotation), the task
type whose canonical answer form ``answer`` holds (canonical JSON), where in the input it was
(``source``, e.g. ``tasks.json[3].annotations[0]``), and whether it may be shown to labellers
(``visible``; predictions are shown to nobody unless imported with that option).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from datafair.store.base import CID_LEN, Base

ROLES = ("annotation", "gold", "prediction")
CONTRIBUTOR_LEN = 200
SOURCE_LEN = 300


class PriorAnswer(Base):
    """One imported label of one item of a dataset."""

    __tablename__ = "prior_answers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_cid: Mapped[str] = mapped_column(String(CID_LEN), index=True)
    item_cid: Mapped[str] = mapped_column(String(CID_LEN))
    role: Mapped[str] = mapped_column(String(16))
    contributor: Mapped[str] = mapped_column(String(CONTRIBUTOR_LEN))
    task_type: Mapped[str] = mapped_column(String(32))
    answer: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(SOURCE_LEN))
    visible: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        CheckConstraint("role IN ('annotation', 'gold', 'prediction')", name="role"),
        UniqueConstraint("dataset_cid", "source", "task_type"),
    )
