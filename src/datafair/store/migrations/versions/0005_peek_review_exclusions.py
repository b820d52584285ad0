"""review exclusions: who was shown an item's answers for review and may no longer answer it

Revision ID: 0005_peek_review_exclusions
Revises: 0004_market
Create Date: 2026-12-03 05:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_peek_review_exclusions"
down_revision: str | None = "0004_market"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "review_exclusions",
        sa.Column("task_item_id", sa.Integer(), nullable=False),
        sa.Column("contributor", sa.String(length=42), nullable=False),
        sa.Column("task_pk", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_item_id"],
            ["task_items.id"],
            name=op.f("fk_review_exclusions_task_item_id_task_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["task_pk"],
            ["tasks.id"],
            name=op.f("fk_review_exclusions_task_pk_tasks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("task_item_id", "contributor", name=op.f("pk_review_exclusions")),
    )


def downgrade() -> None:
    op.drop_table("review_exclusions")
