"""Gold commitment, one leaf per gold item: revealed item by item, each item retired on reveal.

Inputs: the task id (32 bytes), the gold answers by item CID (canonical values) and the task's
gold secret (32 random bytes drawn at funding, stored in ``task_fundings.gold_salt``, never
published).

Each gold item ``cid`` gets its own salt ``salt_i = keccak256(secret || task_id || cid)`` and
its own leaf, the keccak-256 of the canonical JSON (:mod:`datafair.core.canonical`)::

    {"format": "datafair-gold/2", "task_id": "0x<32 bytes>", "item_cid": cid,
     "answer": canonical answer, "salt": "0x<salt_i>"}

The commitment the escrow stores (``TaskEscrow.fund(..., gold_commitment)``, the same bytes32
as before) is the root of a Merkle tree over those leaves, in OpenZeppelin's
StandardMerkleTree layout with leaf encoding ``("bytes32",)`` (:mod:`datafair.crypto.merkle`);
a task without gold commits to 32 zero bytes. A settlement bundle reveals only the gold items
graded in its epoch, each with its salt and Merkle proof (:class:`GoldOpening`), and those items
are retired at that moment: never assigned, accepted or graded again. The other gold items stay
hidden: a leaf is a salted hash commitment (binding because keccak-256 resists collisions,
hiding because of the salt; Brassard, Chaum and Crépeau 1988) and a proof only shows sibling
hashes. Per-item salts come from the one secret through keccak-256 used as a pseudo-random
function (keccak is not open to length extension, so ``keccak(key || message)`` is a sound
keyed hash): publishing some ``salt_i`` tells nothing about the secret or about other salts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from datafair.core.canonical import canonical_json, keccak256
from datafair.core.errors import InvalidInput
from datafair.crypto.merkle import StandardMerkleTree

GOLD_FORMAT = "datafair-gold/2"
GOLD_LEAF_ENCODING: tuple[str, ...] = ("bytes32",)
NO_GOLD = bytes(32)
"""The commitment of a task without gold items."""


@dataclass(frozen=True)
class GoldOpening:
    """What a bundle reveals of one gold item: its answer, salt, Merkle proof and the epoch
    whose bundle first revealed it (the item was retired then)."""

    answer: Any
    salt: bytes
    proof: tuple[bytes, ...]
    revealed_in: int


def _check32(value: bytes, field: str) -> None:
    if len(value) != 32:
        raise InvalidInput(field, "must be 32 bytes", "use 32 random bytes")


def item_salt(secret: bytes, task_id: bytes, item_cid: str) -> bytes:
    """The salt of gold item ``item_cid``: ``keccak256(secret || task_id || item_cid)``."""
    _check32(secret, "gold salt")
    _check32(task_id, "task_id")
    return keccak256(secret + task_id + item_cid.encode("utf-8"))


def gold_leaf(task_id: bytes, item_cid: str, answer: Any, salt: bytes) -> bytes:
    """The 32-byte commitment to one gold item (a leaf value of the gold tree)."""
    _check32(task_id, "task_id")
    _check32(salt, "gold salt")
    document = {
        "format": GOLD_FORMAT,
        "task_id": "0x" + task_id.hex(),
        "item_cid": str(item_cid),
        "answer": answer,
        "salt": "0x" + salt.hex(),
    }
    return keccak256(canonical_json(document))


class GoldTree:
    """The Merkle tree over a task's gold items (leaves in item CID order)."""

    def __init__(self, task_id: bytes, answers: Mapping[str, Any], secret: bytes) -> None:
        _check32(secret, "gold salt")
        self.task_id = task_id
        self.answers = {str(cid): answers[cid] for cid in sorted(answers)}
        self.cids = list(self.answers)
        self.salts = {cid: item_salt(secret, task_id, cid) for cid in self.cids}
        leaves = [
            (gold_leaf(task_id, cid, self.answers[cid], self.salts[cid]),) for cid in self.cids
        ]
        self._position = {cid: i for i, cid in enumerate(self.cids)}
        self._tree = StandardMerkleTree.of(leaves, GOLD_LEAF_ENCODING) if leaves else None

    @property
    def root(self) -> bytes:
        """The commitment: the tree's root, or :data:`NO_GOLD` without gold items."""
        return NO_GOLD if self._tree is None else self._tree.root

    def opening(self, item_cid: str, revealed_in: int) -> GoldOpening:
        """The reveal of gold item ``item_cid`` by the bundle of epoch ``revealed_in``."""
        assert self._tree is not None
        proof = self._tree.proof(self._position[item_cid])
        return GoldOpening(self.answers[item_cid], self.salts[item_cid], tuple(proof), revealed_in)


