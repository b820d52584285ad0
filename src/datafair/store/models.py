"""SQLAlchemy 2 typed declarative models: the tables of a datafair node.

Conventions:

* times are Unix milliseconds (``BigInteger``), except ``Task.deadline`` which, as in the task
  spec, is Unix seconds (0: no deadline);
* addresses are stored checksummed (``0xAbC...``, 42 characters);
* items are keyed by their CID (``bafkrei...``, 59 characters);
* a task is keyed internally by an integer ``id`` and publicly by ``task_id``, the 32-byte
  keccak-256 of its spec's canonical JSON;
* answers are stored as canonical JSON text, byte for byte what the signature's answer hash
  covers, so anyone can re-hash and re-verify them.

``Base`` and the shared column types live in :mod:`datafair.store.base`.

The capacity guarantee lives in ``task_items``: ``answers + reserved <= capacity`` is a CHECK
constraint, and every increment is a conditional ``UPDATE`` (see ``repositories``), so no item
ever receives more than its capacity (k for ordinary items) whatever the concurrency.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from datafair.store.base import (
    ADDRESS_LEN,
    CID_LEN,
    Base,
    BigId,
    Uint64,
)
from datafair.store.base import (
    UINT64_OFFSET as UINT64_OFFSET,  # re-exported for older importers
)

TASK_OPEN = "open"
TASK_CLOSED = "closed"
ASSIGNMENT_HELD = "held"
ASSIGNMENT_SUBMITTED = "submitted"
ASSIGNMENT_EXPIRED = "expired"
VERDICT_ACCEPT = "accept"
VERDICT_REJECT = "reject"


class Account(Base):
    """A known wallet: requester, contributor or reviewer, with an optional local name."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    address: Mapped[str] = mapped_column(String(ADDRESS_LEN), unique=True)
    name: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[int] = mapped_column(BigInteger)


class Item(Base):
    """One content-addressed item: a text (kept inline), an image (kept as a blob), a pair.

    ``text_length`` is the text's length in characters (what span validation needs);
    ``width``/``height`` are the image size in pixels; ``size`` the content's byte length.
    """

    __tablename__ = "items"

    cid: Mapped[str] = mapped_column(String(CID_LEN), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str | None] = mapped_column(Text)
    text_length: Mapped[int | None] = mapped_column(Integer)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(BigInteger)
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        CheckConstraint("kind IN ('text', 'image', 'pair')", name="kind"),
        CheckConstraint("size >= 0", name="size"),
    )


class Dataset(Base):
    """A published dataset: its card and the CID of its manifest (card + ordered item CIDs)."""

    __tablename__ = "datasets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    manifest_cid: Mapped[str] = mapped_column(String(CID_LEN), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    card: Mapped[dict[str, Any]] = mapped_column(JSON)
    owner: Mapped[str | None] = mapped_column(String(ADDRESS_LEN))
    item_count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[int] = mapped_column(BigInteger)


class DatasetItem(Base):
    """The ordered membership of items in a dataset."""

    __tablename__ = "dataset_items"

    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_cid: Mapped[str] = mapped_column(ForeignKey("items.cid"))

    __table_args__ = (UniqueConstraint("dataset_id", "item_cid"),)


class Task(Base):
    """A labelling task: the published spec, its 32-byte id, and the copies queries need.

    ``gold_seed`` is a private random value that drives the gold mix; it is never published.
    """

    __tablename__ = "tasks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"))
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    task_type: Mapped[str] = mapped_column(String(32))
    overlap: Mapped[int] = mapped_column(Integer)
    gold_ratio: Mapped[float] = mapped_column(Float)
    chain_id: Mapped[int] = mapped_column(BigInteger)
    deadline: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default=TASK_OPEN)
    requester: Mapped[str | None] = mapped_column(String(ADDRESS_LEN))
    gold_seed: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_at: Mapped[int] = mapped_column(BigInteger)
    closed_at: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (
        CheckConstraint("status IN ('open', 'closed')", name="status"),
        CheckConstraint("overlap >= 1", name="overlap"),
    )


# Task items with a free slot (gold items without a capacity always have one). Assignment scans
# them in position order from a randomly drawn start; a partial index over them keeps that scan
# short however full the task is. Queries must repeat this exact condition for the index to
# apply (SQLite matches the terms literally: it cannot use "answers + reserved < capacity").
OPEN_SQL = "capacity IS NULL OR capacity - answers - reserved > 0"


