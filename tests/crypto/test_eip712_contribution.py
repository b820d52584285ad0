"""EIP-712 contribution signatures: digests equal eth-account's and ethers v6's, forgeries fail."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from hypothesis import given, settings
from hypothesis import strategies as st

from datafair.core.canonical import keccak256
from datafair.core.errors import InvalidInput, SignatureError
from datafair.crypto.eip712 import (
    CONTRIBUTION_TYPE,
    SUBMISSION_TYPEHASH,
    ContributionMessage,
    SubmissionDomain,
    SubmissionMessage,
    contribution_digest,
    contribution_typed_data,
    sign_contribution,
    signing_digest,
    verify_contribution,
)
from datafair.sim.population import address_of, derive_key

REPO = Path(__file__).resolve().parents[2]


def _ethers(request: dict[str, object]) -> dict[str, str]:
    """Ask the ethers v6 peer (tests/js/eip712.mjs) to sign or verify typed data."""
    node = shutil.which("node")
    if node is None or not (REPO / "node_modules" / "ethers").is_dir():
        pytest.fail("node and the npm packages are needed: run 'npm ci' (make test does)")
    done = subprocess.run(
        [node, str(REPO / "tests" / "js" / "eip712.mjs")],
        input=json.dumps(request).encode(),
        capture_output=True,
        cwd=REPO,
        timeout=60,
        check=False,
        env={**os.environ, "NODE_PATH": str(REPO / "node_modules")},
    )
    assert done.returncode == 0, done.stderr.decode()
    return dict(json.loads(done.stdout))


KEY = derive_key(3, 0)
ADDRESS = address_of(KEY)
DOMAIN = SubmissionDomain(chain_id=31337)
CID = "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"


def _message(**changes: object) -> ContributionMessage:
    base = ContributionMessage(bytes([9]) * 32, CID, keccak256(b'{"format":"text"}'), ADDRESS, 5, 0)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


@settings(max_examples=30, deadline=None)
@given(
    task=st.binary(min_size=32, max_size=32),
    cid=st.text(min_size=1, max_size=80),
    descriptor=st.binary(min_size=32, max_size=32),
    nonce=st.integers(0, 2**64 - 1),
    duration=st.integers(0, 2**32 - 1),
    chain_id=st.integers(1, 2**63),
)
def test_digest_and_signature_equal_eth_account(
    task: bytes, cid: str, descriptor: bytes, nonce: int, duration: int, chain_id: int
) -> None:
    domain = SubmissionDomain(chain_id=chain_id)
    message = ContributionMessage(task, cid, descriptor, ADDRESS, nonce, duration)
    encoded = encode_typed_data(full_message=contribution_typed_data(domain, message))
    reference = Account.sign_message(encoded, KEY)
    assert contribution_digest(domain, message) == bytes(reference.message_hash)
    assert sign_contribution(KEY, domain, message) == bytes(reference.signature)


def test_type_string_and_not_a_submission() -> None:
    assert CONTRIBUTION_TYPE.startswith("Contribution(bytes32 taskId,string itemCid,")
    message = _message()
    as_submission = SubmissionMessage(*dataclasses.astuple(message))
    # same fields, another type: a submission signature is never a contribution signature
    assert contribution_digest(DOMAIN, message) != signing_digest(DOMAIN, as_submission)
    assert keccak256(SUBMISSION_TYPEHASH) != keccak256(CONTRIBUTION_TYPE.encode())


def test_verify_accepts_own_and_refuses_forgeries() -> None:
    message = _message()
    signature = sign_contribution(KEY, DOMAIN, message)
    verify_contribution(DOMAIN, message, signature)
    for changed in (
        _message(item_cid=CID[:-1] + "a"),
        _message(descriptor_hash=keccak256(b'{"format":"image"}')),
        _message(nonce=6),
    ):
        with pytest.raises(SignatureError, match="not by the contributor"):
            verify_contribution(DOMAIN, changed, signature)
    with pytest.raises(SignatureError):
        verify_contribution(SubmissionDomain(chain_id=1), message, signature)


def test_bad_fields_are_one_line_errors() -> None:
    with pytest.raises(InvalidInput, match="descriptor_hash"):
        _message(descriptor_hash=b"\0").check()
    with pytest.raises(InvalidInput, match="nonce"):
        _message(nonce=2**64).check()


@pytest.mark.node
def test_ethers_and_python_agree() -> None:
    key = derive_key(3, 1)
    message = _message(contributor=address_of(key))
    data = contribution_typed_data(SubmissionDomain(chain_id=530), message)
    answer = _ethers({"op": "sign", "privateKey": "0x" + key.hex(), **data})
    signature = bytes.fromhex(answer["signature"][2:])
    verify_contribution(SubmissionDomain(chain_id=530), message, signature)
    assert signature == sign_contribution(key, SubmissionDomain(chain_id=530), message)
    ours = sign_contribution(key, DOMAIN, message)
    back = _ethers(
        {"op": "verify", **contribution_typed_data(DOMAIN, message), "signature": "0x" + ours.hex()}
    )
    assert back["signer"].lower() == address_of(key)
