"""Reputation: a cautious estimate of a contributor's skill on one task type.

A contributor's record on a task type pools, over every settlement, the expected number of
correct answers ``s`` (soft counts from the quality engine's item posteriors) and the number of
answers ``n``. With a uniform Beta(1, 1) prior the accuracy's posterior is
``Beta(1 + s, 1 + n - s)``; the reputation is the lower end of its central 95 % credible
interval (the "lower confidence bound" ranking of Wilson, JASA 22, 1927, in its Bayesian form;
cf. Agresti & Coull, *The American Statistician* 52, 1998). A newcomer starts at 0.025: little
evidence means a low bound, and the bound rises only as good answers accumulate.

Counts are pooled as integers (``s`` in millionths of an answer), so the order in which
settlements are applied never changes the result. Each settlement must contribute only its own
new answers, never answers already counted.

Spam flags pause a contributor on the task they were flagged on; a paused contributor, or one
whose reputation is below a task's minimum, may not contribute to it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

from scipy.special import betaincinv

from datafair.core.errors import Conflict, InvalidInput
from datafair.economics._checks import BPS, basis_points

CREDIBLE_MASS = 0.95
"""Mass of the credible interval whose lower end is the reputation."""

EVIDENCE_SCALE = 10**6
"""Expected correct answers are stored in units of ``1 / EVIDENCE_SCALE`` answer."""

Key = TypeVar("Key", int, str)


@dataclass(frozen=True)
class Evidence:
    """What one settlement says about one contributor on one task type.

    ``correct_units`` is the expected number of correct answers times :data:`EVIDENCE_SCALE`;
    ``answers`` the number of answers it is based on.
    """

    correct_units: int
    answers: int


def _count(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput(field, f"must be a non-negative integer, got {value!r}")
    return value


def evidence(correct: float, answers: int) -> Evidence:
    """Evidence of ``correct`` expected correct answers (a soft count) out of ``answers``."""
    answers = _count(answers, "answers")
    if not math.isfinite(correct) or not 0.0 <= correct <= answers:
        raise InvalidInput("correct", f"must lie in [0, answers={answers}], got {correct!r}")
    return Evidence(min(round(correct * EVIDENCE_SCALE), answers * EVIDENCE_SCALE), answers)


def evidence_from_skill(accuracy: float, n_answers: int) -> Evidence:
    """Evidence recovered from a skill reported as the mean of ``Beta(1 + s, 1 + n - s)``.

    The quality engine reports ``accuracy = (1 + s) / (2 + n)``; this inverts it,
    ``s = accuracy * (n + 2) - 1``, clipped to ``[0, n]``.
    """
    n_answers = _count(n_answers, "n_answers")
    if not math.isfinite(accuracy) or not 0.0 <= accuracy <= 1.0:
        raise InvalidInput("accuracy", f"must lie in [0, 1], got {accuracy!r}")
    correct = min(max(accuracy * (n_answers + 2) - 1.0, 0.0), float(n_answers))
    return evidence(correct, n_answers)


@dataclass(frozen=True)
class Reputation:
    """Pooled evidence of one contributor on one task type, and its credible interval."""

    correct_units: int = 0
    answers: int = 0
    settlements: int = 0

    def _posterior(self) -> tuple[float, float]:
        correct = self.correct_units / EVIDENCE_SCALE
        return 1.0 + correct, 1.0 + self.answers - correct

    @property
    def mean(self) -> float:
        """Posterior mean accuracy."""
        a, b = self._posterior()
        return a / (a + b)

    @property
    def low(self) -> float:
        """The reputation: lower end of the central 95 % credible interval of the accuracy."""
        a, b = self._posterior()
        return float(betaincinv(a, b, (1.0 - CREDIBLE_MASS) / 2.0))

    @property
    def high(self) -> float:
        """Upper end of the central 95 % credible interval of the accuracy."""
        a, b = self._posterior()
        return float(betaincinv(a, b, 1.0 - (1.0 - CREDIBLE_MASS) / 2.0))

    @property
    def score_bps(self) -> int:
        """The reputation in whole basis points (rounded down): what minimums are checked on."""
        return math.floor(self.low * BPS)


def update_reputation(previous: Reputation | None, new: Evidence) -> Reputation:
    """The reputation after one more settlement: counts are added, nothing else."""
    if new.correct_units > new.answers * EVIDENCE_SCALE or new.correct_units < 0:
        raise InvalidInput("evidence", "has more correct answers than answers, or fewer than 0")
    base = previous or Reputation()
    return Reputation(
        correct_units=base.correct_units + new.correct_units,
        answers=base.answers + new.answers,
        settlements=base.settlements + 1,
    )


def ineligibility(
    reputation: Reputation | None, *, min_reputation_bps: int, paused: bool = False
) -> str | None:
    """Why a contributor may not work on a task, or ``None`` when they may.

    ``reputation`` is their record on the task's type (``None``: no record yet);
    ``min_reputation_bps`` the task's minimum (0: none); ``paused`` whether they are paused on
    the task.
    """
    minimum = basis_points(min_reputation_bps, "min_reputation_bps")
    if paused:
        return "paused on this task after being flagged as a spammer"
    score = (reputation or Reputation()).score_bps
    if score < minimum:
        return f"reputation {score} bps is below the task's minimum of {minimum} bps"
    return None


def require_eligible(
    reputation: Reputation | None, *, min_reputation_bps: int, paused: bool = False
) -> None:
    """Raise ``Conflict`` with the reason when :func:`ineligibility` finds one."""
    reason = ineligibility(reputation, min_reputation_bps=min_reputation_bps, paused=paused)
    if reason is not None:
        raise Conflict(f"contributor: {reason}")


def paused_after(paused: frozenset[Key], spam_flags: Mapping[Key, bool]) -> frozenset[Key]:
    """Contributors paused on a task after a settlement: the already paused plus the flagged.

    A pause is never lifted here; lifting one is an operator's decision.
    """
    return paused | frozenset(key for key, flagged in spam_flags.items() if flagged)
