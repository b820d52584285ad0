"""Helpers shared by the repository modules: chunking, bulk inserts, row counts, row locks."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

CHUNK = 500
BIG_CHUNK = 5000


def bulk_insert(session: Session, model: type, rows: Sequence[Mapping[str, Any]]) -> None:
    """Core multi-row INSERT of plain rows (no ORM bookkeeping), in chunks."""
    table = cast(Table, model.__table__)  # type: ignore[attr-defined]
    connection = session.connection()
    for part in chunked(rows, BIG_CHUNK):
        connection.execute(insert(table), list(part))


def chunked(values: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    """``values`` in consecutive slices of at most ``size``."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def rowcount(result: Any) -> int:
    """Rows matched by an UPDATE (summed over parameter sets; -1 if the driver cannot tell)."""
    return int(result.rowcount)


def locks_rows(session: Session) -> bool:
    """Whether ``SELECT ... FOR UPDATE`` is needed (SQLite transactions already hold the lock)."""
    return session.get_bind().dialect.name != "sqlite"
