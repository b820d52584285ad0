"""EIP-712 review signatures: digests equal eth-account's, and every forgery is refused."""

from __future__ import annotations

import dataclasses

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from hypothesis import given, settings
from hypothesis import strategies as st

from datafair.core.errors import InvalidInput, SignatureError
from datafair.crypto.eip712 import (
    REVIEW_TYPE,
    ReviewMessage,
    SubmissionDomain,
    review_digest,
    review_typed_data,
    sign_review,
    submission_hash,
    verify_review,
)
from datafair.sim.population import address_of, derive_key

KEY = derive_key(1, 0)
ADDRESS = address_of(KEY)
OTHER_KEY = derive_key(1, 1)
DOMAIN = SubmissionDomain(chain_id=31337)


def _message(**changes: object) -> ReviewMessage:
    base = ReviewMessage(bytes([1]) * 32, submission_hash(bytes(65)), ADDRESS, 1, 0)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


@settings(max_examples=40, deadline=None)
@given(
    task=st.binary(min_size=32, max_size=32),
    reviewed=st.binary(min_size=65, max_size=65),
    verdict=st.sampled_from([0, 1, 2]),
    rating=st.integers(0, 5),
    chain_id=st.integers(1, 2**63),
)
def test_digest_and_signature_equal_eth_account(
    task: bytes, reviewed: bytes, verdict: int, rating: int, chain_id: int
) -> None:
    if verdict == 0 and rating == 0:
        rating = 3
    domain = SubmissionDomain(chain_id=chain_id)
    message = ReviewMessage(task, submission_hash(reviewed), ADDRESS, verdict, rating)
    encoded = encode_typed_data(full_message=review_typed_data(domain, message))
    reference = Account.sign_message(encoded, KEY)
    assert review_digest(domain, message) == bytes(reference.message_hash)
    assert sign_review(KEY, domain, message) == bytes(reference.signature)


def test_type_string_lists_the_fields_in_order() -> None:
    assert REVIEW_TYPE == (
        "Review(bytes32 taskId,bytes32 submissionHash,address reviewer,uint8 verdict,uint8 rating)"
    )


def test_valid_signature_verifies() -> None:
    message = _message()
    verify_review(DOMAIN, message, sign_review(KEY, DOMAIN, message))


@pytest.mark.parametrize(
    "field,value",
    [
        ("task_id", bytes([9]) * 32),
        ("submission_hash", bytes([3]) * 32),
        ("verdict", 2),
        ("rating", 4),
    ],
)
def test_signature_for_other_review_is_refused(field: str, value: object) -> None:
    signature = sign_review(KEY, DOMAIN, _message())
    with pytest.raises(SignatureError, match="not by the reviewer"):
        verify_review(DOMAIN, _message(**{field: value}), signature)


def test_signature_for_another_chain_or_by_another_key_is_refused() -> None:
    message = _message()
    with pytest.raises(SignatureError, match="not by the reviewer"):
        verify_review(DOMAIN, message, sign_review(KEY, SubmissionDomain(530), message))
    with pytest.raises(SignatureError, match="not by the reviewer"):
        verify_review(DOMAIN, message, sign_review(OTHER_KEY, DOMAIN, message))


@pytest.mark.parametrize(
    "changes,field",
    [
        ({"task_id": b"\x01"}, "task_id"),
        ({"submission_hash": b"\x01" * 31}, "submission_hash"),
        ({"verdict": 3}, "verdict"),
        ({"rating": 6}, "rating"),
        ({"verdict": 0, "rating": 0}, "verdict"),
        ({"reviewer": "0x1234"}, "reviewer"),
    ],
)
def test_malformed_fields_are_named(changes: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput, match=f"^{field}:"):
        _message(**changes).check()
