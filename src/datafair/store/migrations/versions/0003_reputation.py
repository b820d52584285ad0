"""reputation: pooled evidence per contributor and task type, standings and pauses per task

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 19:05:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reputations",
        sa.Column("contributor", sa.String(length=42), nullable=False),
        sa.Column("task_type", sa.String(length=32), nullable=False),
        sa.Column("correct_units", sa.BigInteger(), nullable=False),
        sa.Column("answers", sa.BigInteger(), nullable=False),
        sa.Column("settlements", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("answers >= 0", name=op.f("ck_reputations_answers")),
        sa.CheckConstraint("correct_units >= 0", name=op.f("ck_reputations_correct_units")),
        sa.CheckConstraint("settlements >= 0", name=op.f("ck_reputations_settlements")),
        sa.PrimaryKeyConstraint("contributor", "task_type", name=op.f("pk_reputations")),
    )
    op.create_table(
        "task_standings",
        sa.Column("task_pk", sa.Integer(), nullable=False),
        sa.Column("contributor", sa.String(length=42), nullable=False),
        sa.Column("correct_units", sa.BigInteger(), nullable=False),
        sa.Column("answers", sa.BigInteger(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("answers >= 0", name=op.f("ck_task_standings_answers")),
        sa.CheckConstraint("correct_units >= 0", name=op.f("ck_task_standings_correct_units")),
        sa.ForeignKeyConstraint(
            ["task_pk"],
            ["tasks.id"],
            name=op.f("fk_task_standings_task_pk_tasks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("task_pk", "contributor", name=op.f("pk_task_standings")),
    )


def downgrade() -> None:
    op.drop_table("task_standings")
    op.drop_table("reputations")
