"""Gold commit-reveal: the requester commits to the gold answers before any answer is seen.

The commitment is ``keccak256(canonical_json(document))`` with the document::

    {"format": "datafair-gold/1", "task_id": "0x<32 bytes>", "salt": "0x<32 bytes>",
     "answers": {item_cid: canonical answer, ...}}

(canonical JSON: :mod:`datafair.core.canonical`). Funding stores it in the escrow
(``TaskEscrow.fund(..., gold_commitment)``); the salt, 32 random bytes, keeps the answers
unguessable until settlement reveals answers and salt in the bundle, where anyone can hash them
again and compare with the escrow. This is the classic hash commitment (Brassard, Chaum and
Crépeau, "Minimum disclosure proofs of knowledge", 1988): binding because keccak-256 resists
collisions, hiding because of the salt.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from datafair.core.canonical import canonical_json, keccak256
from datafair.core.errors import InvalidInput

GOLD_FORMAT = "datafair-gold/1"


def gold_document(task_id: bytes, answers: Mapping[str, Any], salt: bytes) -> dict[str, Any]:
    """The JSON document a gold commitment hashes (answers already canonical)."""
    if len(task_id) != 32:
        raise InvalidInput("task_id", "must be 32 bytes")
    if len(salt) != 32:
        raise InvalidInput("gold salt", "must be 32 bytes", "use 32 random bytes")
    return {
        "format": GOLD_FORMAT,
        "task_id": "0x" + task_id.hex(),
        "salt": "0x" + salt.hex(),
        "answers": {str(cid): answer for cid, answer in answers.items()},
    }


def gold_commitment(task_id: bytes, answers: Mapping[str, Any], salt: bytes) -> bytes:
    """``keccak256`` of the canonical gold document: the 32 bytes the escrow stores."""
    return keccak256(canonical_json(gold_document(task_id, answers, salt)))


def check_reveal(
    task_id: bytes, answers: Mapping[str, Any], salt: bytes, commitment: bytes
) -> None:
    """Raise ``InvalidInput`` unless the revealed answers and salt hash to ``commitment``."""
    revealed = gold_commitment(task_id, answers, salt)
    if revealed != commitment:
        raise InvalidInput(
            "gold",
            f"the revealed gold answers hash to 0x{revealed.hex()}, not to the escrow's "
            f"commitment 0x{commitment.hex()}",
            "gold answers changed after funding; restore them, nothing was paid",
        )
