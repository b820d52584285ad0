"""Reviews in settlement: signed reviews are evidence and earn their share; the audit checks
their signatures; unsigned reviews are left out."""

from __future__ import annotations

import json

import pytest
from settle_helpers import OWNER, REQUESTER, TRUTH, World, crowd_keys, store_answered_task
from sqlalchemy import select
from sqlalchemy.orm import Session

from datafair.services.reviews import signed_review, submit_review
from datafair.services.settlement.audit import AuditMismatch, audit_bundle
from datafair.services.settlement.bundle import encode_bundle
from datafair.services.settlement.claims import payout_amounts
from datafair.services.settlement.funding import fund_task
from datafair.services.settlement.settle import settle_task
from datafair.store.models import Submission
from datafair.store.repositories import ReviewRepository

REVIEW_BPS = 2_000


def test_signed_reviews_are_paid_by_agreement_and_audited(session: Session, world: World) -> None:
    task_id = store_answered_task(session, number=7, n_items=10, extra={"review_bps": REVIEW_BPS})
    truth = TRUTH[task_id]
    wallets = crowd_keys(8)
    (careful_key, careful), (contrary_key, contrary) = wallets[6], wallets[7]
    submissions = session.scalars(select(Submission).order_by(Submission.id)).all()
    reviewed = [s for s in submissions if s.item_cid in list(truth)[:5]]
    for submission in reviewed:
        right = json.loads(submission.answer) == truth[submission.item_cid]
        for key, verdict in (
            (careful_key, "accept" if right else "reject"),
            (contrary_key, "reject" if right else "accept"),
        ):
            entry = signed_review(session, task_id, submission.id, key, verdict=verdict)
            submit_review(session, entry)
    # An unsigned review (stored by an older path) is neither evidence nor paid.
    ReviewRepository(session).add(
        submission_id=submissions[-1].id, reviewer=wallets[6][1], now_ms=0, rating=5
    )
    session.commit()

    fund_task(
        session,
        world.escrow,
        task_id,
        10_000,
        sender=REQUESTER,
        deadline=world.deadline,
        token=world.token.address,
    )
    report = settle_task(session, world.escrow, world.blobs, task_id, sender=OWNER)
    assert report.bundle_cid is not None
    data = world.blobs.get(report.bundle_cid)
    document = json.loads(data)
    assert len(document["reviews"]["submission"]) == 2 * len(reviewed)
    allotted = payout_amounts(session, task_id)
    assert allotted.get(careful, 0) > allotted.get(contrary, 0)
    assert allotted[careful] > 0

    audit = audit_bundle(data, world.escrow)
    assert audit.reviews == 2 * len(reviewed) and audit.root == report.root

    flipped = json.loads(data)
    verdicts = flipped["reviews"]["verdict"]
    verdicts[0] = "reject" if verdicts[0] == "accept" else "accept"
    with pytest.raises(AuditMismatch, match=r"^audit failed: review 0 .* signature does not"):
        audit_bundle(encode_bundle(flipped), world.escrow)
