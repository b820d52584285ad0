"""Contributor side of a submission: canonicalise an answer and sign it (EIP-712).

Inputs: an open ``Session`` (to read the task's schema and the item's context), the task id,
the item CID, the answer as JSON value, the contributor's private key, a nonce and the time on
item. The signed ``answerHash`` is keccak-256 of the canonical JSON of the *validated* answer,
exactly what the submission service recomputes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from datafair.core.canonical import canonical_json, keccak256
from datafair.core.errors import NotFound
from datafair.crypto.eip712 import SubmissionDomain, SubmissionMessage, sign_submission
from datafair.services.submissions import SubmissionInput
from datafair.services.tasks import get_task
from datafair.sim.population import address_of
from datafair.store.repositories import ItemRepository, item_context


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
    info = get_task(session, task_id)
    item = ItemRepository(session).get(item_cid)
    if item is None:
        raise NotFound(f"item_cid: no item {item_cid}")
    canonical = info.spec.schema.validate(answer, item_context(item))
    contributor = address_of(private_key)
    message = SubmissionMessage(
        info.task_id,
        item_cid,
        keccak256(canonical_json(canonical)),
        contributor,
        nonce,
        duration_ms,
    )
    signature = sign_submission(private_key, SubmissionDomain(chain_id=info.spec.chain_id), message)
    return SubmissionInput(
        task_id=info.task_id,
        item_cid=item_cid,
        contributor=contributor,
        answer=canonical,
        nonce=nonce,
        duration_ms=duration_ms,
        signature=signature,
    )
