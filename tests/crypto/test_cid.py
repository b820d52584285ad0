"""CIDv1 (raw, sha2-256, base32) ids, checked against the multiformats reference."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st
from multiformats import CID

from datafair.core.errors import InvalidInput
from datafair.crypto.cid import cid_digest, compute_cid, is_cid


def test_hello_world_vector_matches_ipfs() -> None:
    # `ipfs add --cid-version 1 --raw-leaves` of the 11 bytes "hello world"
    assert compute_cid(b"hello world") == (
        "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"
    )


@given(st.binary(max_size=4096))
def test_matches_multiformats_reference(data: bytes) -> None:
    reference = CID("base32", 1, "raw", ("sha2-256", hashlib.sha256(data).digest()))
    assert compute_cid(data) == str(reference)


@given(st.binary(max_size=256))
def test_digest_round_trip(data: bytes) -> None:
    assert cid_digest(compute_cid(data)) == hashlib.sha256(data).digest()


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "hello",
        "QmWATWQ7fVPP2EFGu71UkfnqhYXDYH566qy47CnJDgvs8u",  # CIDv0 (dag-pb)
        "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi",  # dag-pb CIDv1
        "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5!",
    ],
)
def test_rejects_other_ids(bad: str) -> None:
    assert not is_cid(bad)
    with pytest.raises(InvalidInput, match="cid"):
        cid_digest(bad)
