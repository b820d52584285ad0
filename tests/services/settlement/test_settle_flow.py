"""Fund → settle → claim → refund → audit on the embedded chain, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from settle_helpers import OWNER, PRICE, REQUESTER, World, fund
from sqlalchemy.orm import Session

from datafair.core.errors import Conflict
from datafair.services.reputation import is_paused, reputation_of
from datafair.services.settlement.audit import audit_bundle
from datafair.services.settlement.claims import claim_all, claimable, payout_amounts
from datafair.services.settlement.funding import refund_task
from datafair.services.settlement.settle import settle_task, settlements_of

FUND = 10_000


def test_the_money_loop_pays_each_leaf_once_and_conserves_the_deposit(
    session: Session, world: World, label: Any, contributors: Any
) -> None:
    labelled = label()
    funded = fund(session, world, labelled.task_id)
    assert world.escrow.task(labelled.task_id).gold_commitment == funded.gold_commitment

    report = settle_task(session, world.escrow, world.blobs, labelled.task_id, sender=OWNER)
    assert report.state == "done" and report.epoch == 1 and not report.resumed
    # Settling recorded reputations and paused the wallet flagged as a spammer.
    careful = reputation_of(session, contributors[labelled.careful[0]].address, "classification")
    spammer = contributors[labelled.always_pos].address
    assert careful.answers == 12 and careful.settlements == 1
    assert is_paused(session, labelled.task_id, spammer)
    assert report.submissions == 12 * 6
    assert world.escrow.payout_root(labelled.task_id, 1) == report.root

    paid = {}
    for who in range(6):
        address = contributors[who].address
        before = world.token.balance_of(address)
        claim_all(session, world.escrow, address, sender=OWNER)
        paid[who] = world.token.balance_of(address) - before
        # A second run finds nothing left to claim.
        again, already = claimable(session, world.escrow, address)
        assert again == [] and already == (1 if paid[who] else 0)
    assert sum(paid.values()) == report.total
    allotted = payout_amounts(session, labelled.task_id)
    assert {contributors[w].address: paid[w] for w in paid if paid[w]} == allotted
    # Careful contributors earn most; the always-"pos" wallet is flagged and earns nothing.
    assert min(paid[w] for w in labelled.careful) > paid[labelled.random_]
    assert paid[labelled.always_pos] == 0
    assert max(paid[w] for w in labelled.careful) <= 12 * PRICE

    world.chain.advance_time(7200)
    before = world.token.balance_of(REQUESTER)
    refund_task(world.escrow, labelled.task_id, sender=REQUESTER)
    refunded = world.token.balance_of(REQUESTER) - before
    assert refunded + report.total + report.fee == FUND  # conservation
    assert world.escrow.fees_owed(world.token.address) == report.fee

    audit = audit_bundle(world.blobs.get(report.bundle_cid), world.escrow)
    assert audit.root == report.root and audit.total == report.total and audit.fee == report.fee
    assert audit.chain_checked and audit.tx_hash == report.tx_hash


def test_a_second_epoch_pays_only_new_submissions(
    session: Session, world: World, label: Any
) -> None:
    labelled = label(n=12, answer_items=8)
    fund(session, world, labelled.task_id)
    first = settle_task(session, world.escrow, world.blobs, labelled.task_id, sender=OWNER)
    with pytest.raises(Conflict, match="no new submissions since epoch 1"):
        settle_task(session, world.escrow, world.blobs, labelled.task_id, sender=OWNER)
    # The always-"pos" wallet was flagged and paused by epoch 1; the others answer on.
    active = [w for w in range(6) if w != labelled.always_pos]
    label.answer(labelled, range(8, 12), wallets=active)
    # the new items have 5 of their 6 answers: they wait, unless the epoch seals them
    with pytest.raises(Conflict, match="nothing to settle yet: 20 answers wait"):
        settle_task(session, world.escrow, world.blobs, labelled.task_id, sender=OWNER)
    second = settle_task(
        session, world.escrow, world.blobs, labelled.task_id, sender=OWNER, seal_partial=True
    )
    assert (first.epoch, second.epoch) == (1, 2)
    assert (first.submissions, second.submissions) == (8 * 6, 4 * 5)
    assert [row.state for row in settlements_of(session, labelled.task_id)] == ["done", "done"]
    for report in (first, second):
        audit = audit_bundle(world.blobs.get(report.bundle_cid), world.escrow)
        assert audit.paid_submissions == report.submissions
