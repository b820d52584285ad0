"""Interop: our trees, proofs and dumps agree with npm @openzeppelin/merkle-tree, both ways."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from datafair.crypto.merkle import PAYOUT_LEAF_ENCODING, StandardMerkleTree

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "tests" / "js" / "merkle_oz.mjs"

pytestmark = pytest.mark.node


def _oz(request: dict[str, Any]) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None or not (REPO / "node_modules" / "@openzeppelin" / "merkle-tree").is_dir():
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


def _values(n: int) -> list[tuple[int, str, int]]:
    return [(i, "0x" + f"{(i * 7919 + 1) % 2**160:040x}", 10**18 * (i + 1) + i) for i in range(n)]


@pytest.mark.parametrize("n", [1, 2, 3, 8, 37])
def test_python_tree_loads_and_proves_in_javascript(n: int) -> None:
    tree = StandardMerkleTree.of(_values(n), PAYOUT_LEAF_ENCODING)
    answer = _oz({"op": "load", "dump": tree.dump()})
    assert answer["root"] == "0x" + tree.root.hex()
    assert answer["proofs"] == [["0x" + p.hex() for p in tree.proof(i)] for i in range(n)]


def test_javascript_tree_loads_and_proves_in_python() -> None:
    values = [[str(i), address, str(amount)] for i, address, amount in _values(25)]
    answer = _oz({"op": "build", "values": values, "encoding": list(PAYOUT_LEAF_ENCODING)})
    ours = StandardMerkleTree.of(_values(25), PAYOUT_LEAF_ENCODING)
    loaded = StandardMerkleTree.load(answer["dump"])
    assert "0x" + loaded.root.hex() == answer["root"] == "0x" + ours.root.hex()
    for i, proof in enumerate(answer["proofs"]):
        as_bytes = [bytes.fromhex(p[2:]) for p in proof]
        assert as_bytes == ours.proof(i)
        assert StandardMerkleTree.verify(ours.root, PAYOUT_LEAF_ENCODING, _values(25)[i], as_bytes)


def test_javascript_verifies_python_proofs_and_rejects_forgeries() -> None:
    values = _values(12)
    tree = StandardMerkleTree.of(values, PAYOUT_LEAF_ENCODING)
    checks = []
    for i, (index, account, amount) in enumerate(values):
        proof = ["0x" + p.hex() for p in tree.proof(i)]
        checks.append({"value": [str(index), account, str(amount)], "proof": proof})
        checks.append({"value": [str(index), account, str(amount + 1)], "proof": proof})
    answer = _oz(
        {
            "op": "verify",
            "root": "0x" + tree.root.hex(),
            "encoding": list(PAYOUT_LEAF_ENCODING),
            "checks": checks,
        }
    )
    assert answer["results"] == [True, False] * len(values)
