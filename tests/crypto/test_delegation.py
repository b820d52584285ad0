"""Session-key delegations: the digest is EIP-712's (checked against eth-account), ethers v6
signs the same bytes, and bad fields are refused by name."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from eth_account.messages import encode_typed_data

from datafair.core.errors import InvalidInput, SignatureError
from datafair.crypto.delegation import (
    DelegationMessage,
    delegation_digest,
    delegation_typed_data,
    sign_delegation,
    verify_delegation,
)
from datafair.crypto.eip712 import SubmissionDomain
from datafair.sim.population import address_of, derive_key

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "tests" / "js" / "eip712.mjs"
WALLET_KEY = derive_key(11, 0)
SESSION_KEY = derive_key(11, 1)


def _message(**changes: object) -> DelegationMessage:
    fields: dict[str, object] = {
        "wallet": address_of(WALLET_KEY),
        "session_key": address_of(SESSION_KEY),
        "task_ids": (bytes(range(32)), bytes(range(32, 64))),
        "expires_at": 1_900_000_000,
        "max_answers": 500,
        "nonce": 2**40 + 3,
    }
    fields.update(changes)
    return DelegationMessage(**fields)  # type: ignore[arg-type]


def test_digest_matches_eth_account_general_encoder() -> None:
    domain = SubmissionDomain(chain_id=530)
    message = _message()
    encoded = encode_typed_data(full_message=delegation_typed_data(domain, message))
    expected = b"\x19" + encoded.version + encoded.header + encoded.body
    from eth_utils import keccak

    assert delegation_digest(domain, message) == keccak(expected)


def test_sign_verify_and_refuse_another_key_or_chain() -> None:
    domain = SubmissionDomain(chain_id=31337)
    message = _message()
    signature = sign_delegation(WALLET_KEY, domain, message)
    verify_delegation(domain, message, signature)
    with pytest.raises(SignatureError, match="not by the wallet"):
        verify_delegation(SubmissionDomain(chain_id=1), message, signature)
    with pytest.raises(SignatureError, match="not by the wallet"):
        verify_delegation(domain, message, sign_delegation(SESSION_KEY, domain, message))


def test_json_round_trip_and_numbers_as_strings() -> None:
    data = _message().as_dict()
    assert DelegationMessage.from_dict(data).as_dict() == data
    data["expiresAt"] = str(data["expiresAt"])
    assert DelegationMessage.from_dict(data).as_dict()["expiresAt"] == 1_900_000_000


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"task_ids": ()}, "task_ids"),
        ({"task_ids": (b"short",)}, "task_ids"),
        ({"max_answers": 0}, "max_answers"),
        ({"expires_at": 0}, "expires_at"),
        ({"nonce": 2**64}, "nonce"),
        ({"wallet": "0x1234"}, "wallet"),
        ({"session_key": address_of(WALLET_KEY)}, "session_key"),
    ],
)
def test_bad_fields_are_named(changes: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        _message(**changes).check()
    assert refused.value.field == field


def test_from_dict_names_missing_and_mistyped_fields() -> None:
    data = _message().as_dict()
    del data["maxAnswers"]
    with pytest.raises(InvalidInput, match="maxAnswers"):
        DelegationMessage.from_dict(data)
    data = _message().as_dict()
    data["taskIds"] = ["0xzz"]
    with pytest.raises(InvalidInput, match="taskIds"):
        DelegationMessage.from_dict(data)


@pytest.mark.node
def test_ethers_signs_the_same_delegation() -> None:
    node = shutil.which("node")
    if node is None or not (REPO / "node_modules" / "ethers").is_dir():
        pytest.fail("node and the npm packages are needed: run 'npm ci' (make test does)")
    domain = SubmissionDomain(chain_id=530)
    message = _message()
    request = {"op": "sign", "privateKey": "0x" + WALLET_KEY.hex()}
    request.update(delegation_typed_data(domain, message))
    done = subprocess.run(
        [node, str(SCRIPT)],
        input=json.dumps(request).encode(),
        capture_output=True,
        cwd=REPO,
        timeout=60,
        check=False,
        env={**os.environ, "NODE_PATH": str(REPO / "node_modules")},
    )
    assert done.returncode == 0, done.stderr.decode()
    signature = bytes.fromhex(json.loads(done.stdout)["signature"][2:])
    verify_delegation(domain, message, signature)
    assert signature == sign_delegation(WALLET_KEY, domain, message)
