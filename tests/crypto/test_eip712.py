"""EIP-712 submission signatures: digests equal eth-account's, and every forgery is refused."""

from __future__ import annotations

import dataclasses

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from hypothesis import given, settings
from hypothesis import strategies as st

from datafair.core.errors import InvalidInput, SignatureError
from datafair.crypto.eip712 import (
    SubmissionDomain,
    SubmissionMessage,
    recover_signer,
    sign_submission,
    signing_digest,
    typed_data,
    verify_submission,
)
from datafair.sim.population import address_of, derive_key

KEY = derive_key(1, 0)
ADDRESS = address_of(KEY)
DOMAIN = SubmissionDomain(chain_id=31337)
CID = "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"
N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def _message(**changes: object) -> SubmissionMessage:
    base = SubmissionMessage(bytes([1]) * 32, CID, bytes([2]) * 32, ADDRESS, 1, 1000)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


@settings(max_examples=40, deadline=None)
@given(
    task=st.binary(min_size=32, max_size=32),
    answer=st.binary(min_size=32, max_size=32),
    nonce=st.integers(0, 2**64 - 1),
    duration=st.integers(0, 2**32 - 1),
    chain_id=st.integers(1, 2**63),
    cid=st.text(max_size=80),
)
def test_digest_and_signature_equal_eth_account(
    task: bytes, answer: bytes, nonce: int, duration: int, chain_id: int, cid: str
) -> None:
    domain = SubmissionDomain(chain_id=chain_id)
    message = SubmissionMessage(task, cid, answer, ADDRESS, nonce, duration)
    encoded = encode_typed_data(full_message=typed_data(domain, message))
    reference = Account.sign_message(encoded, KEY)
    assert signing_digest(domain, message) == bytes(reference.message_hash)
    assert sign_submission(KEY, domain, message) == bytes(reference.signature)


def test_valid_signature_verifies() -> None:
    message = _message()
    verify_submission(DOMAIN, message, sign_submission(KEY, DOMAIN, message))


@pytest.mark.parametrize(
    "field,value",
    [
        ("task_id", bytes([9]) * 32),
        ("item_cid", CID[:-1] + "f"),
        ("answer_hash", bytes([3]) * 32),
        ("nonce", 2),
        ("duration_ms", 1001),
    ],
)
def test_signature_for_other_message_is_refused(field: str, value: object) -> None:
    signature = sign_submission(KEY, DOMAIN, _message())
    with pytest.raises(SignatureError, match="not by the contributor"):
        verify_submission(DOMAIN, _message(**{field: value}), signature)


def test_signature_for_another_chain_is_refused() -> None:
    message = _message()
    signature = sign_submission(KEY, SubmissionDomain(chain_id=530), message)
    with pytest.raises(SignatureError, match="not by the contributor"):
        verify_submission(DOMAIN, message, signature)


def test_signature_by_another_key_is_refused() -> None:
    message = _message()
    with pytest.raises(SignatureError, match="not by the contributor"):
        verify_submission(DOMAIN, message, sign_submission(derive_key(1, 1), DOMAIN, message))


def test_high_s_signature_is_refused() -> None:
    message = _message()
    signature = sign_submission(KEY, DOMAIN, message)
    s = int.from_bytes(signature[32:64], "big")
    flipped = signature[:32] + (N - s).to_bytes(32, "big") + bytes((55 - signature[64],))
    with pytest.raises(SignatureError, match="high s"):
        verify_submission(DOMAIN, message, flipped)


@pytest.mark.parametrize(
    "signature,match",
    [
        (b"\x01" * 64, "65 bytes"),
        (b"\x01" * 64 + b"\x05", "recovery byte"),
        (b"\x00" * 64 + b"\x1b", "does not recover"),
    ],
)
def test_malformed_signatures_are_refused(signature: bytes, match: str) -> None:
    with pytest.raises(SignatureError, match=match):
        recover_signer(bytes(32), signature)


def test_v_as_zero_or_one_is_accepted() -> None:
    message = _message()
    signature = sign_submission(KEY, DOMAIN, message)
    verify_submission(DOMAIN, message, signature[:64] + bytes((signature[64] - 27,)))


@pytest.mark.parametrize(
    "field,value,match",
    [
        ("task_id", b"short", "task_id"),
        ("answer_hash", b"", "answer_hash"),
        ("nonce", -1, "nonce"),
        ("nonce", 2**64, "nonce"),
        ("duration_ms", 2**32, "duration_ms"),
        ("contributor", "0x1234", "contributor"),
    ],
)
def test_out_of_range_fields_are_named(field: str, value: object, match: str) -> None:
    with pytest.raises(InvalidInput, match=match):
        verify_submission(DOMAIN, _message(**{field: value}), b"\x00" * 65)
