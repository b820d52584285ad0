"""delegations: session keys a wallet let sign its answers, and the submissions they signed

Revision ID: 0004_web
Revises: 0004_api
Create Date: 2026-12-02 17:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_web"
down_revision: str | None = "0004_api"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "delegations",
        sa.Column("id", _ID, nullable=False),
        sa.Column("wallet", sa.String(length=42), nullable=False),
        sa.Column("session_key", sa.String(length=42), nullable=False),
        sa.Column("task_ids", sa.JSON(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("max_answers", sa.BigInteger(), nullable=False),
        sa.Column("nonce", sa.BigInteger(), nullable=False),
        sa.Column("signature", sa.LargeBinary(length=65), nullable=False),
        sa.Column("used", sa.BigInteger(), nullable=False),
        sa.Column("revoked_at", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "used >= 0 AND used <= max_answers", name=op.f("ck_delegations_used_within_limit")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delegations")),
        sa.UniqueConstraint(
            "wallet", "session_key", "nonce", name=op.f("uq_delegations_wallet_session_key_nonce")
        ),
    )
    op.create_index(
        op.f("ix_delegations_session_key_wallet"),
        "delegations",
        ["session_key", "wallet"],
        unique=False,
    )
    op.create_table(
        "delegated_submissions",
        sa.Column("submission_id", _ID, nullable=False),
        sa.Column("delegation_id", _ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["delegation_id"],
            ["delegations.id"],
            name=op.f("fk_delegated_submissions_delegation_id_delegations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_delegated_submissions_submission_id_submissions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("submission_id", name=op.f("pk_delegated_submissions")),
    )
    op.create_index(
        op.f("ix_delegated_submissions_delegation_id"),
        "delegated_submissions",
        ["delegation_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_delegated_submissions_delegation_id"), table_name="delegated_submissions"
    )
    op.drop_table("delegated_submissions")
    op.drop_index(op.f("ix_delegations_session_key_wallet"), table_name="delegations")
    op.drop_table("delegations")
