"""A compact map from fixed-width byte keys (SHA-256 digests, id hashes) to small integers.

An import of millions of rows checks every row's content digest (duplicates) and id (an id
names one content) against all rows before it. A ``dict`` of ``bytes`` keys costs about 150
bytes per key in CPython; this index keeps the newest keys in such a dict and moves them, every
``spill`` keys (or every sixteenth of the index, whichever is more), into three numpy arrays
sorted by key prefix: the first 8 bytes as ``uint64``, the whole key (``width`` bytes, to tell
keys sharing a prefix apart) and the value (``int32``): ``width + 12`` bytes per key, plus an
8 MiB Bloom filter (Bloom 1970; two bit positions taken from the prefix) over the sorted keys.
A look-up is a dict probe, then the filter, which rules out almost every key not stored (the
common case on import), then a binary search (:func:`numpy.searchsorted`) over the prefixes.
A spill sorts the recent keys and inserts them (:func:`numpy.insert`).

Inputs: the key width in bytes (at least 8) and the spill size. Keys are exactly ``width``
bytes; values are non-negative and below 2**31.
"""

from __future__ import annotations

import numpy as np

SPILL = 16_384
_BLOOM_MASK = (1 << 26) - 1


class KeyIndex:
    """``key -> value`` for ``width``-byte keys, in about ``width + 12`` bytes per key."""

    def __init__(self, width: int, spill: int = SPILL) -> None:
        if width < 8:
            raise ValueError("keys must be at least 8 bytes wide")
        self.width = width
        self.spill = spill
        self._recent: dict[bytes, int] = {}
        self._prefixes = np.empty(0, dtype=np.uint64)
        self._keys = np.empty((0, width), dtype=np.uint8)
        self._values = np.empty(0, dtype=np.int32)
        self._size = 0
        self._bloom = np.zeros(0, dtype=np.uint8)
        self._bits = self._bloom.data

    def __len__(self) -> int:
        return len(self._recent) + self._size

    def get(self, key: bytes) -> int | None:
        """The value stored for ``key``, or ``None``."""
        value = self._recent.get(key)
        if value is not None or not self._size:
            return value
        prefix = int.from_bytes(key[:8], "little")
        bits = self._bits
        low, high = prefix & _BLOOM_MASK, (prefix >> 32) & _BLOOM_MASK
        if not (bits[low >> 3] >> (low & 7)) & 1 or not (bits[high >> 3] >> (high & 7)) & 1:
            return None  # certainly not among the sorted keys (the common case: a new key)
        prefixes = self._prefixes
        position = int(prefixes.searchsorted(np.uint64(prefix)))
        while position < self._size and prefixes.item(position) == prefix:
            if self._keys[position].tobytes() == key:
                return int(self._values.item(position))
            position += 1
        return None

    def add(self, key: bytes, value: int) -> None:
        """Store ``value`` for ``key`` (a key not stored yet: callers look it up first)."""
        if len(key) != self.width:
            raise ValueError(f"keys are {self.width} bytes, got {len(key)}")
        self._recent[key] = value
        if len(self._recent) >= max(self.spill, self._size // 16):
            self._merge()

    def _merge(self) -> None:
        """Move the recent keys into the sorted arrays (each array is rebuilt once: at most
        one old and one new copy of it exist at a time)."""
        count = len(self._recent)
        raw = np.frombuffer(b"".join(self._recent), dtype=np.uint8).reshape(count, self.width)
        prefixes = raw[:, :8].copy().view("<u8").reshape(count).astype(np.uint64)
        values = np.fromiter(self._recent.values(), dtype=np.int32, count=count)
        self._recent = {}
        if not self._size:
            self._bloom = np.zeros((_BLOOM_MASK + 1) // 8, dtype=np.uint8)
            self._bits = self._bloom.data
        order = np.argsort(prefixes, kind="stable")
        prefixes = prefixes[order]
        at = np.searchsorted(self._prefixes, prefixes, side="right")
        self._prefixes = np.insert(self._prefixes, at, prefixes)
        self._keys = np.insert(self._keys, at, raw[order], axis=0)
        self._values = np.insert(self._values, at, values[order])
        self._size = len(self._values)
        for hashed in (prefixes & _BLOOM_MASK, (prefixes >> np.uint64(32)) & _BLOOM_MASK):
            np.bitwise_or.at(
                self._bloom, hashed >> np.uint64(3), np.left_shift(1, hashed & 7).astype(np.uint8)
            )
