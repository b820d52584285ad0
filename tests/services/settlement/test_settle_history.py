"""Audit history: a later epoch's bundle must keep what the earlier posted bundles published."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest
from settle_helpers import OWNER, World, fund
from sqlalchemy.orm import Session

from datafair.services.settlement.audit import (
    AuditMismatch,
    EarlierBundle,
    audit_bundle,
    check_history,
)
from datafair.services.settlement.bundle import (
    EpochInputs,
    Reviews,
    bundle_document,
    compute_epoch,
    encode_bundle,
    parse_bundle,
    read_document,
)
from datafair.services.settlement.settle import gather_inputs, settle_task, settlements_of

CID = r"bafkrei[a-z2-7]{52}"
ROW = rf"\(item {CID}, contributor 0x[0-9a-fA-F]{{40}}\)"


def _parsed(data: bytes) -> EpochInputs:
    return parse_bundle(read_document(data))


@pytest.fixture
def first_epoch(session: Session, world: World, label: Any) -> tuple[Any, Any]:
    """A task of 16 items: 8 answered and settled as epoch 1; ``label.answer`` adds more."""
    labelled = label(n=16, answer_items=8)
    fund(session, world, labelled.task_id)
    first = settle_task(session, world.escrow, world.blobs, labelled.task_id, sender=OWNER)
    assert first.state == "done"
    return labelled, first


def _answer(label: Any, labelled: Any, indices: range) -> None:
    """More answers, from the careful wallets (epoch 1 may have paused the others)."""
    label.answer(labelled, indices, wallets=labelled.careful)


def test_a_three_epoch_task_audits_with_its_history(
    session: Session, world: World, label: Any, first_epoch: tuple[Any, Any]
) -> None:
    labelled, first = first_epoch
    reports = [first]
    for start in (8, 12):
        _answer(label, labelled, range(start, start + 4))
        # the new items have 4 of their 6 answers: paid now, and sealed
        reports.append(
            settle_task(
                session,
                world.escrow,
                world.blobs,
                labelled.task_id,
                sender=OWNER,
                seal_partial=True,
            )
        )
    assert [r.epoch for r in reports] == [1, 2, 3]
    third = world.blobs.get(reports[2].bundle_cid)
    audit = audit_bundle(third, world.escrow, history=world.blobs)
    assert (audit.history_checked, audit.history_missing) == ([1, 2], [])
    # Without a history source, or for epoch 1, there is nothing to report.
    plain = audit_bundle(third, world.escrow)
    assert (plain.history_checked, plain.history_missing) == ([], [])
    assert plain.root == audit.root
    audit = audit_bundle(world.blobs.get(first.bundle_cid), world.escrow, history=world.blobs)
    assert (audit.history_checked, audit.history_missing) == ([], [])

    # An earlier bundle the source does not have is reported, not failed.
    def without_first(cid: str) -> bytes | None:
        return None if cid == first.bundle_cid else world.blobs.get(cid)

    audit = audit_bundle(third, world.escrow, history=without_first)
    assert audit.history_checked == [2]
    assert audit.history_missing == [(1, first.bundle_cid)]
    # Bytes that are not the posted bundle are a failure.
    with pytest.raises(AuditMismatch, match=rf"history: epoch 1 bundle {CID}: .* hash to {CID}$"):
        audit_bundle(third, world.escrow, history=lambda cid: third)


def _post_second_epoch(
    session: Session, world: World, task_id: bytes, change: Callable[[EpochInputs], EpochInputs]
) -> bytes:
    """Post an epoch-2 bundle of ``change(inputs)``: recomputed, so it audits on its own."""
    previous = settlements_of(session, task_id)[-1]
    inputs = gather_inputs(
        session, world.escrow, world.blobs, task_id, 2, "auto", previous=previous, seal_partial=True
    )
    inputs = change(inputs)
    result = compute_epoch(inputs)
    assert result.root is not None
    data = encode_bundle(bundle_document(inputs, result))
    cid = world.blobs.put(data)
    world.escrow.post_payout(task_id, 2, result.root, result.total, result.fee, cid, sender=OWNER)
    assert audit_bundle(data, world.escrow).history_checked == []
    return data


def _with_submissions(inputs: EpochInputs, **columns: list[Any]) -> EpochInputs:
    submissions = dataclasses.replace(inputs.submissions, **columns)
    return dataclasses.replace(inputs, submissions=submissions)


def test_a_later_bundle_that_drops_an_earlier_submission_fails(
    session: Session, world: World, label: Any, first_epoch: tuple[Any, Any]
) -> None:
    labelled, first = first_epoch
    dropped: list[str] = []

    def drop_the_eighth_earlier_row(inputs: EpochInputs) -> EpochInputs:
        subs = inputs.submissions
        assert not len(inputs.reviews)
        row = [r for r, epoch in enumerate(subs.epoch) if epoch == 1][7]
        dropped.extend((subs.items[subs.item[row]], subs.accounts[subs.contributor[row]]))
        names = ("item", "contributor", "answer", "nonce", "duration_ms", "signature", "epoch")
        return _with_submissions(
            inputs,
            **{name: [v for i, v in enumerate(getattr(subs, name)) if i != row] for name in names},
        )

    _answer(label, labelled, range(8, 12))
    data = _post_second_epoch(session, world, labelled.task_id, drop_the_eighth_earlier_row)
    item, contributor = dropped
    message = (
        f"audit failed: history: epoch 1 bundle {first.bundle_cid}: submission 7 of that "
        f"bundle (item {item}, contributor {contributor}) is missing from the epoch 2 bundle"
    )
    with pytest.raises(AuditMismatch) as caught:
        audit_bundle(data, world.escrow, history=world.blobs)
    assert str(caught.value) == message


def test_a_back_dated_submission_fails(
    session: Session, world: World, label: Any, first_epoch: tuple[Any, Any]
) -> None:
    labelled, first = first_epoch

    def back_date(inputs: EpochInputs) -> EpochInputs:
        # every answer to one new item (back-dating one of them only would pay the item's
        # answers in two epochs, which the audit refuses before it reads the history)
        subs = inputs.submissions
        epochs = list(subs.epoch)
        item = subs.item[epochs.index(2)]
        return _with_submissions(
            inputs, epoch=[1 if subs.item[r] == item else e for r, e in enumerate(epochs)]
        )

    _answer(label, labelled, range(8, 12))
    data = _post_second_epoch(session, world, labelled.task_id, back_date)
    message = (
        rf"^audit failed: history: epoch 1 bundle {first.bundle_cid}: submission \d+ of the "
        rf"epoch 2 bundle {ROW} is marked paid in epoch 1 but is not in that bundle$"
    )
    with pytest.raises(AuditMismatch, match=message):
        audit_bundle(data, world.escrow, history=world.blobs)


def test_reviews_and_the_task_must_be_kept(world: World, first_epoch: tuple[Any, Any]) -> None:
    _, first = first_epoch
    inputs = _parsed(world.blobs.get(first.bundle_cid))
    signatures: list[bytes | None] = [b"\x01" * 65, b"\x02" * 65]
    reviewed = dataclasses.replace(
        inputs, reviews=Reviews([0, 3], [1, 2], ["accept", "reject"], [None, None], signatures)
    )
    earlier = [EarlierBundle(1, first.bundle_cid, reviewed)]
    assert check_history(dataclasses.replace(reviewed, epoch=2), earlier) == [1]
    # A later review of an earlier row is allowed: reviews carry no epoch.
    more = Reviews(
        [0, 3, 5], [1, 2, 0], ["accept", "reject", "accept"], [None] * 3, [*signatures, None]
    )
    assert check_history(dataclasses.replace(inputs, epoch=2, reviews=more), earlier) == [1]

    review = rf"review 1 of that bundle \(item {CID}, contributor 0x\w+, reviewer 0x\w+\)"
    dropped = dataclasses.replace(
        inputs, epoch=2, reviews=Reviews([0], [1], ["accept"], [None], signatures[:1])
    )
    with pytest.raises(AuditMismatch, match=rf"{review} is missing from the epoch 2 bundle$"):
        check_history(dropped, earlier)
    flipped = dataclasses.replace(
        reviewed,
        epoch=2,
        reviews=dataclasses.replace(reviewed.reviews, verdict=["accept", "accept"]),
    )
    with pytest.raises(AuditMismatch, match=rf"{review} has verdict 'reject' there, 'accept' in"):
        check_history(flipped, earlier)
    changed = _with_submissions(
        inputs, nonce=[n + 1 if r == 2 else n for r, n in enumerate(inputs.submissions.nonce)]
    )
    with pytest.raises(
        AuditMismatch, match=rf"submission 2 of that bundle {ROW} has nonce \d+ there"
    ):
        check_history(changed, [EarlierBundle(1, first.bundle_cid, inputs)])
    other = dataclasses.replace(inputs, gold_commitment=bytes(32))
    with pytest.raises(
        AuditMismatch, match=r"^audit failed: history: epoch 1 bundle \w+: gold.commitment is 0x"
    ):
        check_history(other, [EarlierBundle(1, first.bundle_cid, inputs)])
    with pytest.raises(AuditMismatch, match=r"epoch 2 bundle \w+: the bundle is for epoch 1$"):
        check_history(inputs, [EarlierBundle(2, first.bundle_cid, inputs)])
