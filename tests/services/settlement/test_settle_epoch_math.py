"""The pure epoch computation: money invariants (property tests), peer prediction, empty epochs."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from settle_helpers import (
    OWNER,
    REQUESTER,
    World,
    crowd_keys,
    store_answered_task,
    unsigned_inputs,
)
from sqlalchemy.orm import Session

from datafair.core.errors import Conflict
from datafair.core.schemas import LabelSchema, TaskType
from datafair.core.task import TaskSpec
from datafair.crypto.cid import compute_cid
from datafair.crypto.merkle import PAYOUT_LEAF_ENCODING, StandardMerkleTree
from datafair.economics import MAX_FEE_BPS
from datafair.quality.auto import CANDIDATES
from datafair.services.settlement.audit import audit_bundle
from datafair.services.settlement.bundle import (
    EpochInputs,
    bundle_document,
    compute_epoch,
    default_params,
)
from datafair.services.settlement.claims import payout_amounts
from datafair.services.settlement.funding import fund_task
from datafair.services.settlement.settle import settle_task

ACCOUNTS = sorted(address for _, address in crowd_keys(6))


@st.composite
def epochs(draw: Any) -> EpochInputs:
    n_items = draw(st.integers(1, 8))
    items = sorted(compute_cid(f"property item {i}".encode()) for i in range(n_items))
    rows = draw(
        st.lists(
            st.tuples(st.integers(0, n_items - 1), st.integers(0, 5), st.sampled_from(["a", "b"])),
            min_size=1,
            max_size=40,
            unique_by=lambda row: (row[0], row[1]),
        )
    )
    rows.sort(key=lambda row: (row[0], row[1]))
    used = sorted({row[0] for row in rows})
    items = [items[i] for i in used]
    renumber = {old: new for new, old in enumerate(used)}
    spec = TaskSpec(
        dataset_cid=items[0],
        title="property",
        schema=LabelSchema(TaskType.CLASSIFICATION, ("a", "b")),
        price_per_answer=draw(st.integers(0, 10**20)),
    )
    gold = {items[0]: draw(st.sampled_from(["a", "b"]))} if draw(st.booleans()) else {}
    epoch = draw(st.integers(1, 3))
    return unsigned_inputs(
        spec,
        items,
        ACCOUNTS,
        [renumber[row[0]] for row in rows],
        [row[1] for row in rows],
        [f'"{row[2]}"' for row in rows],
        epoch=epoch,
        paid_in=[draw(st.integers(1, epoch)) for _ in rows],
        gold=gold,
        method=draw(st.sampled_from(["auto", "mv", "ds"])),
        fee_bps=draw(st.integers(0, MAX_FEE_BPS)),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(epochs())
def test_an_epoch_never_promises_more_than_its_budget(inputs: EpochInputs) -> None:
    result = compute_epoch(inputs)
    payout = result.payout
    paid_rows = sum(1 for e in inputs.submissions.epoch if e == inputs.epoch)
    assert result.budget == result.price_per_answer * paid_rows
    held = sum(int(entry["held"]) for entry in result.held.values())
    assert payout.total + payout.fee + payout.unearned + held == result.budget
    assert payout.fee * 10_000 <= payout.gross * inputs.fee_bps
    assert sum(amount for _, _, amount in result.leaves) == payout.total
    assert all(amount > 0 for _, _, amount in result.leaves)
    assert [index for index, _, _ in result.leaves] == list(range(len(result.leaves)))
    accounts = [account for _, account, _ in result.leaves]
    assert accounts == sorted(set(accounts))
    if result.leaves:
        tree = StandardMerkleTree.of(result.leaves, PAYOUT_LEAF_ENCODING)
        assert result.root == tree.root
    else:
        assert result.root is None and payout.total == 0
    # Same inputs, same result: nothing depends on hidden state.
    assert compute_epoch(inputs) == result
    # auto's choice of model is part of the result and of the bundle the audit recomputes
    quality = bundle_document(inputs, result)["quality"]
    if inputs.method == "auto":
        assert result.model_selection is not None
        assert result.model_selection["winner"] in CANDIDATES
        assert quality["model_selection"] == result.model_selection
    else:
        assert result.model_selection is None and "model_selection" not in quality


def test_default_params_are_canonical_json_values() -> None:
    for method in ("auto", "mv", "wmv", "ds", "onecoin", "bds"):
        params = default_params(method)
        assert all(not isinstance(value, float) or value != int(value) for value in params.values())


def _fund(session: Session, world: World, task_id: bytes) -> None:
    fund_task(
        session,
        world.escrow,
        task_id,
        10_000,
        sender=REQUESTER,
        deadline=world.deadline,
        token=world.token.address,
    )


def test_peer_prediction_settles_and_audits(session: Session, world: World) -> None:
    task_id = store_answered_task(
        session, number=21, n_items=16, seed=2, extra={"mechanism": "peer-prediction"}
    )
    _fund(session, world, task_id)
    report = settle_task(session, world.escrow, world.blobs, task_id, sender=OWNER)
    assert report.state == "done"
    allotted = payout_amounts(session, task_id)
    wallets = [address for _, address in crowd_keys(6)]
    constant = allotted.get(wallets[4], 0)  # always answers "pos": uninformative
    assert constant < min(allotted.get(w, 0) for w in wallets[:4])
    assert report.bundle_cid is not None
    audit = audit_bundle(world.blobs.get(report.bundle_cid), world.escrow)
    assert audit.root == report.root


def test_an_epoch_that_earns_nothing_posts_nothing(
    session: Session, world: World, make_task: Any, contributors: Any, clock: Any
) -> None:
    from datafair.services.submissions import submit_many

    made = make_task(3, gold={0: "pos"})
    entries = [contributors[who].sign(made.info, made.items[0], "neg", 1) for who in range(3)]
    assert all(result.ok for result in submit_many(session, entries, clock=clock))
    _fund(session, world, made.task_id)
    report = settle_task(session, world.escrow, world.blobs, made.task_id, sender=OWNER)
    assert (report.state, report.root, report.total, report.fee) == ("empty", None, 0, 0)
    assert world.escrow.payout_root(made.task_id, 1) is None
    assert report.bundle_cid is not None
    audit = audit_bundle(world.blobs.get(report.bundle_cid), world.escrow)
    assert audit.root is None and audit.unearned == 30
    with pytest.raises(Conflict, match="no new submissions since epoch 1"):
        settle_task(session, world.escrow, world.blobs, made.task_id, sender=OWNER)
