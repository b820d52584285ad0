"""Per-worker skill summaries and the spammer score used to withhold pay.

Every aggregator reports, for each worker, an accuracy with a 95 % credible interval, a
confusion matrix (rows: true class, columns: answered class), the number of answers, and a
spam score.

*Accuracy* is the posterior of a Beta(1, 1) prior updated with the expected number of correct
answers under the fitted item posteriors (soft counts).

*Spam score* is the posterior probability that the worker's *competence* ``κ`` is below
:data:`SPAM_COMPETENCE` (0.15; :data:`MIN_COMPETENCE`, 0.2, for task types scored by
agreement units). Competence is the informedness of the confusion matrix,
``κ = (trace(π) − 1) / (K − 1)``: the MACE model's competence (Hovy, Berg-Kirkpatrick, Vaswani &
Hovy, "Learning Whom to Trust with MACE", NAACL 2013) when the worker follows it, Youden's
``TPR − FPR`` for two classes. Uniform spammers, constant-answer adversaries and workers who
answer by the class prior all have ``κ = 0`` (their confusion matrix has rank one, Raykar & Yu,
"Eliminating Spammers and Ranking Annotators for Crowdsourced Labeling Tasks", JMLR 13, 2012),
and since ``π``'s rows are conditional on the truth, the class balance does not move ``κ``:
honest workers on imbalanced data are not mistaken for spammers (an accuracy-based measure, or
MACE's with the worker's answer shares plugged in as ``q``, is pulled toward the majority
class). The posterior of ``κ`` comes from the worker's soft confusion counts, each answer
scored against the *other* answers on its item (:func:`spam_scores`). Few answers give a wide
posterior, so new workers score below 0.5. A worker is flagged when
``spam_score > spam_threshold`` (default :data:`SPAM_THRESHOLD` = 0.5: "more likely than not,
fewer than one answer in five reflects the truth").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtr
from scipy.stats import beta

SPAM_THRESHOLD = 0.5
"""Default threshold on ``spam_score`` above which a worker is flagged and earns nothing."""

CREDIBLE_MASS = 0.95
"""Mass of the reported credible interval of a worker's accuracy."""


@dataclass(frozen=True)
class WorkerSkill:
    """What the data say about one worker.

    ``accuracy`` is the posterior mean probability of a correct answer, ``low``/``high`` bound
    its 95 % credible interval, ``confusion[c, k]`` is the probability of answering ``k`` when
    the truth is ``c``, ``n_answers`` counts the answers used, ``spam_score`` is the posterior
    probability that the worker's answers ignore the truth.
    """

    worker: Any
    accuracy: float
    low: float
    high: float
    confusion: NDArray[np.float64] = field(compare=False, repr=False)
    n_answers: int
    spam_score: float


