"""CIDs of many items at once.

``datafair.crypto.cid.compute_cid`` encodes one CID in a few microseconds, most of it in the
standard library's pure-Python base32. An import hashes every item with ``hashlib.sha256``
(as ``compute_cid`` does) and then encodes all digests in one vectorised pass here: the same
``"b" + base32(0x01 0x55 0x12 0x20 || digest)`` layout, lower case, unpadded, at well under a
microsecond per item. The tests check it against ``compute_cid``.
"""

from __future__ import annotations

import numpy as np

_PREFIX = np.frombuffer(bytes((0x01, 0x55, 0x12, 0x20)), dtype=np.uint8)
_ALPHABET = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz234567", dtype=np.uint8)
_WEIGHTS = np.array([16, 8, 4, 2, 1], dtype=np.uint8)
_CHARS = 58  # ceil(36 bytes * 8 / 5): the unpadded base32 length of prefix + digest


def cids_from_digests(digests: list[bytes]) -> list[str]:
    """The CIDv1 (raw, sha2-256, base32) of each 32-byte sha2-256 digest, in order."""
    count = len(digests)
    if count == 0:
        return []
    raw = np.frombuffer(b"".join(digests), dtype=np.uint8)
    if raw.size != 32 * count:
        raise ValueError("every sha2-256 digest has 32 bytes")
    # 40 bytes per row = 64 groups of 5 bits; the last 6 groups are padding and dropped
    rows = np.zeros((count, 40), dtype=np.uint8)
    rows[:, :4] = _PREFIX
    rows[:, 4:36] = raw.reshape(count, 32)
    groups = np.unpackbits(rows, axis=1).reshape(count, 64, 5)[:, :_CHARS, :]
    text = _ALPHABET[groups @ _WEIGHTS].tobytes().decode("ascii")
    return ["b" + text[start : start + _CHARS] for start in range(0, count * _CHARS, _CHARS)]
