"""Settlement and audit with session keys: delegated answers are paid to the wallet, the bundle
carries the delegations, and the audit refuses forged or over-used ones."""

from __future__ import annotations

import json
from typing import Any

import pytest
from settle_helpers import OWNER, World, fund
from sqlalchemy.orm import Session

from datafair.core.canonical import canonical_json, keccak256
from datafair.crypto.delegation import DelegationMessage, sign_delegation
from datafair.crypto.eip712 import SubmissionDomain, SubmissionMessage, sign_submission
from datafair.services.delegations import register_delegation
from datafair.services.settlement.audit import AuditMismatch, audit_bundle
from datafair.services.settlement.bundle import encode_bundle
from datafair.services.settlement.settle import settle_task
from datafair.services.submissions import SubmissionInput, submit_many


def _session_key_answers(
    session: Session, made: Any, wallet: Any, key: Any, clock: Any, n: int
) -> None:
    message = DelegationMessage(
        wallet=wallet.address,
        session_key=key.address,
        task_ids=(made.task_id,),
        expires_at=int(clock()) + 3600,
        max_answers=n,
        nonce=7,
    )
    domain = SubmissionDomain(made.info.spec.chain_id)
    register_delegation(
        session, message.as_dict(), sign_delegation(wallet.key, domain, message), clock=clock
    )
    entries = []
    for position in range(len(made.items) - n, len(made.items)):
        cid = made.items[position]
        answer_hash = keccak256(canonical_json("pos"))
        signed = SubmissionMessage(
            made.task_id, cid, answer_hash, wallet.address, 900 + position, 1
        )
        entries.append(
            SubmissionInput(
                made.task_id,
                cid,
                wallet.address,
                "pos",
                900 + position,
                1,
                sign_submission(key.key, domain, signed),
                answer_hash,
            )
        )
    results = submit_many(session, entries, clock=clock)
    assert all(result.ok for result in results), [r.error for r in results]


@pytest.fixture
def delegated(session: Session, world: World, label: Any, contributors: Any, clock: Any) -> Any:
    labelled = label(n=12, answer_items=7)
    # contributor 6 labels the last 5 items through a session key (contributor 7's key)
    _session_key_answers(session, labelled.task, contributors[6], contributors[7], clock, 5)
    fund(session, world, labelled.task_id)
    report = settle_task(
        session, world.escrow, world.blobs, labelled.task_id, sender=OWNER, seal_partial=True
    )
    assert report.bundle_cid is not None
    return world.blobs.get(report.bundle_cid), contributors


def test_delegated_answers_are_in_the_bundle_and_audit(world: World, delegated: Any) -> None:
    data, contributors = delegated
    document = json.loads(data)
    section = document["delegations"]
    assert len(section["message"]) == 1 and len(section["row"]) == 5
    assert section["message"][0]["wallet"] == contributors[6].address
    accounts = document["submissions"]["accounts"]
    assert contributors[6].address in accounts and contributors[7].address not in accounts
    report = audit_bundle(data, world.escrow)
    assert report.submissions == 7 * 6 + 5


def _edit(data: bytes, change: Any) -> bytes:
    document = json.loads(data)
    change(document)
    return encode_bundle(document)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["delegations"]["message"][0].__setitem__("maxAnswers", 4),
            "delegation 0: delegation: signed by",
        ),
        (
            lambda d: (
                d["delegations"].__setitem__("row", d["delegations"]["row"][:-1])
                or d["delegations"].__setitem__("delegation", d["delegations"]["delegation"][:-1])
            ),
            "signature does not verify",
        ),
        (
            lambda d: d["delegations"]["signature"].__setitem__(
                0,
                d["delegations"]["signature"][0][:10]
                + "00"
                + d["delegations"]["signature"][0][12:],
            ),
            "delegation 0",
        ),
    ],
)
def test_the_audit_refuses_altered_delegations(delegated: Any, change: Any, message: str) -> None:
    data, _ = delegated
    with pytest.raises(AuditMismatch, match=message):
        audit_bundle(_edit(data, change), None)


def test_the_audit_refuses_more_rows_than_the_delegation_allows(delegated: Any) -> None:
    data, contributors = delegated
    document = json.loads(data)
    message = DelegationMessage.from_dict(document["delegations"]["message"][0])
    fewer = DelegationMessage(
        message.wallet,
        message.session_key,
        message.task_ids,
        message.expires_at,
        4,
        message.nonce,
    )
    signature = sign_delegation(
        contributors[6].key, SubmissionDomain(document["chain"]["chain_id"]), fewer
    )

    def resign(d: dict[str, Any]) -> None:
        d["delegations"]["message"][0] = fewer.as_dict()
        d["delegations"]["signature"][0] = "0x" + signature.hex()

    with pytest.raises(AuditMismatch, match="signs 5 submissions, over its limit of 4"):
        audit_bundle(_edit(data, resign), None)
