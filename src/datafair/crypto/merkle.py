"""Merkle trees in the layout of OpenZeppelin's ``StandardMerkleTree`` (npm merkle-tree package).

A leaf is ``keccak256(keccak256(abi.encode(values)))`` for a fixed list of ABI types (the *leaf
encoding*); inner nodes hash the sorted pair of their children, so proofs need no left/right flags
and verify with OpenZeppelin's ``MerkleProof`` or snekmate's ``merkle_proof_verification``. Leaves
are sorted by hash and laid out as a complete binary tree in one array (``tree[0]`` is the root),
exactly as the JavaScript library does, so roots, proofs and ``dump()`` files are interchangeable.

Payout trees use the leaf encoding ``("uint256", "address", "uint256")``: index, account, amount.
Royalty weight trees (DatasetMarket) use ``ROYALTY_LEAF_ENCODING``: chain id, market address,
dataset id, version, account, weight, so a proof is valid for one release on one market only.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eth_abi.abi import encode
from eth_utils.address import is_hex_address, to_checksum_address
from eth_utils.crypto import keccak

__all__ = [
    "PAYOUT_LEAF_ENCODING",
    "ROYALTY_LEAF_ENCODING",
    "StandardMerkleTree",
    "hash_pair",
    "leaf_hash",
    "process_proof",
]

PAYOUT_LEAF_ENCODING: tuple[str, ...] = ("uint256", "address", "uint256")
"""Leaf values of a payout tree: (index, account, amount)."""

ROYALTY_LEAF_ENCODING: tuple[str, ...] = (
    "uint256",
    "address",
    "uint256",
    "uint256",
    "address",
    "uint256",
)
"""Leaf values of a royalty tree: (chain id, market, dataset id, version, account, weight)."""

FORMAT = "standard-v1"


def leaf_hash(leaf_encoding: Sequence[str], value: Sequence[Any]) -> bytes:
    """``keccak256(keccak256(abi.encode(value)))``: the hash of one leaf."""
    return keccak(keccak(encode(list(leaf_encoding), list(value))))


def hash_pair(a: bytes, b: bytes) -> bytes:
    """Hash of two nodes in sorted order (OpenZeppelin's ``standardNodeHash``)."""
    return keccak(a + b) if a <= b else keccak(b + a)


def process_proof(leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root obtained by folding ``proof`` into ``leaf``."""
    node = leaf
    for sibling in proof:
        node = hash_pair(node, sibling)
    return node


def _to_hex(data: bytes) -> str:
    return "0x" + data.hex()


def _from_hex(text: str, what: str) -> bytes:
    if not isinstance(text, str) or not text.startswith("0x"):
        raise ValueError(f"{what}: expected a 0x-prefixed hex string, got {text!r}")
    return bytes.fromhex(text[2:])


def _value_to_json(abi_type: str, item: Any) -> Any:
    """One leaf component as OpenZeppelin writes it: big numbers as decimal strings."""
    if abi_type.startswith(("uint", "int")):
        return str(int(item))
    if abi_type == "address":
        return to_checksum_address(item)
    if abi_type.startswith("bytes"):
        return _to_hex(bytes(item))
    if abi_type == "bool":
        return bool(item)
    if abi_type == "string":
        return str(item)
    raise ValueError(f"leaf type {abi_type!r} is not supported in JSON dumps")


def _value_from_json(abi_type: str, item: Any) -> Any:
    """Inverse of ``_value_to_json``; also accepts what the JavaScript library writes."""
    if abi_type.startswith(("uint", "int")):
        if isinstance(item, bool) or not isinstance(item, int | str):
            raise ValueError(f"leaf value {item!r} is not an integer")
        return int(item, 0) if isinstance(item, str) else item
    if abi_type == "address":
        if not isinstance(item, str) or not is_hex_address(item):
            raise ValueError(f"leaf value {item!r} is not an address")
        return to_checksum_address(item)
    if abi_type.startswith("bytes"):
        return _from_hex(item, "leaf value")
    if abi_type == "bool":
        if not isinstance(item, bool):
            raise ValueError(f"leaf value {item!r} is not a boolean")
        return item
    if abi_type == "string":
        if not isinstance(item, str):
            raise ValueError(f"leaf value {item!r} is not a string")
        return item
    raise ValueError(f"leaf type {abi_type!r} is not supported in JSON dumps")


class StandardMerkleTree:
    """An OpenZeppelin-compatible Merkle tree over ABI-encoded leaf values.

    Build one with :meth:`of`; ``root``, ``proof(i)`` and ``verify`` work like the JavaScript
    ``StandardMerkleTree``; :meth:`dump` / :meth:`load` read and write its JSON format.
    """

    def __init__(
        self,
        tree: list[bytes],
        values: list[tuple[tuple[Any, ...], int]],
        leaf_encoding: Sequence[str],
    ) -> None:
        """Wrap an already laid-out tree; use :meth:`of` or :meth:`load` instead."""
        self._tree = tree
        self._values = values
        self.leaf_encoding: tuple[str, ...] = tuple(leaf_encoding)
        self._lookup: dict[bytes, int] | None = None

    @classmethod
    def of(
        cls,
        values: Sequence[Sequence[Any]],
        leaf_encoding: Sequence[str],
        *,
        sort_leaves: bool = True,
    ) -> StandardMerkleTree:
        """Build the tree of ``values`` (each a sequence matching ``leaf_encoding``)."""
        if not values:
            raise ValueError("a Merkle tree needs at least one leaf")
        encoding = list(leaf_encoding)
        hashed = [(keccak(keccak(encode(encoding, list(v)))), i) for i, v in enumerate(values)]
        if sort_leaves:
            hashed.sort()
        size = 2 * len(hashed) - 1
        tree: list[bytes] = [b""] * size
        for position, (digest, _) in enumerate(hashed):
            tree[size - 1 - position] = digest
        for i in range(size - 1 - len(hashed), -1, -1):
            tree[i] = hash_pair(tree[2 * i + 1], tree[2 * i + 2])
        indexed: list[tuple[tuple[Any, ...], int]] = [((), 0)] * len(values)
        for position, (_, value_index) in enumerate(hashed):
            indexed[value_index] = (tuple(values[value_index]), size - 1 - position)
        return cls(tree, indexed, leaf_encoding)

    @property
    def root(self) -> bytes:
        """The 32-byte root."""
        return self._tree[0]

    def __len__(self) -> int:
        return len(self._values)

    def value(self, index: int) -> tuple[Any, ...]:
        """The leaf values at position ``index`` (the order given to :meth:`of`)."""
        return self._values[index][0]

    def values(self) -> list[tuple[Any, ...]]:
        """All leaf values, in the order given to :meth:`of`."""
        return [value for value, _ in self._values]

    def leaf_index(self, value: Sequence[Any]) -> int:
        """Position of the leaf with these values; ``KeyError`` if it is not in the tree."""
        if self._lookup is None:
            self._lookup = {self._tree[t]: i for i, (_, t) in enumerate(self._values)}
        return self._lookup[leaf_hash(self.leaf_encoding, value)]

    def proof(self, index: int) -> list[bytes]:
        """Sibling hashes from leaf position ``index`` up to (not including) the root."""
        if not 0 <= index < len(self._values):
            raise IndexError(f"leaf index {index} out of range 0..{len(self._values) - 1}")
        node = self._values[index][1]
        proof: list[bytes] = []
        while node > 0:
            sibling = node - 1 if node % 2 == 0 else node + 1
            proof.append(self._tree[sibling])
            node = (node - 1) // 2
        return proof

    @staticmethod
    def verify(
        root: bytes, leaf_encoding: Sequence[str], value: Sequence[Any], proof: Sequence[bytes]
    ) -> bool:
        """Whether ``proof`` shows that the leaf ``value`` is in the tree with ``root``."""
        return process_proof(leaf_hash(leaf_encoding, value), proof) == root

    def validate(self) -> None:
        """Check every leaf hash and inner node; ``ValueError`` on the first mismatch."""
        size = len(self._tree)
        if size != 2 * len(self._values) - 1:
            raise ValueError("tree size does not match the number of values")
        for value, tree_index in self._values:
            if not size // 2 <= tree_index < size:
                raise ValueError(f"tree index {tree_index} is not a leaf")
            if self._tree[tree_index] != leaf_hash(self.leaf_encoding, value):
                raise ValueError(f"leaf {tree_index} does not hash its value")
        for i in range(size // 2):
            if self._tree[i] != hash_pair(self._tree[2 * i + 1], self._tree[2 * i + 2]):
                raise ValueError(f"node {i} is not the hash of its children")

    def dump(self) -> dict[str, Any]:
        """The tree in OpenZeppelin's ``standard-v1`` JSON shape."""
        return {
            "format": FORMAT,
            "leafEncoding": list(self.leaf_encoding),
            "tree": [_to_hex(node) for node in self._tree],
            "values": [
                {
                    "value": [
                        _value_to_json(t, v) for t, v in zip(self.leaf_encoding, value, strict=True)
                    ],
                    "treeIndex": tree_index,
                }
                for value, tree_index in self._values
            ],
        }

    @classmethod
    def load(cls, data: dict[str, Any]) -> StandardMerkleTree:
        """Read a ``standard-v1`` dump (ours or the JavaScript library's) and validate it."""
        if data.get("format") != FORMAT:
            raise ValueError(f"unknown Merkle tree format {data.get('format')!r}")
        encoding = data.get("leafEncoding")
        if not isinstance(encoding, list) or not all(isinstance(t, str) for t in encoding):
            raise ValueError("leafEncoding must be a list of ABI type names")
        tree = [_from_hex(node, "tree node") for node in data["tree"]]
        values: list[tuple[tuple[Any, ...], int]] = []
        for entry in data["values"]:
            raw = entry["value"]
            if len(raw) != len(encoding):
                raise ValueError("a leaf value does not match the leaf encoding")
            parsed = tuple(_value_from_json(t, v) for t, v in zip(encoding, raw, strict=True))
            values.append((parsed, int(entry["treeIndex"])))
        loaded = cls(tree, values, encoding)
        loaded.validate()
        return loaded

    def save(self, path: Path) -> None:
        """Write :meth:`dump` as JSON to ``path``."""
        Path(path).write_text(json.dumps(self.dump(), indent=1) + "\n", encoding="utf-8")

    @classmethod
    def read(cls, path: Path) -> StandardMerkleTree:
        """Load a tree from a JSON file written by :meth:`save` or by the JavaScript library."""
        loaded: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls.load(loaded)
