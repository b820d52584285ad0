"""Structured tasks (multi-label, spans, boxes, transcription): settle → claim → refund → audit,
determinism across database row orders, and the refusals (peer prediction, a categorical
method for boxes)."""

from __future__ import annotations

import json
import random
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from settle_helpers import (
    CAREFUL,
    GOLD_FAILS,
    GOLD_PASSES,
    OWNER,
    PRICE,
    REQUESTER,
    SLOPPY,
    World,
    crowd_keys,
    make_world,
    store_structured_task,
)
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datafair.core.errors import InvalidInput
from datafair.core.task import TaskSpec
from datafair.quality.answer_scores import answer_scores
from datafair.services.reputation import reputation_of
from datafair.services.reviews import signed_review, submit_review
from datafair.services.settlement.audit import AuditMismatch, audit_bundle
from datafair.services.settlement.bundle import (
    Reviews,
    compute_epoch,
    encode_bundle,
    parse_bundle,
    read_document,
    task_settings,
)
from datafair.services.settlement.claims import claim_all, payout_amounts
from datafair.services.settlement.funding import fund_task, refund_task
from datafair.services.settlement.settle import settle_task, settlements_of
from datafair.services.tasks import load_task
from datafair.store.db import Database, make_engine, make_session_factory
from datafair.store.models import Submission, Task

FUND = 10_000
TYPES = ("multilabel", "spans", "boxes", "transcription")
ESTIMATORS = {
    "multilabel": "MultiLabelAggregator",
    "spans": "SpanAggregator",
    "boxes": "BoxAggregator",
    "transcription": "TranscriptionAggregator",
}


