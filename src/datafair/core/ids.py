"""Parsers of the ids that cross every boundary: task ids and Ethereum addresses.

Pure functions; a bad value raises :class:`~datafair.core.errors.InvalidInput` naming the
field. Addresses are checksummed by EIP-55 (Buterin & Van de Sande, 2016): the hex digit at
position i is upper-case when nibble i of keccak-256 of the lower-case hex is 8 or more.
"""

from __future__ import annotations

from functools import lru_cache

from datafair.core.canonical import keccak256
from datafair.core.errors import InvalidInput


def parse_task_id(value: bytes | str) -> bytes:
    """A task id from its 32 bytes or its hex (with or without ``0x``)."""
    if isinstance(value, bytes):
        raw = value
    elif isinstance(value, str):
        text = value[2:] if value[:2] in ("0x", "0X") else value
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            raw = b""
    else:
        raw = b""
    if len(raw) != 32:
        raise InvalidInput("task_id", f"{value!r} is not a 32-byte task id", "use the 0x... hex id")
    return raw


def address_bytes(address: str, field: str = "contributor") -> bytes:
    """The 20 bytes of a hex address (with or without ``0x``); ``InvalidInput`` otherwise."""
    if not isinstance(address, str):
        raise InvalidInput(field, f"{address!r} is not a hex address")
    text = address[2:] if address[:2] in ("0x", "0X") else address
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raw = b""
    if len(raw) != 20 or len(text) != 40:
        raise InvalidInput(field, f"{address!r} is not a 20-byte hex address")
    return raw


def to_checksum(raw: bytes) -> str:
    """The EIP-55 checksummed ``0x...`` form of 20 address bytes."""
    lower = raw.hex()
    digest = keccak256(lower.encode("ascii")).hex()
    return "0x" + "".join(
        char.upper() if char.isalpha() and int(nibble, 16) >= 8 else char
        for char, nibble in zip(lower, digest, strict=False)
    )


@lru_cache(maxsize=65_536)
def checksum_address(address: str, field: str = "contributor") -> str:
    """The EIP-55 checksummed form of a 20-byte hex address; ``InvalidInput`` otherwise."""
    return to_checksum(address_bytes(address, field))
