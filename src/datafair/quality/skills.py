"""Per-worker skill summaries and the spammer score used to withhold pay.

Every aggregator reports, for each worker, an accuracy with a 95 % credible interval, a
confusion matrix (rows: true class, columns: answered class), the number of answers, and a
spam score.

*Accuracy* is the posterior of a Beta(1, 1) prior updated with the expected number of correct
answers under the fitted item posteriors (soft counts).

*Spam score* is the posterior probability that the worker's *competence* ``κ`` is below
:func:`spam_competence` (0.15 on two classes, 0.24 on three; :data:`MIN_COMPETENCE`, 0.2,
for task types scored by agreement units). Competence is the informedness of the confusion matrix,
``κ = (trace(π) − 1) / (K − 1)``: the MACE model's competence (Hovy, Berg-Kirkpatrick, Vaswani &
Hovy, "Learning Whom to Trust with MACE", NAACL 2013) when the worker follows it, Youden's
``TPR − FPR`` for two classes. Uniform spammers, constant-answer adversaries and workers who
answer by the class prior all have ``κ = 0`` (their confusion matrix has rank one, Raykar & Yu,
"Eliminating Spammers and Ranking Annotators for Crowdsourced Labeling Tasks", JMLR 13, 2012),
and since ``π``'s rows are conditional on the truth, the class balance does not move ``κ``:
honest workers on imbalanced data are not mistaken for spammers (an accuracy-based measure, or
MACE's with the worker's answer shares plugged in as ``q``, is pulled toward the majority
class). The posterior of ``κ`` comes from the worker's soft confusion counts, each answer
scored against the *other* answers on its item (:func:`spam_scores`), corrected for the errors
of that reference (:func:`deattenuate`: scored against an imperfect reference, every worker's
measured competence shrinks toward 0 by the reference's own informedness, which would flag
weak honest workers on hard or imbalanced data while a spammer's ``κ = 0`` stays 0). Few
answers give a wide posterior, so new workers score below 0.5. A worker is flagged when
``spam_score > spam_threshold`` (default :data:`SPAM_THRESHOLD` = 0.5: "more likely than not,
fewer than one answer in five reflects the truth").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from datafair.quality._em import (
    add_loo_counts,
    leave_one_out_posteriors,
    loo_counts_matrix,
    sum_rows_by,
)
from datafair.quality._encode import EncodedAnswers
from datafair.quality._special import betainc, betaincinv, ndtr

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
    # the Beta quantiles of scipy.stats.beta (same values to 1e-10), without importing scipy
    low = np.asarray(betaincinv(a, b, tail), dtype=np.float64)
    high = np.asarray(betaincinv(a, b, 1.0 - tail), dtype=np.float64)
    return mean, low, high


MIN_COMPETENCE = 0.2
"""Competence below which a worker counts as a spammer (see the module doc)."""

HONEST_FLOOR = 0.65
"""The weakest honest worker the engine must never flag: right this often, errors spread."""


def spam_competence(n_classes: int) -> float:
    """The line :func:`spam_scores` tests categorical workers against: halfway between a worker
    who ignores the item (``κ = 0``) and the weakest honest worker, right :data:`HONEST_FLOOR`
    of the time, whose competence on ``K`` classes is ``(0.65 − 1/K) / (1 − 1/K)`` (0.3 on two
    classes, 0.475 on three). Halfway leaves room for the sampling noise of a few hundred
    answers on either side."""
    chance = 1.0 / max(n_classes, 2)
    return 0.5 * (HONEST_FLOOR - chance) / (1.0 - chance)


SPAM_COMPETENCE = spam_competence(2)
"""The line on two classes (0.15)."""

PRIOR_DIAGONAL = 1.0
"""Extra pseudo-answer on the diagonal of each confusion row's Dirichlet prior (see
:func:`spam_scores`): with no answers, a worker's competence has mean 0.5 and
``P(κ < 0.15)`` is about 0.16 on two classes and less on more, so new workers are not
flagged."""


def spam_scores(
    counts: NDArray[np.float64], inflation: NDArray[np.float64] | None = None
) -> NDArray[np.float64]:
    """Posterior probability that each worker's competence is below :func:`spam_competence`.

    ``counts[w, c, k]`` is the expected number of answers ``k`` by worker ``w`` on items whose
    true class is ``c``. Competence is the multi-class informedness
    ``κ = (Σ_c π[c, c] − 1) / (K − 1)`` of the confusion matrix ``π`` (Youden's J for two
    classes, ``TPR − FPR``; for a MACE worker it is exactly MACE's competence). Its rows are
    conditional on the truth, so the class balance does not enter: a worker who ignores the
    item (uniform, constant, or drawn from the class prior) has ``κ = 0`` whatever the balance,
    an honest worker right 65 % of the time on two classes 80/20 has ``κ = 0.3``. Each row of
    ``π`` has the Dirichlet posterior ``counts[w, c] + 1/K + PRIOR_DIAGONAL · e_c``; ``κ``'s
    posterior is taken as normal with the mean and variance that follow from the rows'
    independent Beta marginals of the diagonal cells, its standard deviation multiplied by
    ``inflation`` (per worker) when the counts were corrected for their reference
    (:func:`deattenuate`).
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
    if inflation is not None:
        sd = sd * inflation
    scores: NDArray[np.float64] = np.asarray(
        ndtr((spam_competence(k) - mean) / np.maximum(sd, 1e-12)), dtype=np.float64
    )
    return scores


MIN_REFERENCE_INFORMEDNESS = 0.2
"""Below this informedness of the reference (:func:`deattenuate`) the correction would divide
noise by little: the measured counts are kept."""


MAX_REFERENCE_CONDITION = 1e6
"""A reference matrix this ill-conditioned (rows nearly alike) is not inverted either."""


_JOINT_CELLS = 1 << 22


def counts_and_reference(
    data: EncodedAnswers, posteriors: NDArray[np.float64], log_confusion: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The leave-one-out counts (:func:`datafair.quality._em.add_loo_counts`) and
    ``M[w, z, c]``, how the leave-one-out reference ``T₋ₐ`` that worker ``w``'s answers were
    scored against reads items whose truth is ``z``: ``E[T₋ₐ[c] | z]``; both from one pass over
    the answers' leave-one-out posteriors.

    ``T₋ₐ`` is the item's posterior without answer ``a`` (its own, or its dependent group's,
    factor divided out). Taking ``T₋ₐ`` as calibrated (it is the model's ``P(z | the other
    answers)``), ``P(z, reference c) = E[T₋ₐ[z] T₋ₐ[c]]``, so
    ``M[z, c] = Σₐ T₋ₐ[z] T₋ₐ[c] / Σₐ T₋ₐ[z]`` over ``w``'s answers; judging the reference by
    the full posterior instead would flatter it, since that posterior shares the very answers
    whose errors are in question. Rows are normalised (a row without weight is the
    identity's)."""
    k = data.n_classes
    counts = np.zeros(data.n_workers * k * k)
    total = np.zeros(data.n_workers * k * k)
    step = max(1, _JOINT_CELLS // (k * k))  # bounds the answer × z × c block's memory
    for worker, label, loo, weight in leave_one_out_posteriors(data, posteriors, log_confusion):
        add_loo_counts(counts, worker, label, loo, weight)
        for start in range(0, worker.shape[0], step):
            part = slice(start, start + step)
            joint = (loo[part] * weight[part, None])[:, :, None] * loo[part, None, :]
            per_answer = joint.reshape(joint.shape[0], k * k)
            total += sum_rows_by(worker[part], per_answer, data.n_workers).reshape(-1)
    matrix = total.reshape(data.n_workers, k, k)
    rows = matrix.sum(axis=2, keepdims=True)
    identity = np.broadcast_to(np.eye(k), matrix.shape)
    reference: NDArray[np.float64] = np.where(
        rows > 0, matrix / np.where(rows > 0, rows, 1.0), identity
    )
    return loo_counts_matrix(counts, data.n_workers, k), reference


def deattenuate(
    counts: NDArray[np.float64], reference: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Confusion counts corrected for the errors of the reference they were scored against, and
    by how much the correction widens their competence's standard deviation.

    Scored against a reference ``M[z, c]`` (row ``z``: how the reference reads an item of true
    class ``z``) that errs independently of the worker, the expected measured counts are
    ``Mᵀ C`` with ``C[z, k]`` the worker's counts against the truth; so ``C = (Mᵀ)⁻¹ · counts``,
    the matrix method for misclassified references (Barron, "The effects of misclassification
    on the estimation of relative risk", Biometrics 33, 1977). Negative cells are clipped to 0,
    each worker's total is kept (``M``'s rows sum to one), and a worker whose reference has
    informedness below :data:`MIN_REFERENCE_INFORMEDNESS` (or a condition number above
    :data:`MAX_REFERENCE_CONDITION`) keeps the measured counts. A worker who ignores the item
    (all rows of ``C`` alike) stays so: the correction moves no one across ``κ = 0``; it only
    undoes the shrinkage toward 0 of everyone else's competence. The measured competence is the
    true one times the informedness of the reference read backwards (``P(z | reference c)``;
    exactly so on two classes), so the corrected one's standard deviation is the measured one's
    over that informedness: the returned ``inflation`` (1 where nothing was corrected).
    """
    n_workers, k = counts.shape[0], counts.shape[-1]
    inflation = np.ones(n_workers)
    if n_workers == 0 or k < 2:
        return counts, inflation
    informedness = (np.einsum("wcc->w", reference) - 1.0) / (k - 1)
    usable = informedness >= MIN_REFERENCE_INFORMEDNESS
    usable[usable] = np.linalg.cond(reference[usable]) < MAX_REFERENCE_CONDITION
    corrected = counts.copy()
    if usable.any():
        transposed = np.transpose(reference[usable], (0, 2, 1))
        solved = np.maximum(np.linalg.solve(transposed, counts[usable]), 0.0)
        kept = counts[usable].sum(axis=(1, 2))
        found = solved.sum(axis=(1, 2))
        scale = np.divide(kept, found, out=np.ones_like(kept), where=found > 0)
        corrected[usable] = solved * scale[:, None, None]
        # the reference read backwards: P(z | c) ∝ M[z, c] · (items of class z)
        joint = reference[usable] * corrected[usable].sum(axis=2)[:, :, None]
        columns = joint.sum(axis=1, keepdims=True)
        backward = np.divide(joint, columns, out=np.zeros_like(joint), where=columns > 0)
        marked = (np.einsum("wcc->w", backward) - 1.0) / (k - 1)
        inflation[usable] = 1.0 / np.maximum(marked, MIN_REFERENCE_INFORMEDNESS)
    return corrected, np.maximum(inflation, 1.0)


def corrected_spam_scores(
    counts: NDArray[np.float64], reference: NDArray[np.float64] | None
) -> NDArray[np.float64]:
    """:func:`spam_scores` of ``counts`` corrected for their ``reference`` (:func:`deattenuate`;
    ``None``: as measured)."""
    if reference is None:
        return spam_scores(counts)
    return spam_scores(*deattenuate(counts, reference))


def build_skills(
    workers: NDArray[Any],
    counts: NDArray[np.float64],
    n_answers: NDArray[np.intp],
    confusion: NDArray[np.float64] | None = None,
    reference: NDArray[np.float64] | None = None,
) -> tuple[list[WorkerSkill], NDArray[np.float64]]:
    """Skills and spam scores from soft confusion counts ``counts[w, c, k]``.

    ``confusion`` is the model's own estimate when it has one; otherwise the counts are
    smoothed with one pseudo-answer per row spread evenly. ``reference`` (the reference the
    counts were scored against, from :func:`counts_and_reference`), when given, corrects the
    counts the spam score reads (:func:`deattenuate`).
    """
    n_classes = counts.shape[-1]
    correct = np.einsum("wcc->w", counts) if n_classes else np.zeros(counts.shape[0])
    total = counts.sum(axis=(1, 2))
    mean, low, high = beta_summary(correct, total)
    if confusion is None:
        smoothed = counts + 1.0 / max(n_classes, 1)
        confusion = smoothed / smoothed.sum(axis=2, keepdims=True)
    scores = corrected_spam_scores(counts, reference)
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
    scores = np.asarray(betainc(a, b, chance_floor(chance)), dtype=np.float64)
    if confusion is None:
        row = np.stack([1.0 - mean, mean], axis=1)
        confusion = np.repeat(row[:, None, :], 2, axis=1)
    return _skill_list(workers, mean, low, high, confusion, n_answers, scores), scores
