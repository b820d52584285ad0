"""StandardMerkleTree: layout, proofs, verification and the OpenZeppelin JSON format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eth_abi.abi import encode
from eth_utils.crypto import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from datafair.crypto.merkle import (
    PAYOUT_LEAF_ENCODING,
    StandardMerkleTree,
    hash_pair,
    leaf_hash,
    process_proof,
)


def _leaves(n: int) -> list[tuple[int, str, int]]:
    return [(i, "0x" + f"{0x1000 + i:040x}", 10**18 + i) for i in range(n)]


def test_leaf_is_double_hashed_abi_encoding() -> None:
    value = (7, "0x" + "ab" * 20, 5)
    expected = keccak(keccak(encode(list(PAYOUT_LEAF_ENCODING), list(value))))
    assert leaf_hash(PAYOUT_LEAF_ENCODING, value) == expected


def test_pairs_hash_in_sorted_order() -> None:
    a, b = b"\x01" * 32, b"\x02" * 32
    assert hash_pair(a, b) == hash_pair(b, a) == keccak(a + b)


def test_single_leaf_tree_is_its_leaf() -> None:
    tree = StandardMerkleTree.of(_leaves(1), PAYOUT_LEAF_ENCODING)
    assert tree.root == leaf_hash(PAYOUT_LEAF_ENCODING, _leaves(1)[0])
    assert tree.proof(0) == []


def test_three_leaf_layout_matches_openzeppelin() -> None:
    values = _leaves(3)
    tree = StandardMerkleTree.of(values, PAYOUT_LEAF_ENCODING)
    hashes = sorted(leaf_hash(PAYOUT_LEAF_ENCODING, v) for v in values)
    # array [root, n1, h2, h1, h0]: leaves sorted by hash, placed from the end
    n1 = hash_pair(hashes[1], hashes[0])
    assert tree.root == hash_pair(n1, hashes[2])


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 70), st.data())
def test_every_proof_verifies_and_wrong_values_do_not(n: int, data: st.DataObject) -> None:
    values = _leaves(n)
    tree = StandardMerkleTree.of(values, PAYOUT_LEAF_ENCODING)
    i = data.draw(st.integers(0, n - 1))
    proof = tree.proof(i)
    assert StandardMerkleTree.verify(tree.root, PAYOUT_LEAF_ENCODING, values[i], proof)
    assert process_proof(leaf_hash(PAYOUT_LEAF_ENCODING, values[i]), proof) == tree.root
    forged = (values[i][0], values[i][1], values[i][2] + 1)
    assert not StandardMerkleTree.verify(tree.root, PAYOUT_LEAF_ENCODING, forged, proof)
    assert tree.leaf_index(values[i]) == i


def test_same_values_give_the_same_root_in_any_order() -> None:
    values = _leaves(20)
    one = StandardMerkleTree.of(values, PAYOUT_LEAF_ENCODING)
    two = StandardMerkleTree.of(list(reversed(values)), PAYOUT_LEAF_ENCODING)
    assert one.root == two.root


def test_dump_and_load_round_trip(tmp_path: Path) -> None:
    tree = StandardMerkleTree.of(_leaves(9), PAYOUT_LEAF_ENCODING)
    data = tree.dump()
    assert data["format"] == "standard-v1"
    assert data["values"][0]["value"][2] == str(10**18)  # big numbers as decimal strings
    again = StandardMerkleTree.load(json.loads(json.dumps(data)))
    assert again.root == tree.root and again.values() == tree.values()
    assert [again.proof(i) for i in range(9)] == [tree.proof(i) for i in range(9)]
    tree.save(tmp_path / "tree.json")
    assert StandardMerkleTree.read(tmp_path / "tree.json").root == tree.root


def test_other_leaf_types_round_trip() -> None:
    encoding = ("bytes32", "bool", "string", "int256")
    values = [(b"\x05" * 32, True, "hello", -3), (b"\x06" * 32, False, "", 4)]
    tree = StandardMerkleTree.of(values, encoding)
    again = StandardMerkleTree.load(tree.dump())
    assert again.root == tree.root and again.values() == tree.values()


def test_load_rejects_tampering() -> None:
    data = StandardMerkleTree.of(_leaves(5), PAYOUT_LEAF_ENCODING).dump()
    with pytest.raises(ValueError, match="format"):
        StandardMerkleTree.load({**data, "format": "simple-v1"})
    bad_value = json.loads(json.dumps(data))
    bad_value["values"][0]["value"][2] = "1"
    with pytest.raises(ValueError, match="does not hash its value"):
        StandardMerkleTree.load(bad_value)
    bad_node = json.loads(json.dumps(data))
    bad_node["tree"][1] = "0x" + "00" * 32
    with pytest.raises(ValueError, match="not the hash of its children"):
        StandardMerkleTree.load(bad_node)
    with pytest.raises(ValueError, match="not an address"):
        bad = json.loads(json.dumps(data))
        bad["values"][0]["value"][1] = "nope"
        StandardMerkleTree.load(bad)


def test_empty_tree_and_bad_index_are_errors() -> None:
    with pytest.raises(ValueError, match="at least one leaf"):
        StandardMerkleTree.of([], PAYOUT_LEAF_ENCODING)
    tree = StandardMerkleTree.of(_leaves(2), PAYOUT_LEAF_ENCODING)
    with pytest.raises(IndexError):
        tree.proof(2)
    with pytest.raises(KeyError):
        tree.leaf_index((9, "0x" + "00" * 20, 1))