def gold_commitment(task_id: bytes, answers: Mapping[str, Any], secret: bytes) -> bytes:
    """The 32 bytes the escrow stores: the root of the task's gold tree."""
    return GoldTree(task_id, answers, secret).root


def opens(task_id: bytes, item_cid: str, opening: GoldOpening, commitment: bytes) -> bool:
    """Whether ``opening`` shows that gold item ``item_cid`` is a leaf under ``commitment``."""
    if len(opening.salt) != 32 or any(len(node) != 32 for node in opening.proof):
        return False
    leaf = gold_leaf(task_id, item_cid, opening.answer, opening.salt)
    return StandardMerkleTree.verify(commitment, GOLD_LEAF_ENCODING, (leaf,), opening.proof)


def gold_section(commitment: bytes, openings: Mapping[str, GoldOpening]) -> dict[str, Any]:
    """The bundle's ``gold`` section: the format, the commitment, the revealed answers by item
    CID and, by item CID, each one's salt, proof and the epoch that revealed it."""
    cids = sorted(openings)
    return {
        "format": GOLD_FORMAT,
        "commitment": "0x" + commitment.hex(),
        "answers": {cid: openings[cid].answer for cid in cids},
        "openings": {
            cid: {
                "salt": "0x" + openings[cid].salt.hex(),
                "proof": ["0x" + node.hex() for node in openings[cid].proof],
                "revealed_in": openings[cid].revealed_in,
            }
            for cid in cids
        },
    }


def _hex32(text: Any, what: str) -> bytes:
    if not isinstance(text, str) or not text.startswith("0x") or len(text) != 66:
        raise ValueError(f"{what} must be 32 bytes of 0x-hex")
    return bytes.fromhex(text[2:])


def parse_gold_section(section: Any) -> tuple[bytes, dict[str, GoldOpening]]:
    """The commitment and openings of a ``gold`` section; ``ValueError`` naming the bad field,
    and for a section of an older format a message saying so."""
    if not isinstance(section, dict):
        raise ValueError("gold must be an object")
    if section.get("format") != GOLD_FORMAT:
        found = section.get("format") or "datafair-gold/1"
        raise ValueError(
            f"gold is in format {found}, which revealed every gold answer at once; this version "
            f"reads {GOLD_FORMAT} only (audit it with the datafair version that wrote it)"
        )
    answers, raw = section.get("answers"), section.get("openings")
    if not isinstance(answers, dict) or not isinstance(raw, dict):
        raise ValueError("gold.answers and gold.openings must be objects")
    if set(answers) != set(raw):
        raise ValueError("gold.answers and gold.openings must name the same items")
    openings: dict[str, GoldOpening] = {}
    for cid, entry in raw.items():
        where = f"gold.openings[{cid}]"
        if not isinstance(entry, dict):
            raise ValueError(f"{where} must be an object")
        proof = entry.get("proof")
        epoch = entry.get("revealed_in")
        if not isinstance(proof, list):
            raise ValueError(f"{where}.proof must be a list")
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 1:
            raise ValueError(f"{where}.revealed_in must be a positive epoch")
        openings[cid] = GoldOpening(
            answers[cid],
            _hex32(entry.get("salt"), f"{where}.salt"),
            tuple(_hex32(node, f"{where}.proof") for node in proof),
            epoch,
        )
    return _hex32(section.get("commitment"), "gold.commitment"), openings


def first_bad_opening(
    task_id: bytes, commitment: bytes, openings: Mapping[str, GoldOpening]
) -> str | None:
    """The first revealed gold item (by CID) whose answer, salt and proof do not lead to
    ``commitment``, as one line; ``None`` when every one does."""
    for cid in sorted(openings):
        if not opens(task_id, cid, openings[cid], commitment):
            return (
                f"gold: item {cid}: its revealed answer, salt and proof do not lead to the "
                f"commitment 0x{commitment.hex()}"
            )
    return None


__all__ = [
    "GOLD_FORMAT",
    "GOLD_LEAF_ENCODING",
    "NO_GOLD",
    "GoldOpening",
    "GoldTree",
    "first_bad_opening",
    "gold_commitment",
    "gold_leaf",
    "gold_section",
    "item_salt",
    "opens",
    "parse_gold_section",
]
