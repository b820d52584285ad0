"""Gold decides when gold exists: a worker's record on gold items bounds their skill.

Input: encoded answers (:class:`~datafair.quality._encode.EncodedAnswers`) whose ``gold`` column
gives the gold class of each gold item (``-1`` elsewhere). For every worker with answers on gold
items the record is

* ``accuracy``: the share of their gold answers that give the gold class, with the central 95 %
  interval of its Beta(1 + right, 1 + wrong) posterior (as :func:`~datafair.quality.skills.
  beta_summary`);
* ``balanced``: their *balanced* accuracy on gold, the mean over the gold classes they met of
  the share answered right (recall), with the Beta interval of ``n_eff · balanced`` successes
  in ``n_eff`` trials, ``n_eff = K_met² / Σ_c 1/n_c`` the effective sample size of a mean of
  ``K_met`` class proportions from ``n_c`` answers each (Kish, *Survey Sampling*, 1965): a
  class met twice says little, and an honest worker wrong on both is not taken for a spammer.
  Any answer that ignores the item (uniform guessing, one constant class, answers drawn from
  the class prior) has a balanced accuracy of ``1/K`` whatever the class balance, so
  its *competence* ``(balanced − 1/K) / (1 − 1/K)`` is 0 (informedness, Powers, "Evaluation:
  from precision, recall and F-measure to ROC, informedness, markedness and correlation",
  2011; the same quantity as the MACE competence, Hovy et al. 2013).

Rules (applied by :class:`~datafair.quality.base.CategoricalAggregator`):

1. **Excluded.** A worker whose gold competence interval lies below the spam line
   :data:`~datafair.quality.skills.MIN_COMPETENCE` (``balanced_high < 1/K + 0.2 (1 − 1/K)``,
   which includes every record at or below chance, ``balanced_high <= 1/K``) is flagged as a
   spammer (spam score 1) and their answers are left out of inference: agreement with others
   can never lift a worker gold shows to be at chance.
2. **Capped.** Otherwise the worker's reported accuracy and its bounds are capped at the top
   of the gold accuracy interval. Gold only ever *lowers* what the other answers say, never
   lifts it: gold items are meant to be hidden among the others (committed before any answer,
   :mod:`datafair.services.settlement.gold`), but a worker who can tell them apart (a
   *gold-aware cheater*, right on what it takes for gold and guessing elsewhere) earns a good
   record on them, and a record that vouched for it would pay its guesses.
3. **Spam scored off gold.** For the same reason the spam score of a worker with gold answers
   is the model's score of their answers on the *other* items (:func:`without_gold_items`):
   what they are paid for must show competence by itself. An honest worker answers gold and
   other items alike, so this changes their score only by the few answers left out; a
   gold-aware cheater's competence elsewhere is that of a guesser, whatever their gold record.

Workers without gold answers keep what the model says.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from datafair.quality._encode import EncodedAnswers
from datafair.quality.skills import WorkerSkill, beta_summary, chance_floor

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class GoldRecord:
    """Per worker (aligned with ``EncodedAnswers.workers``): gold answers, accuracy and its
    interval, balanced accuracy and its interval, and the chance level ``1/K``."""

    n_gold: NDArray[np.int64]
    accuracy: FloatArray
    low: FloatArray
    high: FloatArray
    balanced_low: FloatArray
    balanced_high: FloatArray
    chance: float

    @property
    def has_gold(self) -> NDArray[np.bool_]:
        return self.n_gold > 0

    @property
    def excluded(self) -> NDArray[np.bool_]:
        """Workers whose gold competence interval lies below the spam line (rule 1)."""
        result: NDArray[np.bool_] = self.has_gold & (self.balanced_high < chance_floor(self.chance))
        return result


def gold_record(data: EncodedAnswers) -> GoldRecord | None:
    """Each worker's record on the gold items, or ``None`` when no answer is on a gold item."""
    k = data.n_classes
    if not k or not data.n_answers:
        return None
    truth = data.gold[data.item_idx]
    on_gold = truth >= 0
    if not on_gold.any():
        return None
    worker = data.worker_idx[on_gold]
    truth = truth[on_gold]
    right = (data.label_idx[on_gold] == truth).astype(np.float64)
    n_workers = data.n_workers
    n_gold = np.bincount(worker, minlength=n_workers).astype(np.int64)
    correct = np.bincount(worker, weights=right, minlength=n_workers).astype(np.float64)
    mean, low, high = beta_summary(correct, n_gold.astype(np.float64))
    # per (worker, gold class) recall, averaged over the classes each worker met
    cell = worker * k + truth
    met = np.bincount(cell, minlength=n_workers * k).reshape(n_workers, k)
    hits = np.bincount(cell, weights=right, minlength=n_workers * k).reshape(n_workers, k)
    recall = np.divide(hits, met, out=np.zeros_like(hits), where=met > 0)
    classes_met = (met > 0).sum(axis=1)
    balanced = np.divide(
        recall.sum(axis=1), classes_met, out=np.zeros(n_workers), where=classes_met > 0
    )
    # the balanced accuracy is a mean of per-class proportions: its effective sample size is
    # K² / Σ_c 1/n_c over the K classes met (Kish 1965), n when every class has n / K answers,
    # less when a class has only a handful (whose recall is then very uncertain)
    inverse = np.divide(1.0, met, out=np.zeros(met.shape), where=met > 0).sum(axis=1)
    trials = np.divide(
        classes_met.astype(np.float64) ** 2, inverse, out=np.zeros(n_workers), where=inverse > 0
    )
    _, balanced_low, balanced_high = beta_summary(balanced * trials, trials)
    return GoldRecord(
        n_gold=n_gold,
        accuracy=np.where(n_gold > 0, correct / np.maximum(n_gold, 1), mean),
        low=low,
        high=high,
        balanced_low=balanced_low,
        balanced_high=balanced_high,
        chance=1.0 / k,
    )


