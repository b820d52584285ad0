"""market: collected items, dataset releases, royalty weights, full-text search on cards

Revision ID: 0004_market
Revises: 0004_node
Create Date: 2026-12-02 17:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_market"
down_revision: str | None = "0004_node"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_PG_SEARCH = "to_tsvector('simple', title || ' ' || card_text)"


def upgrade() -> None:
    op.create_table(
        "collection_items",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("task_pk", sa.Integer(), nullable=False),
        sa.Column("item_cid", sa.String(length=59), nullable=False),
        sa.Column("submission_id", _BIG_ID, nullable=False),
        sa.Column("contributor", sa.String(length=42), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("minhash", sa.LargeBinary(length=64), nullable=True),
        sa.Column("phash", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "format IN ('text', 'image', 'instruction', 'preference')",
            name=op.f("ck_collection_items_format"),
        ),
        sa.ForeignKeyConstraint(
            ["item_cid"], ["items.cid"], name=op.f("fk_collection_items_item_cid_items")
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_collection_items_submission_id_submissions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["task_pk"],
            ["tasks.id"],
            name=op.f("fk_collection_items_task_pk_tasks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collection_items")),
        sa.UniqueConstraint("submission_id", name=op.f("uq_collection_items_submission_id")),
        sa.UniqueConstraint(
            "task_pk", "item_cid", name=op.f("uq_collection_items_task_pk_item_cid")
        ),
    )
    op.create_index(op.f("ix_collection_items_task_pk_id"), "collection_items", ["task_pk", "id"])
    op.create_table(
        "releases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("release_cid", sa.String(length=59), nullable=False),
        sa.Column("manifest_cid", sa.String(length=59), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("task_pk", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("card", sa.JSON(), nullable=False),
        sa.Column("card_text", sa.Text(), nullable=False),
        sa.Column("card_cid", sa.String(length=59), nullable=False),
        sa.Column("modality", sa.String(length=32), nullable=False),
        sa.Column("task_type", sa.String(length=32), nullable=False),
        sa.Column("license", sa.String(length=100), nullable=False),
        sa.Column("commercial_use", sa.Boolean(), nullable=False),
        sa.Column("languages", sa.String(length=200), nullable=False),
        sa.Column("item_count", sa.Integer(), nullable=False),
        sa.Column("agreement", sa.Float(), nullable=True),
        sa.Column("gold_accuracy", sa.Float(), nullable=True),
        sa.Column("inferred_accuracy", sa.Float(), nullable=True),
        sa.Column("royalty_bps", sa.Integer(), nullable=False),
        sa.Column("weights_root", sa.LargeBinary(length=32), nullable=False),
        sa.Column("total_weight", sa.String(length=78), nullable=False),
        sa.Column("owner", sa.String(length=42), nullable=False),
        sa.Column("registry_address", sa.String(length=42), nullable=True),
        sa.Column("token_id", sa.BigInteger(), nullable=True),
        sa.Column("register_tx", sa.String(length=66), nullable=True),
        sa.Column("price", sa.String(length=78), nullable=True),
        sa.Column("payment_token", sa.String(length=42), nullable=True),
        sa.Column("listing_id", sa.BigInteger(), nullable=True),
        sa.Column("sample", sa.JSON(), nullable=False),
        sa.Column("encrypted_cid", sa.String(length=59), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("item_count >= 0", name=op.f("ck_releases_item_count")),
        sa.CheckConstraint(
            "royalty_bps >= 0 AND royalty_bps <= 10000", name=op.f("ck_releases_royalty_bps")
        ),
        sa.ForeignKeyConstraint(
            ["dataset_id"], ["datasets.id"], name=op.f("fk_releases_dataset_id_datasets")
        ),
        sa.ForeignKeyConstraint(["task_pk"], ["tasks.id"], name=op.f("fk_releases_task_pk_tasks")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_releases")),
        sa.UniqueConstraint("dataset_id", "version", name=op.f("uq_releases_dataset_id_version")),
        sa.UniqueConstraint("release_cid", name=op.f("uq_releases_release_cid")),
    )
    op.create_index(op.f("ix_releases_task_type_modality"), "releases", ["task_type", "modality"])
    op.create_table(
        "release_weights",
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("leaf_index", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(length=42), nullable=False),
        sa.Column("weight", sa.String(length=78), nullable=False),
        sa.ForeignKeyConstraint(
            ["release_id"],
            ["releases.id"],
            name=op.f("fk_release_weights_release_id_releases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("release_id", "leaf_index", name=op.f("pk_release_weights")),
    )
    op.create_index(op.f("ix_release_weights_account"), "release_weights", ["account"])
    if op.get_bind().dialect.name == "sqlite":
        op.execute("CREATE VIRTUAL TABLE release_search USING fts5(title, body)")
    else:
        op.execute(f"CREATE INDEX ix_releases_search ON releases USING gin ({_PG_SEARCH})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS release_search")
    else:
        op.execute("DROP INDEX IF EXISTS ix_releases_search")
    op.drop_index(op.f("ix_release_weights_account"), table_name="release_weights")
    op.drop_table("release_weights")
    op.drop_index(op.f("ix_releases_task_type_modality"), table_name="releases")
    op.drop_table("releases")
    op.drop_index(op.f("ix_collection_items_task_pk_id"), table_name="collection_items")
    op.drop_table("collection_items")
