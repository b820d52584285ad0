"""Task-id and address parsers: accepted forms, EIP-55 checksums, one-line refusals."""

from __future__ import annotations

import pytest
from eth_utils.address import to_checksum_address
from hypothesis import given
from hypothesis import strategies as st

from datafair.core.errors import InvalidInput
from datafair.core.ids import address_bytes, checksum_address, parse_task_id


def test_task_ids_parse_from_bytes_and_hex_with_or_without_prefix() -> None:
    raw = bytes(range(32))
    assert parse_task_id(raw) == parse_task_id(raw.hex()) == parse_task_id("0x" + raw.hex())
    assert parse_task_id("0X" + raw.hex().upper()) == raw


@pytest.mark.parametrize("value", ["0x1234", "zz" * 32, b"short", 42, "", None])
def test_malformed_task_ids_are_refused(value: object) -> None:
    with pytest.raises(InvalidInput, match=r"^task_id: .* is not a 32-byte task id"):
        parse_task_id(value)  # type: ignore[arg-type]


@given(st.binary(min_size=20, max_size=20))
def test_checksums_match_eth_utils(raw: bytes) -> None:
    expected = to_checksum_address(raw)
    assert checksum_address("0x" + raw.hex()) == expected
    assert checksum_address(raw.hex().upper()) == expected
    assert address_bytes(expected) == raw


def test_known_eip55_vectors() -> None:  # from the EIP-55 specification
    for address in (
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
        "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
    ):
        assert checksum_address(address.lower()) == address


@pytest.mark.parametrize("value", ["0x1234", "0x" + "g" * 40, "0x" + "a" * 41, 7, "a" * 42])
def test_bad_addresses_are_refused_naming_the_field(value: object) -> None:
    with pytest.raises(InvalidInput, match=r"^requester: "):
        checksum_address(value, "requester")  # type: ignore[arg-type]
