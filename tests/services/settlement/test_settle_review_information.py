"""Reviews are paid by information: constant verdicts earn nothing, whatever the base rate."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from settle_helpers import OWNER, REQUESTER, crowd_keys

from datafair.core.schemas import LabelSchema, TaskType
from datafair.core.task import TaskSpec
from datafair.crypto.cid import compute_cid
from datafair.services.settlement.bundle import (
    EpochInputs,
    Reviews,
    Submissions,
    bundle_document,
    compute_epoch,
    encode_bundle,
    parse_bundle,
    read_document,
)

ACCOUNTS = sorted(address for _, address in crowd_keys(7))
REVIEWER = 6  # reviews only; accounts 0-4 label, account 5 reviews too


def _inputs(
    answers: list[list[str]], verdicts: dict[int, list[bool | None]], review_bps: int = 2_000
) -> EpochInputs:
    """One epoch: ``answers[i]`` are the labels accounts 0.. gave item ``i``; ``verdicts[r]``
    the verdicts of reviewer ``r`` on every submission, in row order."""
    n_items = len(answers)
    items = sorted(compute_cid(f"information item {i}".encode()) for i in range(n_items))
    spec = TaskSpec(
        dataset_cid=items[0],
        title="information",
        schema=LabelSchema(TaskType.CLASSIFICATION, ("a", "b")),
        price_per_answer=1_000_000,
        extra={"review_bps": review_bps},
    )
    item = [i for i in range(n_items) for _ in answers[i]]
    contributor = [c for i in range(n_items) for c in range(len(answers[i]))]
    rows = len(item)
    review_rows = [(row, r, v) for r, vs in sorted(verdicts.items()) for row, v in enumerate(vs)]
    review_rows.sort(key=lambda entry: (entry[0], entry[1]))
    return EpochInputs(
        task_id=spec.task_id,
        spec=spec.to_dict(),
        chain_id=31337,
        escrow=OWNER,
        token=REQUESTER,
        epoch=1,
        submissions=Submissions(
            items=items,
            accounts=ACCOUNTS,
            item=item,
            contributor=contributor,
            answer=[f'"{answers[i][c]}"' for i, c in zip(item, contributor, strict=True)],
            nonce=list(range(rows)),
            duration_ms=[1000] * rows,
            signature=[b"\x01" * 65] * rows,
            epoch=[1] * rows,
        ),
        reviews=Reviews(
            submission=[row for row, _, _ in review_rows],
            reviewer=[r for _, r, _ in review_rows],
            verdict=[None if v is None else ("accept" if v else "reject") for *_, v in review_rows],
            rating=[None] * len(review_rows),
            signature=[None] * len(review_rows),
        ),
        gold={},
        gold_salt=b"\x00" * 32,
        gold_commitment=b"\x00" * 32,
        method="mv",
        params={},
        fee_bps=0,
    )


@st.composite
def reviewed_epochs(draw: Any) -> tuple[EpochInputs, bool]:
    n_items = draw(st.integers(1, 6))
    answers = [
        draw(st.lists(st.sampled_from(["a", "b"]), min_size=1, max_size=5)) for _ in range(n_items)
    ]
    rows = sum(len(a) for a in answers)
    constant = draw(st.booleans())
    other = draw(st.lists(st.sampled_from([True, False, None]), min_size=rows, max_size=rows))
    inputs = _inputs(answers, {5: other, REVIEWER: [constant] * rows}, draw(st.integers(0, 10_000)))
    return inputs, constant


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(reviewed_epochs())
def test_constant_verdicts_earn_nothing(case: tuple[EpochInputs, bool]) -> None:
    inputs, _ = case
    result = compute_epoch(inputs)
    assert result.rewards.get(ACCOUNTS[REVIEWER], 0) == 0
    assert result.reviewers[ACCOUNTS[REVIEWER]]["informedness"] == "0.000000"
    payout = result.payout
    assert payout.total + payout.fee + payout.unearned == result.budget


def test_an_informed_reviewer_is_paid_and_the_bundle_recomputes() -> None:
    # three labellers; the third is wrong on every item; reviewer 5 tells right from wrong,
    # reviewer 6 accepts everything
    answers = [["a", "a", "b"], ["b", "b", "a"], ["a", "a", "b"], ["b", "b", "a"]]
    truth_rows = [c < 2 for a in answers for c in range(len(a))]
    inputs = _inputs(answers, {5: list(truth_rows), REVIEWER: [True] * len(truth_rows)})
    result = compute_epoch(inputs)
    assert result.rewards[ACCOUNTS[5]] > 0
    assert result.rewards.get(ACCOUNTS[REVIEWER], 0) == 0
    assert result.reviewers[ACCOUNTS[5]]["informedness"] == "1.000000"
    assert result.reviewers[ACCOUNTS[REVIEWER]]["accepted_wrong"] == 4
    data = encode_bundle(bundle_document(inputs, result))
    again = parse_bundle(read_document(data))
    assert encode_bundle(bundle_document(again, compute_epoch(again))) == data
    assert read_document(data)["reviewers"] == result.reviewers
