"""assignment: seeded random choice over open items, counted skips

Adds ``assignments.skipped`` (a hold the contributor gave back unanswered: counted against the
task's skip bound, never offered to them again) and the partial index of open task items in
position order that the random choice scans from a drawn start; drops the index of started
items that fill-first assignment used.

Revision ID: 0004_node
Revises: 0004_newcomer
Create Date: 2026-12-02 18:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_node"
down_revision: str | None = "0004_newcomer"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN_SQL = "capacity IS NULL OR capacity - answers - reserved > 0"
STARTED_OPEN_SQL = "(answers > 0 OR reserved > 0) AND capacity - answers - reserved > 0"


def upgrade() -> None:
    op.add_column(
        "assignments",
        sa.Column("skipped", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.drop_index("ix_task_items_started_open", table_name="task_items")
    op.create_index(
        "ix_task_items_open",
        "task_items",
        ["task_pk", "is_gold", "position"],
        unique=False,
        sqlite_where=sa.text(OPEN_SQL),
        postgresql_where=sa.text(OPEN_SQL),
    )


def downgrade() -> None:
    op.drop_index("ix_task_items_open", table_name="task_items")
    op.create_index(
        "ix_task_items_started_open",
        "task_items",
        ["task_pk", "is_gold"],
        unique=False,
        sqlite_where=sa.text(STARTED_OPEN_SQL),
        postgresql_where=sa.text(STARTED_OPEN_SQL),
    )
    with op.batch_alter_table("assignments") as batch:
        batch.drop_column("skipped")
