"""Money rules of datafair, pure and in integer token base units (no I/O, no floats on money).

- :mod:`~datafair.economics.apportion`: deterministic largest-remainder (Hamilton) splits;
- :mod:`~datafair.economics.rewards`: quality-weighted pay per answer and per review;
- :mod:`~datafair.economics.peer_prediction`: correlated-agreement pay without ground truth;
- :mod:`~datafair.economics.fees`: the capped platform fee and the split of a payout;
- :mod:`~datafair.economics.reputation`: lower credible bound of skill, pauses, minimums;
- :mod:`~datafair.economics.fair_pay`: effective hourly pay and the price a floor requires.

Inputs are plain integer/float columns and mappings, so any truth-inference method can feed
them. The policy in words, with formulas and sources, is in ``docs/economics.md``.
"""

from __future__ import annotations

from enum import StrEnum

from datafair.economics.apportion import (
    WEIGHT_SCALE,
    apportion,
    apportion_groups,
    largest_remainder,
    quantise,
)
from datafair.economics.fair_pay import (
    FairPay,
    assess_price,
    check_price,
    effective_hourly_pay,
    median_millis,
    price_needed,
)
from datafair.economics.fees import (
    DEFAULT_FEE_BPS,
    MAX_FEE_BPS,
    Payout,
    check_fee_bps,
    fee_for,
    split_payout,
)
from datafair.economics.peer_prediction import (
    PeerPredictionResult,
    peer_prediction_rewards,
    score_matrix,
)
from datafair.economics.reputation import (
    Evidence,
    Reputation,
    evidence,
    evidence_from_skill,
    ineligibility,
    paused_after,
    require_eligible,
    update_reputation,
)
from datafair.economics.rewards import (
    AnswerColumns,
    ReviewColumns,
    RewardResult,
    quality_weighted_rewards,
)


class Mechanism(StrEnum):
    """How a task turns answers into pay (chosen per task)."""

    QUALITY = "quality"
    """Price times the posterior probability that the answer is right (needs truth inference)."""
    PEER_PREDICTION = "peer-prediction"
    """Correlated agreement between contributors (Shnayder et al. 2016); no truth needed."""


__all__ = [
    "DEFAULT_FEE_BPS",
    "MAX_FEE_BPS",
    "WEIGHT_SCALE",
    "AnswerColumns",
    "Evidence",
    "FairPay",
    "Mechanism",
    "Payout",
    "PeerPredictionResult",
    "Reputation",
    "ReviewColumns",
    "RewardResult",
    "apportion",
    "apportion_groups",
    "assess_price",
    "check_fee_bps",
    "check_price",
    "effective_hourly_pay",
    "evidence",
    "evidence_from_skill",
    "fee_for",
    "ineligibility",
    "largest_remainder",
    "median_millis",
    "paused_after",
    "peer_prediction_rewards",
    "price_needed",
    "quality_weighted_rewards",
    "quantise",
    "require_eligible",
    "score_matrix",
    "split_payout",
    "update_reputation",
]
