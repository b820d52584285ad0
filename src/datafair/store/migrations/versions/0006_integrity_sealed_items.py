"""sealed items: the epoch whose settlement bundle first published each task item's answers

Revision ID: 0006_integrity_sealed_items
Revises: 0005_gold_retired
Create Date: 2026-12-03 08:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_integrity_sealed_items"
down_revision: str | None = "0005_gold_retired"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("task_items", sa.Column("sealed_epoch", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("task_items") as batch:
        batch.drop_column("sealed_epoch")