def _fund(session: Session, world: World, task_id: bytes, **kwargs: object) -> None:
    fund_task(
        session,
        world.escrow,
        task_id,
        FUND,
        sender=REQUESTER,
        token=world.token.address,
        **{"deadline": world.deadline, **kwargs},  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("task_type", TYPES)
def test_a_structured_task_pays_by_score_conserves_money_and_audits(
    session: Session, world: World, task_type: str
) -> None:
    task = store_structured_task(session, task_type, seed=1)
    _fund(session, world, task.task_id)
    report = settle_task(session, world.escrow, world.blobs, task.task_id, sender=OWNER)
    assert report.state == "done" and report.submissions == 10 * 7
    assert report.bundle_cid is not None
    data = world.blobs.get(report.bundle_cid)
    document = read_document(data)
    assert document["quality"]["estimator"] == ESTIMATORS[task_type]
    assert document["quality"]["classes"] == []
    labels = document["inferred"]["labels"]
    gold_item = document["submissions"]["items"].index(task.gold_cid)
    assert len(labels) == 10 and labels[gold_item] == task.gold  # gold is clamped
    spammers = set(document["inferred"]["spammers"])

    paid = {}
    for who, address in enumerate(task.wallets):
        before = world.token.balance_of(address)
        claim_all(session, world.escrow, address, sender=OWNER)
        paid[who] = world.token.balance_of(address) - before
    assert sum(paid.values()) == report.total
    # Careful wallets earn more than the sloppy one, never more than the price of each answer.
    assert min(paid[w] for w in CAREFUL) > paid[SLOPPY]
    assert max(paid[w] for w in CAREFUL) <= 10 * PRICE
    # On the gold item wallet 5 scored below 0.5 against the gold answer and wallet 6 above.
    inputs = parse_bundle(document)
    subs = inputs.submissions
    gold_rows = [r for r, i in enumerate(subs.item) if i == gold_item]
    row_of = {subs.accounts[subs.contributor[r]]: r for r in gold_rows}
    rows = [row_of[task.wallets[GOLD_FAILS]], row_of[task.wallets[GOLD_PASSES]]]
    fails, passes = answer_scores(
        task_type, [json.loads(subs.answer[r]) for r in rows], [task.gold, task.gold]
    )
    assert 0 < fails < 0.5 <= passes < 1
    # What each of these answers earned: the gross reward minus the reward when only that row
    # is left unpaid (inference, which sees every row, is unchanged). The failed one earns 0.
    result = compute_epoch(inputs)
    earned = []
    for role, row in zip((GOLD_FAILS, GOLD_PASSES), rows, strict=True):
        epochs = list(subs.epoch)
        epochs[row] = 0
        without = compute_epoch(replace(inputs, submissions=replace(subs, epoch=epochs)))
        account = task.wallets[role]
        assert account not in spammers
        earned.append(result.rewards[account] - without.rewards[account])
    assert earned[0] == 0 and 0 < earned[1] <= PRICE
    assert paid[GOLD_FAILS] > 0  # its other answers are paid
    # Reputation counts each answer's score (a structured answer rarely equals the consensus).
    standing = [reputation_of(session, task.wallets[w], task_type) for w in (*CAREFUL, SLOPPY)]
    assert min(r.correct_units for r in standing[:4]) > standing[4].correct_units

    world.chain.advance_time(7200)
    before = world.token.balance_of(REQUESTER)
    refund_task(world.escrow, task.task_id, sender=REQUESTER)
    refunded = world.token.balance_of(REQUESTER) - before
    assert refunded + report.total + report.fee == FUND

    audit = audit_bundle(data, world.escrow)
    assert audit.root == report.root and audit.total == report.total
    rng = random.Random(task_type)
    for position in rng.sample(range(len(data)), 12):
        changed = data[:position] + bytes([(data[position] + 1) % 256]) + data[position + 1 :]
        with pytest.raises(AuditMismatch):
            audit_bundle(changed, world.escrow)
    edited = json.loads(data)
    edited["inferred"]["labels"][1] = next(label for label in labels if label != labels[1])
    with pytest.raises(AuditMismatch, match=r"^audit failed: inferred.labels\[1\]"):
        audit_bundle(encode_bundle(edited), world.escrow)


def _settle_shuffled(template: Path, directory: Path, order: int) -> tuple[bytes | None, bytes]:
    path = directory / f"order-{order}.db"
    shutil.copyfile(template, path)
    engine = make_engine(f"sqlite:///{path}")
    database = Database(engine, make_session_factory(engine))
    world = make_world(directory / f"blobs-{order}")
    try:
        with database.session() as session:
            task = store_structured_task(session, "boxes", seed=4, shuffle=order)
            _fund(session, world, task.task_id, deadline=4_000_000_000, salt=bytes(range(32)))
            report = settle_task(session, world.escrow, world.blobs, task.task_id, sender=OWNER)
        assert report.bundle_cid is not None
        return report.root, world.blobs.get(report.bundle_cid)
    finally:
        world.chain.close()
        database.dispose()


def test_the_root_does_not_depend_on_the_order_rows_were_stored(
    sqlite_template: Path, tmp_path: Path
) -> None:
    first = _settle_shuffled(sqlite_template, tmp_path, 1)
    second = _settle_shuffled(sqlite_template, tmp_path, 2)
    assert first[0] is not None
    assert first == second


def test_peer_prediction_is_refused_for_structured_tasks(session: Session, world: World) -> None:
    refused = (
        r"^extra.mechanism: peer prediction pays categorical answers only, not a spans "
        r"task \(create the task without extra.mechanism"
    )
    with pytest.raises(InvalidInput, match=refused):  # at creation: it is never funded
        store_structured_task(session, "spans", extra={"mechanism": "peer-prediction"})
    assert session.scalar(select(func.count()).select_from(Task)) == 0
    stored = store_structured_task(session, "spans", seed=1)  # and at settlement, too
    spec = TaskSpec.from_dict(
        {**load_task(session, stored.task_id).spec, "extra": {"mechanism": "peer-prediction"}}
    )
    with pytest.raises(InvalidInput, match=refused):
        task_settings(spec)


def test_a_categorical_method_is_refused_for_boxes(session: Session, world: World) -> None:
    task = store_structured_task(session, "boxes")
    _fund(session, world, task.task_id)
    with pytest.raises(InvalidInput, match=r"^quality.method: 'mv' names a categorical"):
        settle_task(session, world.escrow, world.blobs, task.task_id, sender=OWNER, method="mv")
    assert settlements_of(session, task.task_id) == []
    # Multi-label and spans votes take the method: 'mv' settles and audits.
    labelled = store_structured_task(session, "multilabel", seed=2)
    _fund(session, world, labelled.task_id)
    report = settle_task(
        session, world.escrow, world.blobs, labelled.task_id, sender=OWNER, method="mv"
    )
    assert report.bundle_cid is not None
    document = read_document(world.blobs.get(report.bundle_cid))
    assert document["quality"]["method"] == "mv"
    assert audit_bundle(world.blobs.get(report.bundle_cid), world.escrow).root == report.root


def test_reviews_of_structured_answers_are_paid_by_information_not_used_as_evidence(
    session: Session, world: World
) -> None:
    task = store_structured_task(session, "transcription", seed=3, extra={"review_bps": 2_000})
    careful = {task.wallets[w] for w in CAREFUL}
    (accept_key, accepts), (reject_key, rejects) = crowd_keys(9)[7:9]
    submissions = session.scalars(select(Submission).order_by(Submission.id)).all()
    for submission in submissions:
        if submission.contributor in careful:
            for key, verdict in ((accept_key, "accept"), (reject_key, "reject")):
                entry = signed_review(session, task.task_id, submission.id, key, verdict=verdict)
                submit_review(session, entry)
    _fund(session, world, task.task_id)
    report = settle_task(session, world.escrow, world.blobs, task.task_id, sender=OWNER)
    assert report.bundle_cid is not None
    data = world.blobs.get(report.bundle_cid)
    allotted = payout_amounts(session, task.task_id)
    # Careful answers mostly score >= 0.5, yet constant verdicts tell right from wrong no
    # better than chance: accept-all and reject-all both earn nothing.
    assert allotted.get(accepts, 0) == 0 == allotted.get(rejects, 0)
    section = read_document(data)["reviewers"]
    assert section[accepts]["informedness"] == section[rejects]["informedness"] == "0.000000"
    assert section[accepts]["accepted_right"] == section[accepts]["right"] > 0
    # Reviews are not evidence: the labels are those of the task settled without them.
    inputs = parse_bundle(read_document(data))
    plain = compute_epoch(replace(inputs, reviews=Reviews()))
    assert plain.labels == compute_epoch(inputs).labels
    assert audit_bundle(data, world.escrow).reviews == 2 * len(careful) * 10
