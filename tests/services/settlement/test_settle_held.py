"""Thin evidence is paid later: held pay is recorded in the bundle, carried and released."""

from __future__ import annotations

from settle_helpers import ACCOUNTS, epoch_inputs

from datafair.services.settlement.bundle import (
    EpochInputs,
    bundle_document,
    compute_epoch,
    encode_bundle,
    parse_bundle,
    read_document,
)

HOLD = {"hold_min_answers": 8}
# four labellers on 6 items; the fourth is wrong on every item
FIRST = [["a", "a", "a", "b"], ["b", "b", "b", "a"]] * 3
SECOND = FIRST + [["a", "a", "a", "b"], ["b", "b", "b", "a"]] * 2


def _recomputes(inputs: EpochInputs) -> dict:  # type: ignore[type-arg]
    result = compute_epoch(inputs)
    data = encode_bundle(bundle_document(inputs, result))
    again = parse_bundle(read_document(data))
    assert encode_bundle(bundle_document(again, compute_epoch(again))) == data
    return read_document(data)


def test_pay_of_thin_evidence_is_held_then_released_by_a_later_epoch() -> None:
    first = epoch_inputs(FIRST, {}, 0, extra=HOLD)
    one = compute_epoch(first)
    document = _recomputes(first)
    held = {a: int(v["held"]) for a, v in document["held"].items()}
    assert held[ACCOUNTS[0]] > 0 and held[ACCOUNTS[1]] > 0
    payout = one.payout
    # conservation: budget = paid out + fee + unearned + held
    assert payout.total + payout.fee + payout.unearned + sum(held.values()) == one.budget
    # the next epoch carries the held money in, and with enough answers releases it
    rows = sum(len(a) for a in FIRST)
    second = epoch_inputs(
        SECOND,
        {},
        0,
        extra=HOLD,
        epoch=2,
        paid_in=[1] * rows + [2] * (sum(len(a) for a in SECOND) - rows),
        held=held,
    )
    two = compute_epoch(second)
    later = _recomputes(second)
    assert {a: int(v["carried"]) for a, v in later["held"].items()} == held
    assert all(int(v["held"]) == 0 for v in later["held"].values())
    new_gross = two.rewards
    for account, amount in held.items():
        assert two.payout.amounts[account] == new_gross.get(account, 0) + amount
    assert two.budget == two.price_per_answer * (sum(len(a) for a in SECOND) - rows) + sum(
        held.values()
    )
    assert two.payout.total + two.payout.fee + two.payout.unearned == two.budget


def test_without_the_setting_nothing_is_held() -> None:
    result = compute_epoch(epoch_inputs(FIRST, {}, 0))
    assert result.held == {}
    assert "held" not in bundle_document(epoch_inputs(FIRST, {}, 0), result)


def test_by_default_a_thin_account_beside_typical_ones_is_held() -> None:
    # four labellers answer 12 items each; a fifth answers one: the default bar is
    # min(30, 12 // 2) = 6 answers, so the fifth's pay is held and everyone else's is paid
    answers = [[*FIRST[0], "a"], *SECOND[1:], *SECOND[:2]]
    inputs = epoch_inputs(answers, {}, 0)
    document = _recomputes(inputs)
    assert set(document["held"]) == {ACCOUNTS[4]}
    assert int(document["held"][ACCOUNTS[4]]["held"]) > 0
    assert compute_epoch(inputs).payout.amounts.get(ACCOUNTS[4], 0) == 0


def test_the_history_check_refuses_a_bundle_carrying_other_held_amounts() -> None:
    import dataclasses

    import pytest

    from datafair.services.settlement.audit import AuditMismatch, EarlierBundle, check_history

    first = epoch_inputs(FIRST, {}, 0, extra=HOLD)
    held = {a: int(v["held"]) for a, v in _recomputes(first)["held"].items()}
    earlier = [EarlierBundle(1, "bafkreifirst", first, held)]
    carried = dataclasses.replace(first, epoch=2, held=held)
    assert check_history(carried, earlier) == [1]
    inflated = {**held, ACCOUNTS[0]: held[ACCOUNTS[0]] + 1}
    with pytest.raises(AuditMismatch, match="held section"):
        check_history(dataclasses.replace(first, epoch=2, held=inflated), earlier)
