"""SQLAlchemy models of the data market: collected items, releases, royalty weights, listings.

Conventions are those of :mod:`datafair.store.models` (same ``Base``, times in Unix ms,
checksummed addresses, token amounts as decimal text through ``Amount``).

* ``collection_items``: one row per item contributed to a collection task, with its provenance
  (the submission row that holds the contributor's signature) and its near-duplicate
  fingerprint (a 64-byte MinHash signature for texts, a 64-bit pHash for images), from which a
  node rebuilds its near-duplicate index at start-up;
* ``releases``: one frozen version of a dataset: the bundle CID (inputs and rule of its royalty
  weights), the manifest CID, the card (JSON and its README text, which full-text search
  reads), the facets browsing filters on, the weights' Merkle root and total, the registry
  token and the current listing (price, payment token) once listed;
* ``release_weights``: the leaves ``(index, account, weight)`` of a release's weight tree, from
  which a royalty claim's proof is built without reading the bundle.

Full-text search: on SQLite a contentless-delete FTS5 table ``release_search(title, body)``
keyed by the release id (created by the migration, kept in sync by the service); on
PostgreSQL a GIN index over ``to_tsvector('simple', title || ' ' || card_text)``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from datafair.store.base import ADDRESS_LEN, CID_LEN, Amount, Base, BigId, Uint64

TX_HASH_LEN = 66

FORMATS_CHECK = "format IN ('text', 'image', 'instruction', 'preference')"
SEARCH_TABLE = "release_search"


class CollectionItem(Base):
    """An item contributed to a collection task, with its provenance and fingerprint."""

    __tablename__ = "collection_items"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    task_pk: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    item_cid: Mapped[str] = mapped_column(ForeignKey("items.cid"))
    submission_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("submissions.id", ondelete="CASCADE"), unique=True
    )
    contributor: Mapped[str] = mapped_column(String(ADDRESS_LEN))
    format: Mapped[str] = mapped_column(String(16))
    minhash: Mapped[bytes | None] = mapped_column(LargeBinary(64))
    phash: Mapped[int | None] = mapped_column(Uint64)
    created_at: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        UniqueConstraint("task_pk", "item_cid"),
        CheckConstraint(FORMATS_CHECK, name="format"),
        Index(None, "task_pk", "id"),
    )


class Release(Base):
    """A frozen dataset version, its card, royalty weights, registry token and listing."""

    __tablename__ = "releases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    release_cid: Mapped[str] = mapped_column(String(CID_LEN), unique=True)
    manifest_cid: Mapped[str] = mapped_column(String(CID_LEN))
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"))
    task_pk: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"))
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    card: Mapped[dict[str, Any]] = mapped_column(JSON)
    card_text: Mapped[str] = mapped_column(Text)
    card_cid: Mapped[str] = mapped_column(String(CID_LEN))
    modality: Mapped[str] = mapped_column(String(32))
    task_type: Mapped[str] = mapped_column(String(32))
    license: Mapped[str] = mapped_column(String(100))
    commercial_use: Mapped[bool] = mapped_column(Boolean)
    languages: Mapped[str] = mapped_column(String(200))
    item_count: Mapped[int] = mapped_column(Integer)
    agreement: Mapped[float | None] = mapped_column(Float)
    gold_accuracy: Mapped[float | None] = mapped_column(Float)
    inferred_accuracy: Mapped[float | None] = mapped_column(Float)
    royalty_bps: Mapped[int] = mapped_column(Integer)
    weights_root: Mapped[bytes] = mapped_column(LargeBinary(32))
    total_weight: Mapped[int] = mapped_column(Amount)
    owner: Mapped[str] = mapped_column(String(ADDRESS_LEN))
    registry_address: Mapped[str | None] = mapped_column(String(ADDRESS_LEN))
    token_id: Mapped[int | None] = mapped_column(BigInteger)
    register_tx: Mapped[str | None] = mapped_column(String(TX_HASH_LEN))
    price: Mapped[int | None] = mapped_column(Amount)
    payment_token: Mapped[str | None] = mapped_column(String(ADDRESS_LEN))
    listing_id: Mapped[int | None] = mapped_column(BigInteger)
    sample: Mapped[list[str]] = mapped_column(JSON)
    encrypted_cid: Mapped[str | None] = mapped_column(String(CID_LEN))
    created_at: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        UniqueConstraint("dataset_id", "version"),
        CheckConstraint("royalty_bps >= 0 AND royalty_bps <= 10000", name="royalty_bps"),
        CheckConstraint("item_count >= 0", name="item_count"),
        Index(None, "task_type", "modality"),
    )


class ReleaseWeight(Base):
    """A leaf ``(index, account, weight)`` of a release's royalty weight tree."""

    __tablename__ = "release_weights"

    release_id: Mapped[int] = mapped_column(
        ForeignKey("releases.id", ondelete="CASCADE"), primary_key=True
    )
    leaf_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    account: Mapped[str] = mapped_column(String(ADDRESS_LEN))
    weight: Mapped[int] = mapped_column(Amount)

    __table_args__ = (Index(None, "account"),)