def answers_where(data: EncodedAnswers, keep: NDArray[np.bool_]) -> EncodedAnswers:
    """``data`` with only the answer rows where ``keep`` holds (keys, gold and the index spaces
    unchanged; weights kept aligned)."""
    return replace(
        data,
        item_idx=data.item_idx[keep],
        worker_idx=data.worker_idx[keep],
        label_idx=data.label_idx[keep],
        weight=None if data.weight is None else data.weight[keep],
    )


def without_workers(data: EncodedAnswers, dropped: NDArray[np.bool_]) -> EncodedAnswers:
    """``data`` without the answers of the ``dropped`` workers (keys and gold unchanged)."""
    return answers_where(data, ~dropped[data.worker_idx])


def without_gold_items(data: EncodedAnswers) -> EncodedAnswers:
    """``data`` without the answers on gold items (keys, gold and weights kept aligned)."""
    return answers_where(data, data.gold[data.item_idx] < 0)


def bound_skills(
    skills: list[WorkerSkill],
    scores: FloatArray,
    record: GoldRecord | None,
    off_gold: FloatArray | None = None,
) -> tuple[list[WorkerSkill], FloatArray]:
    """Skills capped at each worker's gold interval, spam scores raised to 1 for the excluded
    (module rules 1-2); ``off_gold``, when given, is each worker's spam score from their answers
    on non-gold items, which replaces the score of every worker with gold answers (rule 3)."""
    if record is None:
        return skills, scores
    scores = scores.copy()
    if off_gold is not None:
        scores[record.has_gold] = off_gold[record.has_gold]
    below = record.excluded
    scores[below] = 1.0
    bounded = list(skills)
    for w in np.flatnonzero(record.has_gold).tolist():
        skill = skills[w]
        hi = float(record.high[w])
        bounded[w] = replace(
            skill,
            accuracy=min(skill.accuracy, hi),
            low=min(skill.low, hi),
            high=min(skill.high, hi),
            spam_score=float(scores[w]),
        )
    return bounded, scores


__all__ = [
    "GoldRecord",
    "answers_where",
    "bound_skills",
    "gold_record",
    "without_gold_items",
    "without_workers",
]
