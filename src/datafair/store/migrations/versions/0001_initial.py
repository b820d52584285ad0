"""initial store: accounts, datasets, items, tasks, assignments, submissions, reviews

Revision ID: 0001
Revises:
Create Date: 2026-11-26 18:23:51.268355
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# copied, not imported: a migration must not change when the models do
STARTED_OPEN_SQL = "(answers > 0 OR reserved > 0) AND capacity - answers - reserved > 0"

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("address", name=op.f("uq_accounts_address")),
    )
    op.create_table(
        "datasets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("manifest_cid", sa.String(length=59), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("card", sa.JSON(), nullable=False),
        sa.Column("owner", sa.String(length=42), nullable=True),
        sa.Column("item_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_datasets")),
        sa.UniqueConstraint("manifest_cid", name=op.f("uq_datasets_manifest_cid")),
    )
    op.create_table(
        "items",
        sa.Column("cid", sa.String(length=59), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("text_length", sa.Integer(), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("meta", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("kind IN ('text', 'image', 'pair')", name=op.f("ck_items_kind")),
        sa.CheckConstraint("size >= 0", name=op.f("ck_items_size")),
        sa.PrimaryKeyConstraint("cid", name=op.f("pk_items")),
    )
    op.create_table(
        "dataset_items",
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("item_cid", sa.String(length=59), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["datasets.id"],
            name=op.f("fk_dataset_items_dataset_id_datasets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["item_cid"], ["items.cid"], name=op.f("fk_dataset_items_item_cid_items")
        ),
        sa.PrimaryKeyConstraint("dataset_id", "position", name=op.f("pk_dataset_items")),
        sa.UniqueConstraint(
            "dataset_id", "item_cid", name=op.f("uq_dataset_items_dataset_id_item_cid")
        ),
    )
    op.create_table(
        "tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.LargeBinary(length=32), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("task_type", sa.String(length=32), nullable=False),
        sa.Column("overlap", sa.Integer(), nullable=False),
        sa.Column("gold_ratio", sa.Float(), nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("deadline", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requester", sa.String(length=42), nullable=True),
        sa.Column("gold_seed", sa.LargeBinary(length=32), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("closed_at", sa.BigInteger(), nullable=True),
        sa.CheckConstraint("status IN ('open', 'closed')", name=op.f("ck_tasks_status")),
        sa.CheckConstraint("overlap >= 1", name=op.f("ck_tasks_overlap")),
        sa.ForeignKeyConstraint(
            ["dataset_id"], ["datasets.id"], name=op.f("fk_tasks_dataset_id_datasets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
        sa.UniqueConstraint("task_id", name=op.f("uq_tasks_task_id")),
    )
    op.create_table(
        "gold_answers",
        sa.Column("task_pk", sa.Integer(), nullable=False),
        sa.Column("item_cid", sa.String(length=59), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_cid"], ["items.cid"], name=op.f("fk_gold_answers_item_cid_items")
        ),
        sa.ForeignKeyConstraint(
            ["task_pk"],
            ["tasks.id"],
            name=op.f("fk_gold_answers_task_pk_tasks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("task_pk", "item_cid", name=op.f("pk_gold_answers")),
    )
    op.create_table(
        "task_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_pk", sa.Integer(), nullable=False),
        sa.Column("item_cid", sa.String(length=59), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("is_gold", sa.Boolean(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("answers", sa.Integer(), nullable=False),
        sa.Column("reserved", sa.Integer(), nullable=False),
        sa.CheckConstraint("answers >= 0", name=op.f("ck_task_items_answers_nonnegative")),
        sa.CheckConstraint(
            "capacity IS NULL OR answers + reserved <= capacity",
            name=op.f("ck_task_items_answers_within_capacity"),
        ),
        sa.CheckConstraint("reserved >= 0", name=op.f("ck_task_items_reserved_nonnegative")),
        sa.ForeignKeyConstraint(
            ["item_cid"], ["items.cid"], name=op.f("fk_task_items_item_cid_items")
        ),
        sa.ForeignKeyConstraint(
            ["task_pk"], ["tasks.id"], name=op.f("fk_task_items_task_pk_tasks"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_items")),
        sa.UniqueConstraint("task_pk", "item_cid", name=op.f("uq_task_items_task_pk_item_cid")),
    )
    op.create_index(
        op.f("ix_task_items_task_pk_is_gold_position"),
        "task_items",
        ["task_pk", "is_gold", "position"],
        unique=False,
    )
    op.create_index(
        "ix_task_items_started_open",
        "task_items",
        ["task_pk", "is_gold"],
        unique=False,
        sqlite_where=sa.text(STARTED_OPEN_SQL),
        postgresql_where=sa.text(STARTED_OPEN_SQL),
    )
    op.create_table(
        "assignments",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("task_pk", sa.Integer(), nullable=False),
        sa.Column("task_item_id", sa.Integer(), nullable=False),
        sa.Column("contributor", sa.String(length=42), nullable=False),
        sa.Column("is_gold", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "status IN ('held', 'submitted', 'expired')", name=op.f("ck_assignments_status")
        ),
        sa.ForeignKeyConstraint(
            ["task_item_id"],
            ["task_items.id"],
            name=op.f("fk_assignments_task_item_id_task_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["task_pk"], ["tasks.id"], name=op.f("fk_assignments_task_pk_tasks"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignments")),
        sa.UniqueConstraint(
            "task_item_id", "contributor", name=op.f("uq_assignments_task_item_id_contributor")
        ),
    )
    op.create_index(
        op.f("ix_assignments_task_pk_contributor"),
        "assignments",
        ["task_pk", "contributor"],
        unique=False,
    )
    op.create_index(
        op.f("ix_assignments_task_pk_status_expires_at"),
        "assignments",
        ["task_pk", "status", "expires_at"],
        unique=False,
    )
    op.create_table(
        "submissions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("task_pk", sa.Integer(), nullable=False),
        sa.Column("task_item_id", sa.Integer(), nullable=False),
        sa.Column("item_cid", sa.String(length=59), nullable=False),
        sa.Column("contributor", sa.String(length=42), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("answer_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("nonce", sa.BigInteger(), nullable=False),
        sa.Column("duration_ms", sa.BigInteger(), nullable=False),
        sa.Column("signature", sa.LargeBinary(length=65), nullable=False),
        sa.Column("accepted_at", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("duration_ms >= 0", name=op.f("ck_submissions_duration")),
        sa.ForeignKeyConstraint(
            ["task_item_id"],
            ["task_items.id"],
            name=op.f("fk_submissions_task_item_id_task_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["task_pk"], ["tasks.id"], name=op.f("fk_submissions_task_pk_tasks"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submissions")),
        sa.UniqueConstraint(
            "task_item_id", "contributor", name=op.f("uq_submissions_task_item_id_contributor")
        ),
        sa.UniqueConstraint(
            "task_pk", "contributor", "nonce", name=op.f("uq_submissions_task_pk_contributor_nonce")
        ),
    )
    op.create_table(
        "reviews",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "submission_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("reviewer", sa.String(length=42), nullable=False),
        sa.Column("verdict", sa.String(length=8), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("signature", sa.LargeBinary(length=65), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "verdict IS NULL OR verdict IN ('accept', 'reject')", name=op.f("ck_reviews_verdict")
        ),
        sa.CheckConstraint(
            "rating IS NULL OR (rating >= 1 AND rating <= 5)", name=op.f("ck_reviews_rating")
        ),
        sa.CheckConstraint(
            "verdict IS NOT NULL OR rating IS NOT NULL", name=op.f("ck_reviews_verdict_or_rating")
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_reviews_submission_id_submissions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reviews")),
        sa.UniqueConstraint(
            "submission_id", "reviewer", name=op.f("uq_reviews_submission_id_reviewer")
        ),
    )


def downgrade() -> None:
    op.drop_table("reviews")
    op.drop_table("submissions")
    op.drop_index(op.f("ix_assignments_task_pk_status_expires_at"), table_name="assignments")
    op.drop_index(op.f("ix_assignments_task_pk_contributor"), table_name="assignments")
    op.drop_table("assignments")
    op.drop_index("ix_task_items_started_open", table_name="task_items")
    op.drop_index(op.f("ix_task_items_task_pk_is_gold_position"), table_name="task_items")
    op.drop_table("task_items")
    op.drop_table("gold_answers")
    op.drop_table("tasks")
    op.drop_table("dataset_items")
    op.drop_table("items")
    op.drop_table("datasets")
    op.drop_table("accounts")
