"""Whole-transaction gas rules: intrinsic cost, refund cap, calldata floor."""

from __future__ import annotations

from datafair.chain.gas import floor_gas, intrinsic_gas, transaction_gas


def test_intrinsic_gas_counts_calldata_bytes() -> None:
    assert intrinsic_gas(b"") == 21_000
    assert intrinsic_gas(b"\x00\x01") == 21_000 + 4 + 16
    assert intrinsic_gas(b"\x01" * 32, create=True) == 21_000 + 32_000 + 16 * 32 + 2


def test_refunds_are_capped_at_a_fifth() -> None:
    assert transaction_gas(b"", 79_000, 50_000) == 100_000 - 20_000
    assert transaction_gas(b"", 29_000, 1_000) == 49_000


def test_calldata_floor_applies_to_cheap_executions() -> None:
    data = b"\x01" * 1000
    assert floor_gas(data) == 21_000 + 10 * 4 * 1000
    assert transaction_gas(data, 0, 0) == floor_gas(data)
