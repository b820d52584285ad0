"""prior answers: labels imported with a dataset (annotations, gold, predictions)

Revision ID: 0004_newcomer
Revises: 0004_web
Create Date: 2026-12-02 17:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_newcomer"
down_revision: str | None = "0004_web"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "prior_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_cid", sa.String(length=59), nullable=False),
        sa.Column("item_cid", sa.String(length=59), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("contributor", sa.String(length=200), nullable=False),
        sa.Column("task_type", sa.String(length=32), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("visible", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "role IN ('annotation', 'gold', 'prediction')", name=op.f("ck_prior_answers_role")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prior_answers")),
        sa.UniqueConstraint(
            "dataset_cid",
            "source",
            "task_type",
            name=op.f("uq_prior_answers_dataset_cid_source_task_type"),
        ),
    )
    op.create_index(
        op.f("ix_prior_answers_dataset_cid"), "prior_answers", ["dataset_cid"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_prior_answers_dataset_cid"), table_name="prior_answers")
    op.drop_table("prior_answers")
