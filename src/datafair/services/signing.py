"""Contributor side of a submission: canonicalise an answer and sign it (EIP-712).

Inputs: an open ``Session`` (to read the task's schema and the item's context), the task id,
the item CID, the answer as JSON value, the contributor's address or private key, a nonce and
the time on item. The signed ``answerHash`` is keccak-256 of the canonical JSON of the
*validated* answer, exactly what the submission service recomputes.

:func:`signing_request` is what an external signer (a browser wallet, ethers, a script) needs:
the canonical answer, its canonical JSON and hash, and the ``eth_signTypedData_v4`` JSON to
sign (docs/signing.md). :func:`signed_submission` signs it with a local key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from datafair.core.canonical import canonical_json, keccak256
from datafair.core.errors import NotFound
from datafair.core.ids import checksum_address
from datafair.crypto.eip712 import (
    SubmissionDomain,
    SubmissionMessage,
    sign_submission,
    typed_data,
)
from datafair.services.submissions import SubmissionInput
from datafair.services.tasks import get_task
from datafair.sim.population import address_of
from datafair.store.repositories import ItemRepository, item_context


@dataclass(frozen=True)
class SigningRequest:
    """What to sign for one answer: the canonical answer (the JSON value stored and exported),
    its canonical JSON text, ``answer_hash`` (0x-hex keccak-256 of that text) and
    ``typed_data``, the full ``eth_signTypedData_v4`` JSON (types, primaryType, domain,
    message) a wallet signs."""

    canonical_answer: Any
    canonical_json: str
    answer_hash: str
    typed_data: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """The request as JSON-ready data (what an HTTP API returns)."""
        return {
            "canonical_answer": self.canonical_answer,
            "canonical_json": self.canonical_json,
            "answer_hash": self.answer_hash,
            "typed_data": self.typed_data,
        }


def _message(
    session: Session,
    task_id: bytes | str,
    item_cid: str,
    answer: Any,
    contributor: str,
    nonce: int,
    duration_ms: int,
) -> tuple[Any, SubmissionDomain, SubmissionMessage]:
    info = get_task(session, task_id)
    item = ItemRepository(session).get(item_cid)
    if item is None:
        raise NotFound(f"item_cid: no item {item_cid}")
    canonical = info.spec.schema.validate(answer, item_context(item))
    message = SubmissionMessage(
        info.task_id,
        item_cid,
        keccak256(canonical_json(canonical)),
        checksum_address(contributor, "contributor"),
        nonce,
        duration_ms,
    )
    message.check()
    return canonical, SubmissionDomain(chain_id=info.spec.chain_id), message


def signing_request(
    session: Session,
    task_id: bytes | str,
    item_cid: str,
    answer: Any,
    contributor: str,
    *,
    nonce: int,
    duration_ms: int,
) -> SigningRequest:
    """The canonical form of ``answer`` to item ``item_cid`` of the task and the EIP-712 typed
    data ``contributor`` signs for it (``InvalidInput`` for an answer the task's schema refuses,
    ``NotFound`` for an unknown task or item)."""
    canonical, domain, message = _message(
        session, task_id, item_cid, answer, contributor, nonce, duration_ms
    )
    return SigningRequest(
        canonical_answer=canonical,
        canonical_json=canonical_json(canonical).decode("utf-8"),
        answer_hash="0x" + message.answer_hash.hex(),
        typed_data=typed_data(domain, message),
    )


def signed_submission(
    session: Session,
    task_id: bytes | str,
    item_cid: str,
    answer: Any,
    private_key: bytes,
    *,
    nonce: int,
    duration_ms: int,
) -> SubmissionInput:
    """A ``SubmissionInput`` whose canonical answer is signed with ``private_key``."""
    contributor = address_of(private_key)
    canonical, domain, message = _message(
        session, task_id, item_cid, answer, contributor, nonce, duration_ms
    )
    return SubmissionInput(
        task_id=message.task_id,
        item_cid=item_cid,
        contributor=contributor,
        answer=canonical,
        nonce=nonce,
        duration_ms=duration_ms,
        signature=sign_submission(private_key, domain, message),
    )
