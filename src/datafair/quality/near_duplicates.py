"""Near-duplicate detection: MinHash + LSH over text shingles, perceptual hashes over images.

**Texts.** A text is normalised (Unicode NFKC, case-folded, runs of white space made one
space) and cut into its overlapping byte 5-grams (*shingles*, Broder 1997); each shingle, read
as a 40-bit integer, is mixed (splitmix64 finaliser) and hashed by :data:`NUM_PERM` fixed
multiply-shift hash functions (Dietzfelbinger et al. 1997; seeds from :data:`SEED`, so every
node computes the same values). The minimum of each function over the shingles is the MinHash
signature (Broder 1997): two texts agree on a function with probability equal to the Jaccard
similarity of their shingle sets. Only the lowest 8 bits of each minimum are kept (*b-bit
minwise hashing*, Li & König 2010), so a signature is :data:`NUM_PERM` bytes, and the Jaccard
similarity is estimated as ``(m - 1/256) / (1 - 1/256)`` with ``m`` the fraction of equal bytes.

The index (:class:`TextIndex`) is banded LSH (Indyk & Motwani 1998; Leskovec et al., *Mining of
Massive Datasets*, ch. 3): the signature's :data:`BANDS` bands of :data:`ROWS` bytes are read as
32-bit keys; items sharing a key with the query in any band are candidates, and a candidate
whose estimated similarity reaches the threshold is a near duplicate. Each band is a sorted key
array searched with ``numpy.searchsorted``, plus a small unsorted tail of recent additions merged
into the sorted part every :data:`MERGE_EVERY` additions; a query costs ``BANDS`` binary
searches and one vectorised comparison, whatever the number of items. With 16 bands of 4 rows,
pairs at Jaccard 0.8 become candidates with probability ``1 - (1 - 0.8**4)**16 > 0.9999``.

**Images.** The perceptual hash (pHash; Zauner 2010): the 32x32 grey-level image, its 2-D
DCT-II, the 8x8 lowest frequencies, each bit set when the coefficient exceeds their median
(the DC term excluded from the median). Images within :data:`DEFAULT_IMAGE_DISTANCE` bits
(Hamming) are near duplicates; :class:`ImageIndex` compares a hash with all of them at once
(XOR and ``numpy.bitwise_count``).

Pure: numpy and scipy only; resizing an image to 32x32 grey levels is the caller's job.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.fft import dctn

NUM_PERM = 64
BANDS = 16
ROWS = NUM_PERM // BANDS
SHINGLE = 5
SEED = 20_260_613
MERGE_EVERY = 4096
DEFAULT_TEXT_THRESHOLD = 0.8
DEFAULT_IMAGE_DISTANCE = 6
PHASH_SIZE = 32

_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)
_rng = np.random.default_rng(SEED)
_A = (_rng.integers(0, 2**63, NUM_PERM, dtype=np.uint64) << np.uint64(1)) | np.uint64(1)
_B = _rng.integers(0, 2**63, NUM_PERM, dtype=np.uint64)
_WEIGHTS = np.array([1 << (8 * (SHINGLE - 1 - k)) for k in range(SHINGLE)], dtype=np.uint64)
_EMPTY_KEYS = np.zeros(0, dtype=np.uint32)
_EMPTY_IDS = np.zeros(0, dtype=np.int64)


def normalise_text(text: str) -> str:
    """NFKC, case-folded, white space collapsed to single spaces, stripped."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _shingles(text: str) -> NDArray[np.uint64]:
    data = np.frombuffer(normalise_text(text).encode("utf-8"), dtype=np.uint8)
    if data.shape[0] < SHINGLE:
        padded = np.zeros(SHINGLE, dtype=np.uint8)
        padded[: data.shape[0]] = data
        data = padded
    windows = np.lib.stride_tricks.sliding_window_view(data, SHINGLE).astype(np.uint64)
    values: NDArray[np.uint64] = windows @ _WEIGHTS
    return values


