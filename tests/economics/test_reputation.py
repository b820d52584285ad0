"""Reputation: lower credible bound, order-independent pooling, minimums and pauses."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import beta

from datafair.core.errors import Conflict, InvalidInput
from datafair.economics import (
    Reputation,
    evidence,
    evidence_from_skill,
    ineligibility,
    paused_after,
    require_eligible,
    update_reputation,
)
from datafair.economics.reputation import EVIDENCE_SCALE, Evidence


def test_newcomer_starts_low() -> None:
    fresh = Reputation()
    assert fresh.low == pytest.approx(0.025)
    assert fresh.high == pytest.approx(0.975)
    assert fresh.mean == pytest.approx(0.5)
    assert fresh.score_bps == 250


def test_low_is_the_beta_quantile_of_pooled_counts() -> None:
    rep = update_reputation(None, evidence(85.5, 100))
    assert rep.low == pytest.approx(beta.ppf(0.025, 86.5, 15.5))
    assert rep.high == pytest.approx(beta.ppf(0.975, 86.5, 15.5))
    assert rep.low < rep.mean < rep.high
    assert rep.settlements == 1
    assert rep.score_bps == int(rep.low * 10_000)


def test_more_evidence_at_the_same_accuracy_raises_the_bound() -> None:
    small = update_reputation(None, evidence(9, 10))
    large = update_reputation(None, evidence(900, 1000))
    assert large.low > small.low
    assert large.high < small.high


@given(st.lists(st.tuples(st.integers(0, 500), st.floats(0.0, 1.0)), min_size=1, max_size=6))
def test_pooling_is_order_independent(batches: list[tuple[int, float]]) -> None:
    pieces = [evidence(share * n, n) for n, share in batches]
    results = set()
    for order in itertools.islice(itertools.permutations(pieces), 24):
        rep: Reputation | None = None
        for piece in order:
            rep = update_reputation(rep, piece)
        assert rep is not None
        results.add(rep)
    assert len(results) == 1
    (pooled,) = results
    assert pooled.answers == sum(n for n, _ in batches)
    assert pooled.settlements == len(batches)


def test_skill_mean_inverts_to_its_counts() -> None:
    # The quality engine reports (1 + s) / (2 + n); s = 40, n = 50.
    assert evidence_from_skill(41 / 52, 50) == Evidence(40 * EVIDENCE_SCALE, 50)
    assert evidence_from_skill(0.0, 10) == Evidence(0, 10)  # clipped at 0
    assert evidence_from_skill(1.0, 10) == Evidence(10 * EVIDENCE_SCALE, 10)  # clipped at n


@pytest.mark.parametrize(
    ("correct", "answers", "field"),
    [
        (-0.1, 10, "correct"),
        (11.0, 10, "correct"),
        (float("nan"), 10, "correct"),
        (1.0, -1, "answers"),
        (1.0, 2.5, "answers"),
        (1.0, True, "answers"),
    ],
)
def test_bad_evidence_is_refused(correct: float, answers: int, field: str) -> None:
    with pytest.raises(InvalidInput) as error:
        evidence(correct, answers)
    assert error.value.field == field


@pytest.mark.parametrize(
    ("accuracy", "n_answers", "field"),
    [(1.2, 10, "accuracy"), (float("inf"), 10, "accuracy"), (0.5, -3, "n_answers")],
)
def test_bad_skill_is_refused(accuracy: float, n_answers: int, field: str) -> None:
    with pytest.raises(InvalidInput) as error:
        evidence_from_skill(accuracy, n_answers)
    assert error.value.field == field


def test_inconsistent_evidence_is_refused() -> None:
    with pytest.raises(InvalidInput, match="evidence"):
        update_reputation(None, Evidence(11 * EVIDENCE_SCALE, 10))
    with pytest.raises(InvalidInput, match="evidence"):
        update_reputation(None, Evidence(-1, 10))


def test_minimum_reputation_and_pause() -> None:
    good = update_reputation(None, evidence(950, 1_000))
    assert ineligibility(good, min_reputation_bps=9_000) is None
    assert ineligibility(None, min_reputation_bps=0) is None
    reason = ineligibility(None, min_reputation_bps=5_000)
    assert reason is not None and "250 bps is below the task's minimum of 5000 bps" in reason
    paused = ineligibility(good, min_reputation_bps=0, paused=True)
    assert paused is not None and "paused" in paused
    require_eligible(good, min_reputation_bps=9_000)
    with pytest.raises(Conflict, match="below the task's minimum"):
        require_eligible(good, min_reputation_bps=9_600)
    with pytest.raises(Conflict, match="paused"):
        require_eligible(good, min_reputation_bps=0, paused=True)


@pytest.mark.parametrize("minimum", [-1, 10_001, 0.5])
def test_bad_minimum_is_refused(minimum: object) -> None:
    with pytest.raises(InvalidInput, match="min_reputation_bps"):
        ineligibility(None, min_reputation_bps=minimum)  # type: ignore[arg-type]


def test_pauses_accumulate_and_are_never_lifted_by_a_settlement() -> None:
    first = paused_after(frozenset(), {"0xa": True, "0xb": False})
    assert first == {"0xa"}
    assert paused_after(first, {"0xa": False, "0xc": True}) == {"0xa", "0xc"}
