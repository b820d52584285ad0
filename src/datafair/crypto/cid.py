"""Content ids: CIDv1, raw codec, sha2-256 multihash, base32 multibase (``bafkrei...``).

This is the id ``ipfs add --cid-version 1 --raw-leaves`` gives a file of up to 256 KiB (one raw
block), so blobs stored here can be pinned to IPFS unchanged. The layout is fixed, so encoding is
``"b" + base32(0x01 0x55 0x12 0x20 || sha256(data))``: a few microseconds per id (most of it in
the standard library's pure-Python base32) against about 300 µs through the general
``multiformats`` package, which the tests use as the reference implementation.
``cids_from_digests`` encodes many digests in one vectorised numpy pass (under 1 µs each), for
imports of hundreds of thousands of items.
"""

from __future__ import annotations

import base64
import hashlib

import numpy as np

from datafair.core.errors import InvalidInput

# version 1, codec raw (0x55), multihash sha2-256 (0x12), digest length 32 (0x20)
_PREFIX = bytes((0x01, 0x55, 0x12, 0x20))
CID_LENGTH = 59
_PREFIX_ARRAY = np.frombuffer(_PREFIX, dtype=np.uint8)
_ALPHABET = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz234567", dtype=np.uint8)
_WEIGHTS = np.array([16, 8, 4, 2, 1], dtype=np.uint8)
_CHARS = 58  # ceil(36 bytes * 8 / 5): the unpadded base32 length of prefix + digest


def cid_from_digest(digest: bytes) -> str:
    """The CID of content whose sha2-256 digest is ``digest`` (32 bytes)."""
    if len(digest) != 32:
        raise ValueError("a sha2-256 digest has 32 bytes")
    return "b" + base64.b32encode(_PREFIX + digest).decode("ascii").rstrip("=").lower()


def compute_cid(data: bytes) -> str:
    """The CIDv1 (raw, sha2-256, base32) of ``data``."""
    return cid_from_digest(hashlib.sha256(data).digest())


def cid_digest(cid: str, field: str = "cid") -> bytes:
    """The sha2-256 digest inside ``cid``; ``InvalidInput`` if it is not a raw sha2-256 CIDv1."""
    if not isinstance(cid, str) or len(cid) != CID_LENGTH or not cid.startswith("bafkrei"):
        raise InvalidInput(
            field, f"{cid!r} is not a CIDv1 raw sha2-256 id", "expected 59 characters 'bafkrei...'"
        )
    try:
        raw = base64.b32decode(cid[1:].upper() + "=" * (-(len(cid) - 1) % 8))
    except ValueError as exc:
        raise InvalidInput(field, f"{cid!r} is not valid base32") from exc
    if raw[:4] != _PREFIX or len(raw) != 36 or cid_from_digest(raw[4:]) != cid:
        raise InvalidInput(field, f"{cid!r} is not a canonical CIDv1 raw sha2-256 id")
    return raw[4:]


def is_cid(value: str) -> bool:
    """Whether ``value`` is a canonical raw sha2-256 CIDv1."""
    try:
        cid_digest(value)
    except InvalidInput:
        return False
    return True


def cids_from_digests(digests: list[bytes] | bytes | bytearray | memoryview) -> list[str]:
    """The CIDv1 (raw, sha2-256, base32) of each 32-byte sha2-256 digest, in order: a list of
    digests, or their concatenation."""
    joined = digests if not isinstance(digests, list) else b"".join(digests)
    count = len(digests) if isinstance(digests, list) else len(joined) // 32
    if count == 0:
        return []
    raw = np.frombuffer(joined, dtype=np.uint8)
    if raw.size != 32 * count:
        raise ValueError("every sha2-256 digest has 32 bytes")
    # 40 bytes per row = 64 groups of 5 bits; the last 6 groups are padding and dropped
    rows = np.zeros((count, 40), dtype=np.uint8)
    rows[:, :4] = _PREFIX_ARRAY
    rows[:, 4:36] = raw.reshape(count, 32)
    groups = np.unpackbits(rows, axis=1).reshape(count, 64, 5)[:, :_CHARS, :]
    text = _ALPHABET[groups @ _WEIGHTS].tobytes().decode("ascii")
    return ["b" + text[start : start + _CHARS] for start in range(0, count * _CHARS, _CHARS)]