def _mix(x: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """splitmix64's finaliser: spreads the shingle bits over all 64 bits."""
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def text_signature(text: str) -> NDArray[np.uint8]:
    """The :data:`NUM_PERM`-byte b-bit MinHash signature of ``text`` (see the module rule)."""
    mixed = _mix(_shingles(text))
    with np.errstate(over="ignore"):
        hashed = (_A[:, None] * mixed[None, :] + _B[:, None]) >> np.uint64(32)
    signature: NDArray[np.uint8] = (hashed.min(axis=1) & np.uint64(0xFF)).astype(np.uint8)
    return signature


def _batch_shingles(texts: Sequence[str]) -> tuple[NDArray[np.uint64], NDArray[np.int64]]:
    """Every text's shingles, concatenated, and where each text's run starts.

    The texts' normalised bytes (each padded to at least :data:`SHINGLE` bytes) are laid end to
    end; a window is read at every offset and the windows that straddle two texts dropped, so
    the values equal :func:`_shingles` of each text, without a Python step per shingle.
    """
    encoded = [normalise_text(text).encode("utf-8").ljust(SHINGLE, b"\0") for text in texts]
    lengths = np.fromiter((len(e) for e in encoded), dtype=np.int64, count=len(encoded))
    data = np.frombuffer(b"".join(encoded), dtype=np.uint8).astype(np.uint64)
    total = data.shape[0] - SHINGLE + 1
    values = np.zeros(total, dtype=np.uint64)
    for k in range(SHINGLE):
        values = (values << np.uint64(8)) | data[k : k + total]
    counts = lengths - (SHINGLE - 1)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    run_starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    # position of each kept window: its text's offset plus its rank inside the text
    keep = np.arange(int(counts.sum()), dtype=np.int64) + np.repeat(offsets - run_starts, counts)
    return values[keep], run_starts


def text_signatures(texts: Sequence[str], chunk: int = 20_000) -> NDArray[np.uint8]:
    """Signatures of many texts, one row each (``len(texts) x NUM_PERM`` bytes); equal to
    :func:`text_signature` of each, computed ``chunk`` texts at a time."""
    out = np.zeros((len(texts), NUM_PERM), dtype=np.uint8)
    for first in range(0, len(texts), chunk):
        shingles, starts = _batch_shingles(texts[first : first + chunk])
        mixed = _mix(shingles)
        rows = slice(first, first + starts.shape[0])
        with np.errstate(over="ignore"):
            for k in range(NUM_PERM):
                hashed = (_A[k] * mixed + _B[k]) >> np.uint64(32)
                minima = np.minimum.reduceat(hashed, starts)
                out[rows, k] = (minima & np.uint64(0xFF)).astype(np.uint8)
    return out


def estimated_jaccard(
    signature: NDArray[np.uint8], others: NDArray[np.uint8]
) -> NDArray[np.float64]:
    """Estimated Jaccard similarity of ``signature`` with each row of ``others`` (b-bit
    correction for 8-bit values, clipped to ``[0, 1]``)."""
    equal = (others == signature[None, :]).mean(axis=1)
    chance = 1.0 / 256.0
    estimate: NDArray[np.float64] = np.clip((equal - chance) / (1.0 - chance), 0.0, 1.0)
    return estimate


def _band_keys(signatures: NDArray[np.uint8]) -> NDArray[np.uint32]:
    """``(n, BANDS)`` 32-bit keys: each band's :data:`ROWS` signature bytes read as one word."""
    rows = np.ascontiguousarray(signatures, dtype=np.uint8).reshape(-1, NUM_PERM)
    keys: NDArray[np.uint32] = rows.view(np.uint32).reshape(-1, BANDS)
    return keys


@dataclass(frozen=True)
class Match:
    """The best near duplicate found: the matched item's id and the similarity measured."""

    item_id: int
    similarity: float


class TextIndex:
    """MinHash LSH over text signatures; ids are any non-negative integers the caller picks.

    ``threshold`` is the estimated Jaccard similarity from which a text is a near duplicate.
    """

    def __init__(self, threshold: float = DEFAULT_TEXT_THRESHOLD) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {threshold}")
        self.threshold = threshold
        self._signatures = np.zeros((0, NUM_PERM), dtype=np.uint8)
        self._ids = _EMPTY_IDS
        self._sorted_keys = [_EMPTY_KEYS] * BANDS
        self._sorted_rows = [_EMPTY_IDS] * BANDS
        self._n_sorted = 0
        self._tail: list[NDArray[np.uint8]] = []
        self._tail_ids: list[int] = []

    def __len__(self) -> int:
        return self._signatures.shape[0] + len(self._tail)

    def add_many(
        self, ids: Sequence[int] | NDArray[np.int64], signatures: NDArray[np.uint8]
    ) -> None:
        """Add items in bulk (``signatures`` one row per id) and re-sort the bands."""
        self._flush()
        ids_array = np.asarray(ids, dtype=np.int64)
        signatures = np.asarray(signatures, dtype=np.uint8).reshape(-1, NUM_PERM)
        if ids_array.shape[0] != signatures.shape[0]:
            raise ValueError("one signature per id is needed")
        self._signatures = np.concatenate([self._signatures, signatures])
        self._ids = np.concatenate([self._ids, ids_array])
        self._resort()

    def add(self, item_id: int, signature: NDArray[np.uint8]) -> None:
        """Add one item; it is searchable at once (the bands are re-sorted in batches)."""
        self._tail.append(np.asarray(signature, dtype=np.uint8).reshape(NUM_PERM))
        self._tail_ids.append(int(item_id))
        if len(self._tail) >= MERGE_EVERY:
            self._flush()
            self._resort()

    def _flush(self) -> None:
        if self._tail:
            self._signatures = np.concatenate([self._signatures, np.stack(self._tail)])
            self._ids = np.concatenate([self._ids, np.asarray(self._tail_ids, dtype=np.int64)])
            self._tail, self._tail_ids = [], []

    def _resort(self) -> None:
        keys = _band_keys(self._signatures)
        self._sorted_rows = [np.argsort(keys[:, b], kind="stable") for b in range(BANDS)]
        self._sorted_keys = [keys[rows, b] for b, rows in enumerate(self._sorted_rows)]
        self._n_sorted = self._signatures.shape[0]

    def candidates(self, signature: NDArray[np.uint8]) -> NDArray[np.int64]:
        """Rows (positions of the sorted part, then the tail) sharing a band with ``signature``."""
        query = _band_keys(signature)[0]
        found: list[NDArray[np.int64]] = []
        for band in range(BANDS):
            keys = self._sorted_keys[band]
            lo = np.searchsorted(keys, query[band], side="left")
            hi = np.searchsorted(keys, query[band], side="right")
            if hi > lo:
                found.append(self._sorted_rows[band][lo:hi])
        if self._tail:
            tail_keys = _band_keys(np.stack(self._tail))
            hits = np.flatnonzero((tail_keys == query[None, :]).any(axis=1))
            found.append(hits + self._n_sorted)
        if not found:
            return _EMPTY_IDS
        return np.unique(np.concatenate(found))

    def query(self, signature: NDArray[np.uint8]) -> Match | None:
        """The most similar indexed item at or above the threshold, or ``None``."""
        rows = self.candidates(signature)
        if rows.shape[0] == 0:
            return None
        in_sorted = rows[rows < self._n_sorted]
        in_tail = rows[rows >= self._n_sorted] - self._n_sorted
        signatures = self._signatures[in_sorted]
        ids = self._ids[in_sorted]
        if in_tail.shape[0]:
            signatures = np.concatenate([signatures, np.stack([self._tail[i] for i in in_tail])])
            ids = np.concatenate([ids, np.asarray([self._tail_ids[i] for i in in_tail])])
        similarity = estimated_jaccard(np.asarray(signature, dtype=np.uint8), signatures)
        best = int(np.argmax(similarity))
        if similarity[best] < self.threshold:
            return None
        return Match(int(ids[best]), float(similarity[best]))


def perceptual_hash(grey: NDArray[np.floating] | NDArray[np.integer]) -> int:
    """The 64-bit pHash of a :data:`PHASH_SIZE` x :data:`PHASH_SIZE` grey-level image."""
    pixels = np.asarray(grey, dtype=np.float64)
    if pixels.shape != (PHASH_SIZE, PHASH_SIZE):
        raise ValueError(f"pHash needs a {PHASH_SIZE}x{PHASH_SIZE} grey image, got {pixels.shape}")
    low = dctn(pixels, type=2, norm="ortho")[:8, :8].ravel()
    median = np.median(low[1:])
    bits = (low > median).astype(np.uint64)
    return int((bits << np.arange(63, -1, -1, dtype=np.uint64)).sum())


class ImageIndex:
    """Perceptual hashes of images; a query is one XOR and popcount over all of them."""

    def __init__(self, max_distance: int = DEFAULT_IMAGE_DISTANCE) -> None:
        if not 0 <= max_distance <= 64:
            raise ValueError(f"max_distance must be 0..64 bits, got {max_distance}")
        self.max_distance = max_distance
        self._hashes = np.zeros(0, dtype=np.uint64)
        self._ids = _EMPTY_IDS

    def __len__(self) -> int:
        return int(self._hashes.shape[0])

    def add_many(self, ids: Sequence[int], hashes: Sequence[int]) -> None:
        self._hashes = np.concatenate([self._hashes, np.asarray(hashes, dtype=np.uint64)])
        self._ids = np.concatenate([self._ids, np.asarray(ids, dtype=np.int64)])

    def add(self, item_id: int, phash: int) -> None:
        self.add_many([item_id], [phash])

    def query(self, phash: int) -> Match | None:
        """The closest indexed image within ``max_distance`` bits, or ``None``; its
        similarity is ``1 - distance / 64``."""
        if not self._hashes.shape[0]:
            return None
        distance = np.bitwise_count(self._hashes ^ np.uint64(phash))
        best = int(np.argmin(distance))
        if int(distance[best]) > self.max_distance:
            return None
        return Match(int(self._ids[best]), 1.0 - int(distance[best]) / 64.0)
