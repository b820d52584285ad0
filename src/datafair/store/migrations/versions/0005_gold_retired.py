"""gold retired on reveal: the epoch whose settlement bundle revealed each gold answer

Revision ID: 0005_gold_retired
Revises: 0005_peek_review_exclusions
Create Date: 2026-12-03 05:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_gold_retired"
down_revision: str | None = "0005_peek_review_exclusions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("gold_answers", sa.Column("retired_epoch", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("gold_answers") as batch:
        batch.drop_column("retired_epoch")
