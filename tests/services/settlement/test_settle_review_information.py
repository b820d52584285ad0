"""Reviews are paid by information: constant verdicts earn nothing, whatever the base rate."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from settle_helpers import ACCOUNTS, epoch_inputs

from datafair.services.settlement.bundle import (
    EpochInputs,
    bundle_document,
    compute_epoch,
    encode_bundle,
    parse_bundle,
    read_document,
)

REVIEWER = 6  # reviews only; accounts 0-4 label, account 5 reviews too


@st.composite
def reviewed_epochs(draw: Any) -> tuple[EpochInputs, bool]:
    n_items = draw(st.integers(1, 6))
    answers = [
        draw(st.lists(st.sampled_from(["a", "b"]), min_size=1, max_size=5)) for _ in range(n_items)
    ]
    rows = sum(len(a) for a in answers)
    constant = draw(st.booleans())
    other = draw(st.lists(st.sampled_from([True, False, None]), min_size=rows, max_size=rows))
    inputs = epoch_inputs(
        answers, {5: other, REVIEWER: [constant] * rows}, draw(st.integers(0, 10_000))
    )
    return inputs, constant


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(reviewed_epochs())
def test_constant_verdicts_earn_nothing(case: tuple[EpochInputs, bool]) -> None:
    inputs, _ = case
    result = compute_epoch(inputs)
    assert result.rewards.get(ACCOUNTS[REVIEWER], 0) == 0
    assert result.reviewers[ACCOUNTS[REVIEWER]]["informedness"] == "0.000000"
    payout = result.payout
    held = sum(int(entry["held"]) for entry in result.held.values())
    assert payout.total + payout.fee + payout.unearned + held == result.budget


def test_an_informed_reviewer_is_paid_and_the_bundle_recomputes() -> None:
    # three labellers; the third is wrong on every item; reviewer 5 tells right from wrong,
    # reviewer 6 accepts everything
    answers = [["a", "a", "b"], ["b", "b", "a"], ["a", "a", "b"], ["b", "b", "a"]]
    truth_rows = [c < 2 for a in answers for c in range(len(a))]
    inputs = epoch_inputs(answers, {5: list(truth_rows), REVIEWER: [True] * len(truth_rows)})
    result = compute_epoch(inputs)
    assert result.rewards[ACCOUNTS[5]] > 0
    assert result.rewards.get(ACCOUNTS[REVIEWER], 0) == 0
    assert result.reviewers[ACCOUNTS[5]]["informedness"] == "1.000000"
    assert result.reviewers[ACCOUNTS[REVIEWER]]["accepted_wrong"] == 4
    data = encode_bundle(bundle_document(inputs, result))
    again = parse_bundle(read_document(data))
    assert encode_bundle(bundle_document(again, compute_epoch(again))) == data
    assert read_document(data)["reviewers"] == result.reviewers
