"""Choosing the worker model and the posterior temperature from the answers alone.

**Criterion.** Each candidate of :mod:`datafair.quality.candidates` is fitted by EM; it is then
scored by how well it predicts every answer from the *other* answers: for answer ``a`` (worker
``w``, label ``k``, item ``i``),

    P(a | rest) = Σ_c T_{−a}(i, c) · π^{−a}_w[c, k]

where ``T_{−a}(i, ·)`` is the item's posterior with ``a``'s own likelihood factor divided out and
``π^{−a}_w`` is the worker's conjugate posterior mean with ``a``'s soft count removed. The mean
of ``log P(a | rest)`` over answers is the leave-one-answer-out predictive log-likelihood, the
cross-validation estimate of how well the model predicts a new answer (Stone, JRSS B 1974;
Vehtari, Gelman & Gabry, "Practical Bayesian model evaluation using leave-one-out
cross-validation", Statistics and Computing 2017; here in closed form without refitting, the
other items' posteriors held fixed). A model with more parameters than the data support
predicts held-out answers worse — a worker with one answer gets no credit for "agreeing with
themselves" — so the full Dawid-Skene model wins only when workers really are biased per class.

**Gold.** When some items have a gold label, each gold item also contributes the log-probability
of its gold class under its posterior computed from its answers with every worker's counts
leave-that-item-out: a held-out prediction of the gold label. The criterion is the sum of both
held-out log-likelihoods, answers and gold labels alike.

**Temperature.** Answers on one item are not independent given its class (hard items fool
several workers at once), so the product of answer likelihoods is over-confident. The reported
posteriors are ``T ∝ ρ · exp(τ · Σ log π)``; ``τ ∈ (0, 1]`` is chosen by the same criterion
(posterior tempering, cf. "power posteriors"/safe Bayes, Grünwald 2012, and temperature scaling,
Guo et al., ICML 2017, whose fit on held-out labels is what the gold term adds). ``τ = 1`` is the
plain model.

Everything is deterministic: fixed candidates, fixed iteration counts, fixed grids, no sampling
except a fixed-seed subsample of the answers (:data:`CRITERION_SAMPLE`) when there are millions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from datafair.quality._em import (
    AnswerMatrix,
    FloatArray,
    item_log_likelihood,
    normalise_log,
    own_totals,
    run_em,
)
from datafair.quality._encode import EncodedAnswers
from datafair.quality.candidates import Candidate

CRITERION_SAMPLE = 100_000
"""At most this many answers (a fixed-seed sample) enter the held-out criterion."""

SELECTION_ANSWERS = 150_000
"""Above this many answers, candidates are compared on a fixed-seed sample of whole items
holding about this many answers, and only the winner is fitted on every answer."""

TEMPERATURE_RANGE = (0.1, 1.0)
"""Posterior temperatures ``τ`` searched (golden-section search, :data:`SEARCH_STEPS` steps)."""

SEARCH_STEPS = 10

_SEED = 0


@dataclass(frozen=True, eq=False)
class CandidateFit:
    """One fitted candidate: EM outcome, untempered log-likelihoods and its score."""

    model: Candidate
    posteriors: FloatArray
    """EM's final item posteriors (τ = 1, gold clamped): each answer's share of the counts."""
    counts: FloatArray
    log_confusion: FloatArray
    log_prior: FloatArray
    log_likelihood: FloatArray
    history: tuple[float, ...]
    converged: bool


@dataclass(frozen=True)
class Score:
    """Held-out log-likelihood of one candidate at its best temperature."""

    name: str
    temperature: float
    answers: float
    """Mean held-out log-likelihood per answer."""
    gold: float
    """Total held-out log-likelihood of the gold labels (0 without gold)."""
    total: float
    """Sum over answers and gold labels: what is maximised."""


def fit_candidate(
    data: EncodedAnswers,
    matrix: AnswerMatrix,
    initial: FloatArray,
    model: Candidate,
    *,
    max_iter: int,
    tol: float,
) -> CandidateFit:
    """EM for ``model`` from ``initial`` posteriors (gold clamped), kept untempered."""
    result = run_em(data, matrix, initial, model, max_iter=max_iter, tol=tol)
    counts = result.counts
    log_confusion, log_prior = model(counts, result.posteriors.sum(axis=0))
    log_confusion = np.ascontiguousarray(np.broadcast_to(log_confusion, counts.shape))
    return CandidateFit(
        model=model,
        posteriors=result.posteriors,
        counts=counts,
        log_confusion=log_confusion,
        log_prior=log_prior,
        log_likelihood=item_log_likelihood(matrix, log_confusion),
        history=tuple(result.history),
        converged=result.converged,
    )


def selection_sample(data: EncodedAnswers) -> EncodedAnswers:
    """``data`` itself, or whole items drawn with a fixed seed until they hold
    :data:`SELECTION_ANSWERS` answers (every answer of a drawn item is kept)."""
    if data.n_answers <= SELECTION_ANSWERS:
        return data
    rng = np.random.default_rng(_SEED)
    per_item = np.bincount(data.item_idx, minlength=data.n_items)
    order = rng.permutation(data.n_items)
    taken = order[: int(np.searchsorted(np.cumsum(per_item[order]), SELECTION_ANSWERS)) + 1]
    keep_item = np.zeros(data.n_items, dtype=bool)
    keep_item[taken] = True
    new_index = np.cumsum(keep_item) - 1
    rows = keep_item[data.item_idx]
    return EncodedAnswers(
        items=data.items[keep_item],
        workers=data.workers,
        classes=data.classes,
        item_idx=new_index[data.item_idx[rows]].astype(np.intp),
        worker_idx=data.worker_idx[rows],
        label_idx=data.label_idx[rows],
        gold=data.gold[keep_item],
        weight=None if data.weight is None else data.weight[rows],
    )


def log_evidence(fit: CandidateFit) -> float:
    """Variational lower bound on the log marginal likelihood of the answers under ``fit``'s
    model: ``E_q[log p(answers | truth)] + E_q[log p(truth)] + H(q)`` with ``q`` the item
    posteriors, worker parameters integrated out (Dirichlet/Beta-multinomial evidence at the
    expected counts) and class shares under a flat Dirichlet (fixed uniform for majority)."""
    from scipy.special import gammaln

    posteriors = fit.posteriors
    k = posteriors.shape[1]
    shares = posteriors.sum(axis=0)
    if fit.model.uniform_classes:
        classes = -float(shares.sum()) * np.log(k)
    else:
        classes = float(gammaln(k) - gammaln(k + shares.sum()) + (gammaln(1.0 + shares)).sum())
    entropy = -float(np.sum(posteriors * np.log(np.maximum(posteriors, 1e-300))))
    return float(fit.model.log_evidence(fit.counts) + classes + entropy)


def selection_score(fit: CandidateFit, n_answers: int) -> float:
    """:func:`log_evidence` minus ``½ log n`` per fitted hyperparameter (Schwarz, Annals of
    Statistics 1978), per answer: what ``auto`` maximises."""
    k = fit.posteriors.shape[1]
    penalty = 0.5 * fit.model.hyperparameters(k) * np.log(max(n_answers, 2))
    return float((log_evidence(fit) - penalty) / max(n_answers, 1))


def tempered_posteriors(fit: CandidateFit, temperature: float) -> FloatArray:
    """``T ∝ ρ · exp(τ · Σ log π)`` per item (gold not clamped)."""
    posteriors, _ = normalise_log(fit.log_prior + temperature * fit.log_likelihood)
    return posteriors


def criterion_rows(data: EncodedAnswers) -> np.ndarray:
    """Rows entering the criterion: all, or a fixed-seed sample of :data:`CRITERION_SAMPLE`."""
    if data.n_answers <= CRITERION_SAMPLE:
        return np.arange(data.n_answers)
    rng = np.random.default_rng(_SEED)
    return np.sort(rng.choice(data.n_answers, CRITERION_SAMPLE, replace=False))


def score_candidate(data: EncodedAnswers, fit: CandidateFit) -> Score:
    """The held-out criterion of ``fit`` at its best temperature.

    The temperature is found by golden-section search on :data:`TEMPERATURE_RANGE`
    (:data:`SEARCH_STEPS` evaluations, then ``τ = 1`` is also tried); the best is returned.
    """
    rows = criterion_rows(data)
    local, item = np.unique(data.item_idx[rows], return_inverse=True)
    worker = data.worker_idx[rows]
    label = data.label_idx[rows]
    own_log = fit.log_confusion[worker, :, label]  # (n, c): the answer's own factor
    share = fit.posteriors[local][item]
    if data.weight is not None:  # a dependent group's vote is left out as a whole
        weight = data.weight[:, None]
        own_log = own_totals(data, fit.log_confusion[data.worker_idx, :, data.label_idx] * weight)
        own_log = own_log[rows]
        share = share * weight[rows]
    held = fit.model.held_out(fit.counts, worker, label, share)
    gold = data.gold[local]
    known = gold[item] >= 0
    log_like = fit.log_likelihood[local]
    gold_rows = _gold_answer_rows(data)
    seen: dict[float, Score] = {}

    def evaluate(tau: float) -> float:
        if tau not in seen:
            posteriors = _clamped(normalise_log(fit.log_prior + tau * log_like)[0], gold)
            log_post = np.log(np.maximum(posteriors[item], 1e-300))
            loo_truth, _ = normalise_log(log_post - tau * own_log)
            loo_truth[known] = posteriors[item[known]]
            p_answer = np.einsum("nc,nc->n", loo_truth, held)
            answers = float(np.mean(np.log(np.maximum(p_answer, 1e-300))))
            gold_score = _gold_term(data, fit, tau, gold_rows)
            total = answers * data.n_answers + gold_score
            seen[tau] = Score(fit.model.name, tau, answers, gold_score, total)
        return seen[tau].total

    low, high = TEMPERATURE_RANGE
    ratio = (np.sqrt(5.0) - 1.0) / 2.0
    left, right = high - ratio * (high - low), low + ratio * (high - low)
    f_left, f_right = evaluate(left), evaluate(right)
    for _ in range(SEARCH_STEPS):
        if f_left >= f_right:
            high, right, f_right = right, left, f_left
            left = high - ratio * (high - low)
            f_left = evaluate(left)
        else:
            low, left, f_left = left, right, f_right
            right = low + ratio * (high - low)
            f_right = evaluate(right)
    evaluate(1.0)
    return max(seen.values(), key=lambda s: (round(s.total, 6), s.temperature))


def _clamped(posteriors: FloatArray, gold: np.ndarray) -> FloatArray:
    known = gold >= 0
    if known.any():
        posteriors = posteriors.copy()
        posteriors[known] = 0.0
        posteriors[known, gold[known]] = 1.0
    return posteriors


def _gold_answer_rows(data: EncodedAnswers) -> np.ndarray:
    return np.flatnonzero(data.gold[data.item_idx] >= 0)


def _gold_term(data: EncodedAnswers, fit: CandidateFit, tau: float, rows: np.ndarray) -> float:
    """Σ over gold items of ``log T_{−item}(gold)``: workers' counts without that item."""
    if rows.shape[0] == 0:
        return 0.0
    k = data.n_classes
    item = data.item_idx[rows]
    gold = data.gold[item]
    share = np.zeros((rows.shape[0], k))
    share[np.arange(rows.shape[0]), gold] = 1.0
    held = fit.model.held_out(fit.counts, data.worker_idx[rows], data.label_idx[rows], share)
    local, inverse = np.unique(item, return_inverse=True)
    log_like = np.zeros((local.shape[0], k))
    np.add.at(log_like, inverse, np.log(np.maximum(held, 1e-300)))
    posteriors, _ = normalise_log(fit.log_prior + tau * log_like)
    picked = posteriors[np.arange(local.shape[0]), data.gold[local]]
    return float(np.log(np.maximum(picked, 1e-300)).sum())
