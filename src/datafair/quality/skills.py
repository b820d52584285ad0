"""Per-worker skill summaries and the spammer score used to withhold pay.

Every aggregator reports, for each worker, an accuracy with a 95 % credible interval, a
confusion matrix (rows: true class, columns: answered class), the number of answers, and a
spam score.

*Accuracy* is the posterior of a Beta(1, 1) prior updated with the expected number of correct
answers under the fitted item posteriors (soft counts).

*Spam score* is the posterior probability that the worker's *competence* ``κ`` is below
:data:`MIN_COMPETENCE` (0.2). Competence is the MACE model's (Hovy, Berg-Kirkpatrick, Vaswani &
Hovy, "Learning Whom to Trust with MACE", NAACL 2013): with probability ``κ`` the worker gives
the true class, otherwise an answer drawn from their own answer distribution ``q``; so
``P(k | c) = κ·[k = c] + (1 − κ)·q_k``. Uniform spammers and constant-answer adversaries both
have ``κ = 0`` (the confusion matrix has rank one, Raykar & Yu, "Eliminating Spammers and
Ranking Annotators for Crowdsourced Labeling Tasks", JMLR 13, 2012). The posterior of ``κ``
(uniform prior, evaluated on a fixed grid, ``q`` plugged in) uses the worker's soft confusion
counts, each answer scored against the *other* answers on its item. Few answers give a wide
posterior, so new workers score below 0.5. A worker is flagged when
``spam_score > spam_threshold`` (default :data:`SPAM_THRESHOLD` = 0.5: "more likely than not,
fewer than one answer in five reflects the truth").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
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

_GRID = np.linspace(0.0, 1.0, 201)


def spam_scores(counts: NDArray[np.float64]) -> NDArray[np.float64]:
    """Posterior probability that each worker's competence is below :data:`MIN_COMPETENCE`.

    ``counts[w, c, k]`` is the expected number of answers ``k`` by worker ``w`` on items whose
    true class is ``c``. A worker without answers scores the prior mass, 0.2.
    """
    n_workers = counts.shape[0]
    if n_workers == 0:
        return np.zeros(0, dtype=np.float64)
    k = counts.shape[-1]
    answered = counts.sum(axis=1)  # (w, k)
    q = (answered + 0.5) / (answered.sum(axis=1, keepdims=True) + 0.5 * k)
    diagonal = np.einsum("wcc->wc", counts)  # (w, k)
    off_total = counts.sum(axis=(1, 2)) - diagonal.sum(axis=1)
    log_q = np.log(q)
    kappa = _GRID[None, :, None]
    log_keep = np.log1p(-_GRID[:-1])  # κ = 1 handled separately below
    log_lik = np.empty((n_workers, _GRID.shape[0]))
    # off-diagonal cells: (1 - κ) q_k
    off_q_term = ((answered - diagonal) * log_q).sum(axis=1)  # (w,)
    log_lik[:, :-1] = off_total[:, None] * log_keep[None, :] + off_q_term[:, None]
    log_lik[:, -1] = np.where(off_total > 1e-9, -np.inf, 0.0)
    # diagonal cells: κ + (1 - κ) q_c
    diag_prob = kappa + (1.0 - kappa) * q[:, None, :]  # (w, g, k)
    log_lik += (diagonal[:, None, :] * np.log(diag_prob)).sum(axis=2)
    log_lik -= log_lik.max(axis=1, keepdims=True)
    posterior = np.exp(log_lik)
    posterior /= posterior.sum(axis=1, keepdims=True)
    scores: NDArray[np.float64] = posterior[:, _GRID < MIN_COMPETENCE].sum(axis=1)
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
