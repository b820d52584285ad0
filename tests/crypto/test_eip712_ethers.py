"""Interop: signatures from ethers v6 ``signTypedData`` verify here, and ours verify in ethers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from datafair.crypto.eip712 import (
    SubmissionDomain,
    SubmissionMessage,
    sign_submission,
    typed_data,
    verify_submission,
)
from datafair.sim.population import address_of, derive_key

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "tests" / "js" / "eip712.mjs"

pytestmark = pytest.mark.node


def _ethers(request: dict[str, object]) -> dict[str, str]:
    node = shutil.which("node")
    if node is None or not (REPO / "node_modules" / "ethers").is_dir():
        pytest.fail("node and the npm packages are needed: run 'npm ci' (make test does)")
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
    return dict(json.loads(done.stdout))


def _message(contributor: str) -> SubmissionMessage:
    return SubmissionMessage(
        task_id=bytes(range(32)),
        item_cid="bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e",
        answer_hash=bytes(range(32, 64)),
        contributor=contributor,
        nonce=2**40 + 7,
        duration_ms=15_250,
    )


def test_ethers_signature_verifies_in_python() -> None:
    key = derive_key(7, 0)
    domain, message = SubmissionDomain(chain_id=530), _message(address_of(key))
    data = typed_data(domain, message)
    answer = _ethers({"op": "sign", "privateKey": "0x" + key.hex(), **data})
    signature = bytes.fromhex(answer["signature"][2:])
    verify_submission(domain, message, signature)
    assert signature == sign_submission(key, domain, message)


def test_python_signature_verifies_in_ethers() -> None:
    key = derive_key(7, 1)
    domain, message = SubmissionDomain(chain_id=31337), _message(address_of(key))
    signature = sign_submission(key, domain, message)
    answer = _ethers(
        {"op": "verify", **typed_data(domain, message), "signature": "0x" + signature.hex()}
    )
    assert answer["signer"].lower() == address_of(key)


def test_ethers_rejects_python_signature_for_another_chain() -> None:
    key = derive_key(7, 2)
    message = _message(address_of(key))
    signature = sign_submission(key, SubmissionDomain(chain_id=1), message)
    answer = _ethers(
        {
            "op": "verify",
            **typed_data(SubmissionDomain(chain_id=530), message),
            "signature": "0x" + signature.hex(),
        }
    )
    assert answer["signer"].lower() != address_of(key)
