"""settlement: task fundings (gold commitments), settlement epochs, payout leaves

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 18:36:39.924940
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_AMOUNT = 78


def upgrade() -> None:
    op.create_table(
        "settlements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_pk", sa.Integer(), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("escrow", sa.String(length=42), nullable=False),
        sa.Column("bundle_cid", sa.String(length=59), nullable=True),
        sa.Column("root", sa.LargeBinary(length=32), nullable=True),
        sa.Column("total", sa.String(length=_AMOUNT), nullable=True),
        sa.Column("fee", sa.String(length=_AMOUNT), nullable=True),
        sa.Column("submissions", sa.Integer(), nullable=True),
        sa.Column("tx_hash", sa.String(length=66), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "state IN ('open', 'bundled', 'tree', 'sending', 'posted', 'done', 'empty')",
            name=op.f("ck_settlements_state"),
        ),
        sa.CheckConstraint("epoch >= 1", name=op.f("ck_settlements_epoch")),
        sa.ForeignKeyConstraint(
            ["task_pk"], ["tasks.id"], name=op.f("fk_settlements_task_pk_tasks"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlements")),
        sa.UniqueConstraint("task_pk", "epoch", name=op.f("uq_settlements_task_pk_epoch")),
    )
    op.create_table(
        "task_fundings",
        sa.Column("task_pk", sa.Integer(), nullable=False),
        sa.Column("gold_salt", sa.LargeBinary(length=32), nullable=False),
        sa.Column("gold_commitment", sa.LargeBinary(length=32), nullable=False),
        sa.Column("token", sa.String(length=42), nullable=False),
        sa.Column("requester", sa.String(length=42), nullable=False),
        sa.Column("escrow", sa.String(length=42), nullable=False),
        sa.Column("funded", sa.String(length=_AMOUNT), nullable=False),
        sa.Column("deadline", sa.BigInteger(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_pk"],
            ["tasks.id"],
            name=op.f("fk_task_fundings_task_pk_tasks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("task_pk", name=op.f("pk_task_fundings")),
    )
    op.create_table(
        "payout_leaves",
        sa.Column("settlement_id", sa.Integer(), nullable=False),
        sa.Column("leaf_index", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(length=42), nullable=False),
        sa.Column("amount", sa.String(length=_AMOUNT), nullable=False),
        sa.ForeignKeyConstraint(
            ["settlement_id"],
            ["settlements.id"],
            name=op.f("fk_payout_leaves_settlement_id_settlements"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("settlement_id", "leaf_index", name=op.f("pk_payout_leaves")),
    )
    op.create_index(op.f("ix_payout_leaves_account"), "payout_leaves", ["account"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_payout_leaves_account"), table_name="payout_leaves")
    op.drop_table("payout_leaves")
    op.drop_table("task_fundings")
    op.drop_table("settlements")