class TaskItem(Base):
    """An item inside a task, with its answer count and the slots held by live assignments.

    ``capacity`` is k for ordinary items; for gold items it is the task's gold overlap, or
    NULL (any number of contributors may answer a gold item, once each).

    ``sealed_epoch`` is the epoch whose settlement bundle first published the item's answers
    (NULL while none is published): from then on the item is closed (``capacity = answers``)
    and never assigned, answered or reviewed again, so nobody answers it after reading them.
    """

    __tablename__ = "task_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_pk: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    item_cid: Mapped[str] = mapped_column(ForeignKey("items.cid"))
    position: Mapped[int] = mapped_column(Integer)
    is_gold: Mapped[bool] = mapped_column(Boolean, default=False)
    capacity: Mapped[int | None] = mapped_column(Integer)
    answers: Mapped[int] = mapped_column(Integer, default=0)
    reserved: Mapped[int] = mapped_column(Integer, default=0)
    sealed_epoch: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        UniqueConstraint("task_pk", "item_cid"),
        CheckConstraint("answers >= 0", name="answers_nonnegative"),
        CheckConstraint("reserved >= 0", name="reserved_nonnegative"),
        CheckConstraint(
            "capacity IS NULL OR answers + reserved <= capacity", name="answers_within_capacity"
        ),
        Index(None, "task_pk", "is_gold", "position"),
        Index(
            "ix_task_items_open",
            "task_pk",
            "is_gold",
            "position",
            sqlite_where=text(OPEN_SQL),
            postgresql_where=text(OPEN_SQL),
        ),
    )


class GoldAnswer(Base):
    """The known answer of a gold item (canonical JSON); never sent to contributors.

    ``retired_epoch`` is the epoch whose settlement bundle revealed the answer (NULL while it is
    secret): from then on the item is never assigned, accepted or graded again.
    """

    __tablename__ = "gold_answers"

    task_pk: Mapped[int] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True
    )
    item_cid: Mapped[str] = mapped_column(ForeignKey("items.cid"), primary_key=True)
    answer: Mapped[str] = mapped_column(Text)
    retired_epoch: Mapped[int | None] = mapped_column(Integer)


class Assignment(Base):
    """A slot of a task item held by a contributor until it is submitted or expires."""

    __tablename__ = "assignments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    task_pk: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    task_item_id: Mapped[int] = mapped_column(ForeignKey("task_items.id", ondelete="CASCADE"))
    contributor: Mapped[str] = mapped_column(String(ADDRESS_LEN))
    is_gold: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(16), default=ASSIGNMENT_HELD)
    created_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int] = mapped_column(BigInteger)
    skipped: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """Given back unanswered by the contributor (status ``expired``): counted against the
    task's skip bound, and the item is never offered to them again."""

    __table_args__ = (
        UniqueConstraint("task_item_id", "contributor"),
        CheckConstraint("status IN ('held', 'submitted', 'expired')", name="status"),
        Index(None, "task_pk", "status", "expires_at"),
        Index(None, "task_pk", "contributor"),
    )


class Submission(Base):
    """An accepted, signed answer: what inference, settlement and public audit read."""

    __tablename__ = "submissions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    task_pk: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    task_item_id: Mapped[int] = mapped_column(ForeignKey("task_items.id", ondelete="CASCADE"))
    item_cid: Mapped[str] = mapped_column(String(CID_LEN))
    contributor: Mapped[str] = mapped_column(String(ADDRESS_LEN))
    answer: Mapped[str] = mapped_column(Text)
    answer_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    nonce: Mapped[int] = mapped_column(Uint64)
    duration_ms: Mapped[int] = mapped_column(BigInteger)
    signature: Mapped[bytes] = mapped_column(LargeBinary(65))
    accepted_at: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        UniqueConstraint("task_pk", "contributor", "nonce"),
        UniqueConstraint("task_item_id", "contributor"),
        CheckConstraint("duration_ms >= 0", name="duration"),
    )


class Review(Base):
    """A reviewer's verdict (accept/reject) or rating (1-5) of a submission, maybe signed."""

    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    submission_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("submissions.id", ondelete="CASCADE")
    )
    reviewer: Mapped[str] = mapped_column(String(ADDRESS_LEN))
    verdict: Mapped[str | None] = mapped_column(String(8))
    rating: Mapped[int | None] = mapped_column(Integer)
    signature: Mapped[bytes | None] = mapped_column(LargeBinary(65))
    created_at: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        UniqueConstraint("submission_id", "reviewer"),
        CheckConstraint("verdict IS NULL OR verdict IN ('accept', 'reject')", name="verdict"),
        CheckConstraint("rating IS NULL OR (rating >= 1 AND rating <= 5)", name="rating"),
        CheckConstraint("verdict IS NOT NULL OR rating IS NOT NULL", name="verdict_or_rating"),
    )


class ReviewExclusion(Base):
    """A contributor who was handed another's answer to a task item for review, and so may no
    longer answer that item (no copying from the review queue, ``docs/reviews.md``)."""

    __tablename__ = "review_exclusions"

    task_item_id: Mapped[int] = mapped_column(
        ForeignKey("task_items.id", ondelete="CASCADE"), primary_key=True
    )
    contributor: Mapped[str] = mapped_column(String(ADDRESS_LEN), primary_key=True)
    task_pk: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    created_at: Mapped[int] = mapped_column(BigInteger)
