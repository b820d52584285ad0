"""Bad input to settlement: each refused with one clear line, nothing stored, sent or paid."""

from __future__ import annotations

from typing import Any

import pytest
from settle_helpers import OWNER, REQUESTER, World, fund
from sqlalchemy import select
from sqlalchemy.orm import Session

from datafair.chain.escrow import EscrowClient
from datafair.core.errors import ChainError, Conflict, InvalidInput
from datafair.services.settlement.funding import fund_task, refund_task
from datafair.services.settlement.settle import settle_task, settlements_of
from datafair.store.models import GoldAnswer


def _nothing_happened(session: Session, world: World, task_id: bytes) -> None:
    assert settlements_of(session, task_id) == []
    assert world.escrow.events("PayoutPosted", task_id=task_id) == []
    assert world.escrow.payout_root(task_id, 1) is None


def _settle(session: Session, world: World, task_id: bytes, escrow: Any = None) -> Any:
    return settle_task(session, escrow or world.escrow, world.blobs, task_id, sender=OWNER)


def test_an_unfunded_task_is_refused(session: Session, world: World, label: Any) -> None:
    labelled = label()
    with pytest.raises(InvalidInput, match=r"^task: 0x[0-9a-f]{64} is not funded on the escrow"):
        _settle(session, world, labelled.task_id)
    _nothing_happened(session, world, labelled.task_id)


def test_a_task_funded_elsewhere_has_no_gold_salt_here(
    session: Session, world: World, label: Any
) -> None:
    labelled = label()
    world.escrow.fund(
        labelled.task_id, world.token.address, 100, world.deadline, b"\x07" * 32, sender=REQUESTER
    )
    with pytest.raises(InvalidInput, match="was not funded from this node"):
        _settle(session, world, labelled.task_id)
    _nothing_happened(session, world, labelled.task_id)


def test_a_task_without_submissions_is_refused(
    session: Session, world: World, make_task: Any
) -> None:
    made = make_task(4, gold={0: "pos"})
    fund(session, world, made.task_id)
    with pytest.raises(InvalidInput, match="has no submissions"):
        _settle(session, world, made.task_id)
    _nothing_happened(session, world, made.task_id)


def test_gold_changed_after_funding_does_not_open_the_commitment(
    session: Session, world: World, label: Any
) -> None:
    labelled = label()
    fund(session, world, labelled.task_id)
    gold = session.scalars(select(GoldAnswer)).one()
    gold.answer = '"neg"' if gold.answer == '"pos"' else '"pos"'
    session.commit()
    with pytest.raises(InvalidInput, match="not to the escrow's commitment"):
        _settle(session, world, labelled.task_id)
    _nothing_happened(session, world, labelled.task_id)
    with pytest.raises(Conflict, match="gold answers changed since the first funding"):
        fund(session, world, labelled.task_id)


def test_an_underfunded_epoch_names_the_top_up_then_settles_after_it(
    session: Session, world: World, label: Any
) -> None:
    labelled = label()
    fund(session, world, labelled.task_id, amount=100)
    with pytest.raises(InvalidInput, match=r"needs a budget of 720 .*fund at least 620 more"):
        _settle(session, world, labelled.task_id)
    _nothing_happened(session, world, labelled.task_id)
    fund(session, world, labelled.task_id, amount=620)
    assert _settle(session, world, labelled.task_id).epoch == 1


def test_funding_refuses_bad_amounts_and_missing_deadlines(
    session: Session, world: World, label: Any
) -> None:
    labelled = label()
    with pytest.raises(InvalidInput, match=r"^amount: must be a positive integer"):
        fund(session, world, labelled.task_id, amount=0)
    with pytest.raises(InvalidInput, match=r"^deadline: the task has no deadline"):
        fund_task(session, world.escrow, labelled.task_id, 5, sender=REQUESTER, token=OWNER)
    with pytest.raises(InvalidInput, match=r"^token: the task spec names no token"):
        fund_task(session, world.escrow, labelled.task_id, 5, sender=REQUESTER, deadline=9)
    with pytest.raises(InvalidInput, match=r"^task: 0x[0-9a-f]{64} is not funded"):
        refund_task(world.escrow, labelled.task_id, sender=REQUESTER)


class _FlakyEscrow(EscrowClient):
    """An escrow client whose node fails around ``post_payout``: before sending it, or after
    the transaction was mined (the answer is lost)."""

    def __init__(self, escrow: EscrowClient, *, lose_answer: bool) -> None:
        super().__init__(escrow.chain, escrow.deployment)
        self.lose_answer = lose_answer

    def post_payout(self, *args: Any, **kwargs: Any) -> Any:
        if self.lose_answer:
            super().post_payout(*args, **kwargs)
        raise ChainError("cannot reach the node at http://127.0.0.1:8545: connection reset")


@pytest.mark.parametrize("lose_answer", [False, True], ids=["before-send", "answer-lost"])
def test_an_rpc_failure_mid_settlement_resumes_to_one_root(
    session: Session, world: World, label: Any, contributors: Any, lose_answer: bool
) -> None:
    labelled = label()
    fund(session, world, labelled.task_id)
    flaky = _FlakyEscrow(world.escrow, lose_answer=lose_answer)
    with pytest.raises(ChainError, match="cannot reach the node"):
        _settle(session, world, labelled.task_id, flaky)
    (row,) = settlements_of(session, labelled.task_id)
    assert row.state == "sending"
    report = _settle(session, world, labelled.task_id)
    assert report.resumed and report.state == "done" and report.epoch == 1
    events = world.escrow.events("PayoutPosted", task_id=labelled.task_id)
    assert len(events) == 1 and events[0].args["root"] == report.root
    assert report.tx_hash == events[0].tx_hash


def test_a_task_for_another_chain_is_refused(
    session: Session, world: World, make_task: Any
) -> None:
    made = make_task(4, gold={0: "pos"}, chain_id=530)
    with pytest.raises(InvalidInput, match="spec names chain id 530, the escrow is on chain id"):
        fund(session, world, made.task_id)
    assert world.escrow.task(made.task_id).exists is False
