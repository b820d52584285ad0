"""Content-addressed items: bulk import, lookup, and the context answers are validated in.

Inputs: an open ``Session``; callers own the transaction (repositories never commit).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from datafair.core.schemas import ItemContext, ItemKind
from datafair.store.models import (
    Item,
)
from datafair.store.repositories._common import (
    BIG_CHUNK,
    chunked,
    rowcount,
)


@dataclass(frozen=True)
class NewItem:
    """An item to store: CID of its content, kind, inline text, image size, byte size, meta."""

    cid: str
    kind: ItemKind
    size: int
    text: str | None = None
    width: int | None = None
    height: int | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)


def item_context(item: Item) -> ItemContext:
    """What answer validation needs to know of a stored item."""
    return ItemContext(ItemKind(item.kind), item.text_length, item.width, item.height)


# Column order and PostgreSQL array types of the unnest insert of items.
_ITEM_ARRAYS = (
    ("cid", "varchar"),
    ("kind", "varchar"),
    ("text", "text"),
    ("text_length", "integer"),
    ("width", "integer"),
    ("height", "integer"),
    ("size", "bigint"),
    ("meta", "json"),
    ("created_at", "bigint"),
)


class ItemRepository:
    """Content-addressed items; adding an existing CID is a no-op (duplicates collapse)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def existing(self, cids: Sequence[str]) -> set[str]:
        """Which of ``cids`` are stored."""
        found: set[str] = set()
        connection = self.session.connection()
        for part in chunked(list(cids), BIG_CHUNK):
            found.update(connection.execute(select(Item.cid).where(Item.cid.in_(part))).scalars())
        return found

    def add_many(self, items: Iterable[NewItem], *, now_ms: int) -> int:
        """Store the items not yet stored; return how many were new.

        Repeated CIDs (within ``items`` or already stored) are skipped, never an error.
        """
        unique: dict[str, NewItem] = {}
        for item in items:
            unique.setdefault(item.cid, item)
        if not unique:
            return 0
        rows = [
            {
                "cid": item.cid,
                "kind": str(item.kind),
                "text": item.text,
                "text_length": None if item.text is None else len(item.text),
                "width": item.width,
                "height": item.height,
                "size": item.size,
                "meta": dict(item.meta),
                "created_at": now_ms,
            }
            for item in unique.values()
        ]
        if self.session.get_bind().dialect.name == "postgresql":
            return sum(self._insert_unnest(part) for part in chunked(rows, BIG_CHUNK))
        return self._insert_sqlite(rows)

    def _insert_sqlite(self, rows: Sequence[Mapping[str, Any]]) -> int:
        # Plain tuples through the driver's executemany (the bulk import path); SQLite reports
        # the rows it really inserted, conflicts skipped.
        columns = [name for name, _ in _ITEM_ARRAYS]
        sql = (
            f"INSERT INTO items ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
            "ON CONFLICT (cid) DO NOTHING"
        )
        connection = self.session.connection()
        inserted = 0
        for part in chunked(rows, BIG_CHUNK):
            values = [
                tuple(json.dumps(row[name]) if name == "meta" else row[name] for name in columns)
                for row in part
            ]
            inserted += rowcount(connection.exec_driver_sql(sql, values))
        return inserted

    def _insert_unnest(self, rows: Sequence[Mapping[str, Any]]) -> int:
        columns = [name for name, _ in _ITEM_ARRAYS]
        arrays = [[row[name] for row in rows] for name in columns]
        meta_at = columns.index("meta")
        arrays[meta_at] = [json.dumps(meta) for meta in arrays[meta_at]]
        casts = ", ".join(f"%s::{sql_type}[]" for _, sql_type in _ITEM_ARRAYS)
        inserted = self.session.connection().exec_driver_sql(
            f"INSERT INTO items ({', '.join(columns)}) SELECT * FROM unnest({casts}) "
            "ON CONFLICT (cid) DO NOTHING RETURNING cid",
            tuple(arrays),
        )
        return len(inserted.all())

    def get(self, cid: str) -> Item | None:
        return self.session.get(Item, cid)

    def contexts(self, cids: Sequence[str]) -> dict[str, ItemContext]:
        """What answer validation needs of each stored item among ``cids``, by CID."""
        found: dict[str, ItemContext] = {}
        connection = self.session.connection()
        for part in chunked(list(cids), BIG_CHUNK):
            rows = connection.execute(
                select(Item.cid, Item.kind, Item.text_length, Item.width, Item.height).where(
                    Item.cid.in_(part)
                )
            )
            for cid, kind, length, width, height in rows:
                found[cid] = ItemContext(ItemKind(kind), length, width, height)
        return found

    def get_many(self, cids: Sequence[str]) -> dict[str, Item]:
        """The stored items among ``cids``, by CID."""
        found: dict[str, Item] = {}
        for part in chunked(list(cids)):
            for item in self.session.scalars(select(Item).where(Item.cid.in_(part))):
                found[item.cid] = item
        return found
