"""The batch CID encoder gives exactly what ``compute_cid`` gives."""

from __future__ import annotations

import hashlib
import random

import pytest

from datafair.crypto.cid import cids_from_digests, compute_cid


def test_matches_compute_cid_on_many_inputs() -> None:
    rng = random.Random(7)
    contents = [rng.randbytes(rng.randrange(0, 200)) for _ in range(500)] + [b"hello world"]
    digests = [hashlib.sha256(content).digest() for content in contents]
    assert cids_from_digests(digests) == [compute_cid(content) for content in contents]


def test_known_vector() -> None:
    digest = hashlib.sha256(b"hello world").digest()
    assert cids_from_digests([digest]) == [
        "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"
    ]


def test_empty_and_bad_lengths() -> None:
    assert cids_from_digests([]) == []
    with pytest.raises(ValueError, match="32 bytes"):
        cids_from_digests([b"short"])
