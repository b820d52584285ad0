"""Collection tasks in settlement: accepted items earn the price per item, rejected ones
nothing; items wait for their reviews; the audit checks Contribution signatures."""

from __future__ import annotations

import json
from typing import Any

import pytest
from settle_helpers import OWNER, REQUESTER, World, crowd_keys
from sqlalchemy import select
from sqlalchemy.orm import Session

from datafair.core.collection import CollectionTerms
from datafair.core.errors import InvalidInput
from datafair.core.task import DatasetCard
from datafair.services.collection import (
    NearDuplicateIndexes,
    create_collection_task,
    submit_contributions,
)
from datafair.services.reviews import signed_review, submit_review
from datafair.services.settlement.audit import AuditMismatch, audit_bundle
from datafair.services.settlement.bundle import encode_bundle
from datafair.services.settlement.claims import payout_amounts
from datafair.services.settlement.funding import fund_task
from datafair.services.settlement.settle import settle_task
from datafair.store.models import Submission

PRICE = 1_000


def _collect(session: Session, clock: Any, collect: Any) -> tuple[Any, list[tuple[bytes, str]]]:
    task = create_collection_task(
        session,
        card=DatasetCard(title="collected"),
        terms=CollectionTerms(formats=("text",)),
        price_per_item=PRICE,
        reviews_per_item=2,
        review_bps=1_000,
        clock=clock,
    )
    wallets = crowd_keys(5)
    entries = [
        collect.signed_item(
            wallets[who][0], wallets[who][1], task, "text", {"text": collect.original_text(n)}, n
        )
        for n, who in enumerate([0, 0, 0, 1, 1, 1])
    ]
    results = submit_contributions(session, entries, indexes=NearDuplicateIndexes(), clock=clock)
    assert all(r.ok for r in results)
    return task, wallets


def _review(session: Session, task: Any, wallets: Any, verdicts: dict[int, str]) -> None:
    subs = session.scalars(select(Submission).order_by(Submission.id)).all()
    for position, verdict in verdicts.items():
        for reviewer in (wallets[3], wallets[4]):
            entry = signed_review(
                session, task.task_id, subs[position].id, reviewer[0], verdict=verdict
            )
            submit_review(session, entry)


def test_accepted_items_are_paid_and_audited(
    collect: Any, session: Session, world: World, clock: Any
) -> None:
    task, wallets = _collect(session, clock, collect)
    # the first contributor's three items are accepted; the second's: one accepted, two rejected
    _review(session, task, wallets, {0: "accept", 1: "accept", 2: "accept", 3: "accept"})
    _review(session, task, wallets, {4: "reject", 5: "reject"})
    fund_task(
        session,
        world.escrow,
        task.task_id,
        100_000,
        sender=REQUESTER,
        deadline=world.deadline,
        token=world.token.address,
    )
    report = settle_task(session, world.escrow, world.blobs, task.task_id, sender=OWNER)
    paid = payout_amounts(session, task.task_id)
    # three accepted items earn three times one accepted item (up to the rounding of the fee)
    assert paid[wallets[1][1]] > 0
    assert abs(paid[wallets[0][1]] - 3 * paid[wallets[1][1]]) <= 3
    # reviewers who sided with the outcome earn the review share
    assert paid[wallets[3][1]] > 0 and paid[wallets[4][1]] > 0
    data = world.blobs.get(report.bundle_cid or "")
    document = json.loads(data)
    assert document["quality"]["estimator"] == "ReviewMajority"
    assert sorted(document["inferred"]["labels"]) == ["accept"] * 4 + ["reject"] * 2
    audit = audit_bundle(data, world.escrow)
    assert audit.root == report.root

    tampered = json.loads(data)
    tampered["submissions"]["answer"][0] = '{"format":"image"}'
    with pytest.raises(AuditMismatch, match="signature does not verify"):
        audit_bundle(encode_bundle(tampered), world.escrow)


def test_items_wait_for_their_reviews(
    collect: Any, session: Session, world: World, clock: Any
) -> None:
    task, wallets = _collect(session, clock, collect)
    fund_task(
        session,
        world.escrow,
        task.task_id,
        100_000,
        sender=REQUESTER,
        deadline=world.deadline,
        token=world.token.address,
    )
    with pytest.raises(InvalidInput, match="no contributed item has its reviews yet"):
        settle_task(session, world.escrow, world.blobs, task.task_id, sender=OWNER)
    _review(session, task, wallets, {0: "accept", 1: "reject"})
    first = settle_task(session, world.escrow, world.blobs, task.task_id, sender=OWNER)
    assert first.submissions == 2
    _review(session, task, wallets, {2: "accept", 3: "accept"})
    second = settle_task(session, world.escrow, world.blobs, task.task_id, sender=OWNER)
    assert second.epoch == 2 and second.submissions == 2
    data = world.blobs.get(second.bundle_cid or "")
    assert len(json.loads(data)["submissions"]["item"]) == 4
    audit_bundle(data, world.escrow)