def beta_summary(
    successes: NDArray[np.float64], trials: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Mean and central credible interval of Beta(1 + successes, 1 + failures)."""
    a = 1.0 + successes
    b = 1.0 + np.maximum(trials - successes, 0.0)
    tail = (1.0 - CREDIBLE_MASS) / 2.0
    mean = a / (a + b)
    low = np.asarray(beta.ppf(tail, a, b), dtype=np.float64)
    high = np.asarray(beta.ppf(1.0 - tail, a, b), dtype=np.float64)
    return mean, low, high


MIN_COMPETENCE = 0.2
"""Competence below which a worker counts as a spammer (see the module doc)."""

SPAM_COMPETENCE = 0.15
"""The line :func:`spam_scores` tests categorical workers against: halfway between a worker who
ignores the item (``κ = 0``) and the weakest honest worker the engine must never flag (right
65 % of the time on two classes, ``κ = 0.3``), whose measured competence is pulled down by the
noise of the inferred truth."""

PRIOR_DIAGONAL = 1.0
"""Extra pseudo-answer on the diagonal of each confusion row's Dirichlet prior (see
:func:`spam_scores`): with no answers, a worker's competence has mean 0.5 and
``P(κ < 0.15)`` is about 0.16 on two classes and less on more, so new workers are not
flagged."""


def spam_scores(counts: NDArray[np.float64]) -> NDArray[np.float64]:
    """Posterior probability that each worker's competence is below :data:`SPAM_COMPETENCE`.

    ``counts[w, c, k]`` is the expected number of answers ``k`` by worker ``w`` on items whose
    true class is ``c``. Competence is the multi-class informedness
    ``κ = (Σ_c π[c, c] − 1) / (K − 1)`` of the confusion matrix ``π`` (Youden's J for two
    classes, ``TPR − FPR``; for a MACE worker it is exactly MACE's competence). Its rows are
    conditional on the truth, so the class balance does not enter: a worker who ignores the
    item (uniform, constant, or drawn from the class prior) has ``κ = 0`` whatever the balance,
    an honest worker right 65 % of the time on two classes 80/20 has ``κ = 0.3``. Each row of
    ``π`` has the Dirichlet posterior ``counts[w, c] + 1/K + PRIOR_DIAGONAL · e_c``; ``κ``'s
    posterior is taken as normal with the mean and variance that follow from the rows'
    independent Beta marginals of the diagonal cells.
    """
    n_workers = counts.shape[0]
    k = counts.shape[-1]
    if n_workers == 0 or k < 2:
        return np.zeros(n_workers, dtype=np.float64)
    alpha = counts + 1.0 / k
    diagonal = np.einsum("wcc->wc", alpha) + PRIOR_DIAGONAL
    rows = alpha.sum(axis=2) + PRIOR_DIAGONAL
    mean_cell = diagonal / rows
    var_cell = mean_cell * (1.0 - mean_cell) / (rows + 1.0)
    mean = (mean_cell.sum(axis=1) - 1.0) / (k - 1)
    sd = np.sqrt(var_cell.sum(axis=1)) / (k - 1)
    scores: NDArray[np.float64] = np.asarray(
        ndtr((SPAM_COMPETENCE - mean) / np.maximum(sd, 1e-12)), dtype=np.float64
    )
    return scores


def build_skills(
    workers: NDArray[Any],
    counts: NDArray[np.float64],
    n_answers: NDArray[np.intp],
    confusion: NDArray[np.float64] | None = None,
) -> tuple[list[WorkerSkill], NDArray[np.float64]]:
    """Skills and spam scores from soft confusion counts ``counts[w, c, k]``.

    ``confusion`` is the model's own estimate when it has one; otherwise the counts are
    smoothed with one pseudo-answer per row spread evenly.
    """
    n_classes = counts.shape[-1]
    correct = np.einsum("wcc->w", counts) if n_classes else np.zeros(counts.shape[0])
    total = counts.sum(axis=(1, 2))
    mean, low, high = beta_summary(correct, total)
    if confusion is None:
        smoothed = counts + 1.0 / max(n_classes, 1)
        confusion = smoothed / smoothed.sum(axis=2, keepdims=True)
    scores = spam_scores(counts)
    return _skill_list(workers, mean, low, high, confusion, n_answers, scores), scores


def _skill_list(
    workers: NDArray[Any],
    mean: NDArray[np.float64],
    low: NDArray[np.float64],
    high: NDArray[np.float64],
    confusion: NDArray[np.float64],
    n_answers: NDArray[np.intp],
    scores: NDArray[np.float64],
) -> list[WorkerSkill]:
    """One :class:`WorkerSkill` per worker from aligned per-worker columns."""
    return [
        WorkerSkill(
            worker=_plain(workers[w]),
            accuracy=float(mean[w]),
            low=float(low[w]),
            high=float(high[w]),
            confusion=confusion[w],
            n_answers=int(n_answers[w]),
            spam_score=float(scores[w]),
        )
        for w in range(workers.shape[0])
    ]


def _plain(value: object) -> object:
    return value.item() if isinstance(value, np.generic) else value


def chance_floor(chance: float) -> float:
    """Accuracy of a worker of competence :data:`MIN_COMPETENCE` when guessing scores ``chance``."""
    return chance + MIN_COMPETENCE * (1.0 - chance)


def skills_from_agreement(
    workers: NDArray[Any],
    successes: NDArray[np.float64],
    trials: NDArray[np.float64],
    n_answers: NDArray[np.intp],
    *,
    chance: float,
    confusion: NDArray[np.float64] | None = None,
) -> tuple[list[WorkerSkill], NDArray[np.float64]]:
    """Skills for task types scored by (soft) agreement units rather than a confusion matrix.

    ``successes``/``trials`` are each worker's agreeing and total units; accuracy is their
    Beta(1, 1) posterior. The spam score is the posterior probability that the accuracy is below
    :func:`chance_floor` of ``chance`` (the score of a worker who ignores the item), i.e. that
    the worker's competence is below :data:`MIN_COMPETENCE`. ``confusion`` defaults to the 2 × 2
    matrix ``[[1 - accuracy, accuracy]]`` repeated (rows: any truth; columns: miss, hit).
    """
    mean, low, high = beta_summary(successes, trials)
    a = 1.0 + successes
    b = 1.0 + np.maximum(trials - successes, 0.0)
    scores = np.asarray(beta.cdf(chance_floor(chance), a, b), dtype=np.float64)
    if confusion is None:
        row = np.stack([1.0 - mean, mean], axis=1)
        confusion = np.repeat(row[:, None, :], 2, axis=1)
    return _skill_list(workers, mean, low, high, confusion, n_answers, scores), scores
