"""The declarative ``Base`` every model module shares, and the column types they have in common.

Model modules (:mod:`~datafair.store.models`, :mod:`~datafair.store.settlement_models`,
:mod:`~datafair.store.reputation_models`, ...) import from here and never from each other;
:mod:`datafair.store.schema` imports them all so ``Base.metadata`` lists every table.

Shared conventions: times are Unix milliseconds (``BigInteger``); addresses are stored
checksummed (``ADDRESS_LEN`` characters); items are keyed by their CID (``CID_LEN``); unsigned
64-bit values use :class:`Uint64`; token amounts, which can exceed 64 bits, use :class:`Amount`
(decimal text, read back as Python integers: no floats and no dialect-specific numerics).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Integer, MetaData, String
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

CID_LEN = 59
ADDRESS_LEN = 42
UINT64_OFFSET = 2**63
AMOUNT_LEN = 78
"""Decimal digits of the largest uint256."""

# 64-bit ids on PostgreSQL; SQLite's rowid alias must be spelled INTEGER.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Uint64(TypeDecorator[int]):
    """An unsigned 64-bit integer kept in a signed ``BIGINT`` by shifting it by 2**63.

    The shift preserves order and equality, so unique constraints and sorting work on the
    stored column; values read back are the original ``0 .. 2**64 - 1``.
    """

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: int | None, dialect: Any) -> int | None:
        return None if value is None else value - UINT64_OFFSET

    def process_result_value(self, value: int | None, dialect: Any) -> int | None:
        return None if value is None else value + UINT64_OFFSET


class Amount(TypeDecorator[int]):
    """A non-negative integer of any size kept as decimal text."""

    impl = String(AMOUNT_LEN)
    cache_ok = True

    def process_bind_param(self, value: int | None, dialect: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"amount must be a non-negative integer, got {value!r}")
        return str(value)

    def process_result_value(self, value: str | None, dialect: Any) -> int | None:
        return None if value is None else int(value)


class Base(DeclarativeBase):
    """Declarative base with a naming convention, so constraint names match on every dialect."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
