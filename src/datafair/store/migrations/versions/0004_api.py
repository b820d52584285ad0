"""api: sign-in nonces, sessions and relayed claims of the HTTP server

Revision ID: 0004_api
Revises: 0003
Create Date: 2026-12-02 17:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_api"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "siwe_nonces",
        sa.Column("nonce", sa.String(length=32), nullable=False),
        sa.Column("issued_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("used_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("nonce", name=op.f("pk_siwe_nonces")),
    )
    op.create_index(op.f("ix_siwe_nonces_expires_at"), "siwe_nonces", ["expires_at"], unique=False)
    op.create_table(
        "api_sessions",
        sa.Column("token_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("revoked_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_api_sessions")),
    )
    op.create_index(op.f("ix_api_sessions_address"), "api_sessions", ["address"], unique=False)
    op.create_table(
        "claim_relays",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("claims", sa.Integer(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_relays")),
    )
    op.create_index(
        op.f("ix_claim_relays_address_created_at"),
        "claim_relays",
        ["address", "created_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_claim_relays_address_created_at"), table_name="claim_relays")
    op.drop_table("claim_relays")
    op.drop_index(op.f("ix_api_sessions_address"), table_name="api_sessions")
    op.drop_table("api_sessions")
    op.drop_index(op.f("ix_siwe_nonces_expires_at"), table_name="siwe_nonces")
    op.drop_table("siwe_nonces")
