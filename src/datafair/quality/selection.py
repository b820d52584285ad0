"""Choosing the worker model, the posterior temperature and, with gold, the contamination.

**Criterion: cross-validation over answers.** The answers are dealt into :data:`FOLDS` folds
(by (item, worker) pair, fixed seed); each candidate of :mod:`datafair.quality.candidates` is
refitted by EM without each fold and predicts every held-out answer ``a`` (worker ``w``, label
``k``, item ``i``) from the answers it was fitted on:

    P(a | rest) = Σ_c T(i, c) · π_w[c, k]

with ``T`` the item's posterior over its training answers and ``π_w`` the worker's fitted
confusion. The sum of ``log P(a | rest)`` is the held-out predictive log-likelihood of the
answers, the cross-validation estimate of how well the model predicts a new answer (Stone, JRSS B
1974; Vehtari, Gelman & Gabry, "Practical Bayesian model evaluation using leave-one-out
cross-validation", Statistics and Computing 2017). A model with more parameters than the data
support predicts held-out answers worse, so on crowds drawn from each candidate the candidate
itself scores best. Refitting matters: a closed-form leave-one-answer-out score that keeps the
other workers' parameters favours the full confusion models even on one-coin crowds (each
answer has shaped the parameters of the workers it is compared with).

**One-standard-error rule.** The answers of one item are scored together (they share its
truth), so the uncertainty of a difference between two candidates is the standard error of the
per-item differences, ``√n · sd``. ``auto`` takes the *simplest* candidate whose held-out score
is within one standard error of the best (Breiman, Friedman, Olshen & Stone, "Classification and
Regression Trees", 1984, §3.4.3; Hastie, Tibshirani & Friedman, "The Elements of Statistical
Learning", 2009, §7.10): when the answers cannot tell two models apart, the one with fewer
parameters wins, down to majority vote.

**Gold.** When some items have a gold label, each gold item is also predicted held out: its
posterior from its answers with every worker's counts leave-that-item-out gives the
log-probability of its gold class (closed form: the model fitted on every answer, that item's
soft counts removed). A candidate that predicts the gold labels better than the answer-chosen
one by more than :data:`GOLD_Z` standard errors of the per-item differences (and
:data:`GOLD_MIN_NATS`) replaces it: the gold labels measure what the answers cannot, how far
the truth is from what the crowd says.

**Reproducibility across disjoint workers.** The answer score rewards a model whose latent class
explains the answers best, which need not be the truth: where some workers share a bias a full
confusion model can make its latent class follow them. The truth is a property of the items, so
labels that are right should be reproduced by an *independent* crowd on the same items
(split-half reliability, Spearman 1910 and Brown 1910; stability-based model selection, Ben-Hur,
Elisseeff & Guyon 2002, Lange, Roth, Braun & Buhmann 2004). The workers are dealt into two
halves of about equal answer volume (:func:`worker_halves`, fixed seeds, :data:`SPLITS` times);
every candidate is fitted from scratch on each half, and on each item with at least
:data:`HALF_ANSWERS` answers in both (gold items excepted) its two labels agree or not,
corrected for the agreement their label shares give by chance (Cohen's kappa). When the
candidate with the highest agreement is *simpler* than the answers' choice and ahead of it by
more than :data:`REPRODUCIBILITY_Z` standard errors of the per-item differences, it replaces the
choice (:func:`choose`). A simpler choice is never replaced by a richer model this way, so the
guard only leans toward the models the one-standard-error rule prefers anyway; and a candidate
that is not the most reproducible of all cannot replace it (a fit on half of a sparse crowd can
collapse onto one class, which says nothing about the simpler models). Reproducible is not the
same as right: errors the crowd shares (workers who all give one wrong class) are reproduced as
faithfully as the truth, and a model that weighs every worker alike reproduces them best. So
only candidates with parameters per worker take part (``auto`` leaves ``majority`` out,
:attr:`~datafair.quality.candidates.Candidate.per_worker`): with majority among them, 5 of 144
simulated crowds (all with 15-20 % workers who always give one class) would have switched to it,
3 of them losing 4-8 points.

**Temperature.** Answers on one item are not independent given its class (hard items fool
several workers at once), so the product of answer likelihoods is over-confident. The reported
posteriors are ``T ∝ ρ · exp(τ · Σ log π)``, ``τ`` one of :data:`TEMPERATURES` (0.1 to 1;
posterior tempering, cf. "power posteriors"/safe Bayes, Grünwald 2012, and temperature scaling,
Guo et al., ICML 2017; ``τ = 1`` is the plain model). It is fitted on the chosen model's fit to
every answer (:func:`temper`), by the leave-one-answer-out log-likelihood of the answers in
closed form (each answer's own factor divided out of its item's posterior and its soft count out
of its worker's counts) plus, with gold, that of the gold labels: the fold refits have fewer
answers per item than the reported posteriors, so their best ``τ`` is too high for them.

**Contamination (gold only).** ``(1 − ε) · T + ε · ρ``: with probability ``ε`` an item's truth is
not what its answers say, whatever their number (an ambiguous item, a noisy key). Answers alone
cannot measure ``ε`` (without gold it is 0); with gold it is chosen from
:data:`CONTAMINATION_GRID` (Huber's ε-contamination, Annals of Mathematical Statistics 1964;
fitted on held-out labels like Platt scaling, 1999).

Everything is deterministic: fixed candidates, fixed iteration counts, fixed grids and fixed
seeds (the folds; a sample of whole items, :data:`SELECTION_ANSWERS`, when there are more
answers than that).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from datafair.quality._em import (
    AnswerMatrix,
    FloatArray,
    answer_factors,
    answer_weights,
    item_log_likelihood,
    normalise_log,
    own_totals,
    run_em,
)
from datafair.quality._encode import EncodedAnswers
from datafair.quality.candidates import Candidate

SELECTION_ANSWERS = 150_000
"""Above this many answers, candidates are compared on a fixed-seed sample of whole items
holding about this many answers, and only the winner is fitted on every answer."""

FOLDS = 5
"""Folds of the cross-validation over answers."""

CRITERION_SAMPLE = 100_000
"""At most this many answers (a fixed-seed sample) enter :func:`temper`."""

TEMPERATURES = tuple(round(0.1 * 10.0 ** (step / 12), 4) for step in range(13))
"""Posterior temperatures ``τ`` tried: 13 points evenly spaced in ``log τ`` from 0.1 to 1
(0.1, 0.1212, 0.1468, …, 0.8254, 1), finer where the posteriors move fastest."""

CONTAMINATION_GRID = (0.0, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3)
"""Contamination shares ``ε`` tried when there is gold (0 without gold)."""

SE_RULE = 1.0
"""A simpler candidate wins when it is within this many standard errors of the best."""

GOLD_Z = 2.0
"""Gold overrides the answers' choice when ahead by more than this many standard errors ..."""

SPLITS = 2
"""Random splits of the workers into halves for :func:`split_half_agreement` (seeds 0 and 1):
one split's agreement depends on which workers fell together, so the per-item agreement is
averaged over two. With one split, a simulated crowd with 30 % spammers and 15 % adversaries
switched from community-2 (0.78) to class-one-coin (0.70); with two or three it does not. Each
split costs two fits of every candidate, so two, not more."""

HALF_ANSWERS = 3
"""Only items with at least this many answers in each worker half enter the split-half
agreement: with fewer, a half's label on the item is one or two workers' answers, which no
model can outvote, so its agreement measures those workers rather than the model (three is
the fewest answers among which a majority can overrule one)."""

REPRODUCIBILITY_Z = 2.0
"""A simpler candidate replaces the answers' choice when its chance-corrected agreement across
the two worker halves exceeds the choice's by more than this many standard errors of the
per-item differences (the same bar as :data:`GOLD_Z`)."""

GOLD_MIN_NATS = 1.0
"""... and by more than this many nats (a likelihood ratio of e: "positive" evidence, Kass &
Raftery, "Bayes Factors", JASA 1995), so that gold predicted near-perfectly by both cannot
decide on rounding."""

_SEED = 0


@dataclass(frozen=True)
class Score:
    """Held-out log-likelihood of one candidate at its best temperature (and contamination)."""

    name: str
    temperature: float
    answers: float
    """Mean held-out log-likelihood per answer."""
    gold: float
    """Total held-out log-likelihood of the gold labels (0 without gold)."""
    total: float
    """Sum over answers and gold labels: what the temperature maximises."""
    contamination: float = 0.0
    """``ε``: the share of the class prior mixed into the posteriors (0 without gold)."""


@dataclass(frozen=True, eq=False)
class HeldOut:
    """A candidate's best :class:`Score` and, at it, its per-item held-out terms: the summed
    log-likelihood of each criterion item's answers, and of each gold label (for the standard
    errors of :func:`choose`)."""

    score: Score
    item_terms: FloatArray
    gold_terms: FloatArray


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


def tempered_posteriors(
    fit: CandidateFit, temperature: float, contamination: float = 0.0
) -> FloatArray:
    """``(1 − ε) · T + ε · ρ`` with ``T ∝ ρ · exp(τ · Σ log π)`` per item (gold not clamped)."""
    posteriors, _ = normalise_log(fit.log_prior + temperature * fit.log_likelihood)
    if contamination:
        posteriors *= 1.0 - contamination
        posteriors += contamination * np.exp(fit.log_prior)
    return posteriors


def answer_folds(data: EncodedAnswers) -> NDArray[np.intp]:
    """Fold of every answer row: the (item, worker) pairs dealt into :data:`FOLDS` folds by a
    fixed-seed permutation (a dependent group's rows on one item stay together)."""
    key = data.item_idx.astype(np.int64) * max(data.n_workers, 1) + data.worker_idx
    pairs, pair = np.unique(key, return_inverse=True)
    deal = np.random.default_rng(_SEED).permutation(pairs.shape[0]) % FOLDS
    folds: NDArray[np.intp] = deal[pair.reshape(-1)].astype(np.intp)
    return folds


def answer_subset(data: EncodedAnswers, rows: NDArray[np.bool_]) -> EncodedAnswers:
    """The answers in ``rows``, on the same items, workers, classes and gold."""
    return EncodedAnswers(
        items=data.items,
        workers=data.workers,
        classes=data.classes,
        item_idx=data.item_idx[rows],
        worker_idx=data.worker_idx[rows],
        label_idx=data.label_idx[rows],
        gold=data.gold,
        weight=None if data.weight is None else data.weight[rows],
    )


PARALLEL_FROM = 1 << 16
"""Answers (over all the refits) from which :func:`fit_each` runs the refits on two threads."""


def fit_each(
    fit_all: Callable[[EncodedAnswers], dict[str, CandidateFit]], subsets: list[EncodedAnswers]
) -> list[dict[str, CandidateFit]]:
    """``fit_all`` of every subset, in order. The refits are independent, and numpy and
    scipy's sparse products release the interpreter lock in most of their work, so from
    :data:`PARALLEL_FROM` answers on two run at a time; each fit is a pure function of its
    subset, so the results are the same bits either way."""
    if len(subsets) < 2 or sum(subset.n_answers for subset in subsets) < PARALLEL_FROM:
        return [fit_all(subset) for subset in subsets]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(fit_all, subsets))


def cross_validate(
    data: EncodedAnswers, fit_all: Callable[[EncodedAnswers], dict[str, CandidateFit]]
) -> dict[str, FloatArray]:
    """K-fold cross-validation over answers (:data:`FOLDS`, :func:`answer_folds`).

    Every candidate is refitted (``fit_all``) without each fold, and each held-out answer ``a``
    (item ``i``, worker ``w``, label ``k``) is predicted from the other answers,
    ``P(a) = Σ_c T_τ(i, c) · π_w[c, k]``, with ``T_τ ∝ ρ · exp(τ · Σ log π)`` over the item's
    training answers (its gold class, if it has one). Returns, per candidate, the summed
    held-out log-likelihood of each item's answers for every ``τ`` of :data:`TEMPERATURES`
    (shape ``(len(TEMPERATURES), n_items)``).
    """
    folds = answer_folds(data)
    weight = answer_weights(data)
    terms: dict[str, FloatArray] = {}
    held = [folds == fold for fold in range(FOLDS)]
    held = [test for test in held if test.any()]
    every_fit = fit_each(fit_all, [answer_subset(data, ~test) for test in held])
    for test, fits in zip(held, every_fit, strict=True):
        item, worker, label = data.item_idx[test], data.worker_idx[test], data.label_idx[test]
        # the fold's items, each once: posteriors are computed per item, not per answer
        local, row = np.unique(item, return_inverse=True)
        row = row.reshape(-1)
        gold = data.gold[local]
        known = np.flatnonzero(gold >= 0)
        taus = np.asarray(TEMPERATURES)[None, :, None]
        # every held-out answer's term at every τ lands in cell (τ, item) of the table
        cell = (np.arange(len(TEMPERATURES))[:, None] * data.n_items + item[None, :]).ravel()
        for name, fit in fits.items():
            table = terms.setdefault(name, np.zeros((len(TEMPERATURES), data.n_items)))
            like = np.exp(answer_factors(fit.log_confusion, worker, label))  # (n, c)
            # class-major (c, τ, item): the softmax over classes is elementwise across slabs
            log_like = np.ascontiguousarray(fit.log_likelihood[local].T)[:, None, :]
            truth = _normalise_first(fit.log_prior[:, None, None] + taus * log_like)
            truth[:, :, known] = 0.0
            truth[gold[known], :, known] = 1.0
            p_answer = truth[0][:, row] * like[:, 0]
            for c in range(1, data.n_classes):
                p_answer += truth[c][:, row] * like[:, c]
            logged = np.log(np.maximum(p_answer, 1e-300)) * weight[test][None, :]
            table += np.bincount(cell, weights=logged.ravel(), minlength=table.size).reshape(
                table.shape
            )
    return terms


def worker_halves(data: EncodedAnswers, split: int = 0) -> NDArray[np.bool_]:
    """Per worker, True for the first of two halves of about equal answer volume: the workers
    (sorted keys) in a random order drawn with the fixed seed ``split``, cut where half of the
    answers are reached. A dependent group fitted as one worker stays in one half."""
    volume = np.bincount(data.worker_idx, minlength=data.n_workers)
    order = np.random.default_rng(_SEED + split).permutation(data.n_workers)
    first = np.zeros(data.n_workers, dtype=bool)
    first[order[np.cumsum(volume[order]) <= volume.sum() / 2]] = True
    return first


def split_half_agreement(
    data: EncodedAnswers, fit_all: Callable[[EncodedAnswers], dict[str, CandidateFit]]
) -> dict[str, FloatArray]:
    """Per candidate, for every item with at least :data:`HALF_ANSWERS` answers in each half of
    one of the :data:`SPLITS` splits (:func:`worker_halves`; gold items excepted), whether the
    candidate's labels fitted on either half alone agree, corrected for chance: ``(1[agree] −
    p_e) / (1 − p_e)``, with ``p_e = Σ_c q_c q'_c`` from the two halves' label shares, so the
    mean over a split's items is Cohen's kappa (Cohen, "A coefficient of agreement for nominal
    scales", 1960); each item's value is its mean over the splits that compared it. A model
    that falls back on one class wherever it is unsure agrees with itself for free; the
    correction takes that away (module doc)."""
    total: dict[str, FloatArray] = {}
    compared = np.zeros(data.n_items)
    k = data.n_classes
    splits = []
    for split in range(SPLITS):
        first = worker_halves(data, split)[data.worker_idx]
        halves = [answer_subset(data, first), answer_subset(data, ~first)]
        answered = [np.bincount(h.item_idx, minlength=data.n_items) >= HALF_ANSWERS for h in halves]
        both = np.flatnonzero(answered[0] & answered[1] & (data.gold < 0))
        if both.shape[0]:
            splits.append((both, halves))
    every_fit = fit_each(fit_all, [half for _, halves in splits for half in halves])
    for index, (both, _) in enumerate(splits):
        compared[both] += 1.0
        left, right = every_fit[2 * index], every_fit[2 * index + 1]
        for name, fit in left.items():
            one = fit.posteriors[both].argmax(axis=1)
            other = right[name].posteriors[both].argmax(axis=1)
            chance = float(
                np.bincount(one, minlength=k) @ np.bincount(other, minlength=k) / both.size**2
            )
            same = (one == other).astype(np.float64)
            total.setdefault(name, np.zeros(data.n_items))[both] += (same - chance) / max(
                1.0 - chance, 1e-12
            )
    rows = compared > 0
    return {name: values[rows] / compared[rows] for name, values in total.items()}


def _normalise_first(log_joint: FloatArray) -> FloatArray:
    """Softmax over the first axis (the classes), in place."""
    peak = np.maximum.reduce(log_joint, axis=0)
    log_joint -= peak
    np.exp(log_joint, out=log_joint)
    log_joint /= np.add.reduce(log_joint, axis=0)
    return log_joint


def score_candidate(data: EncodedAnswers, fit: CandidateFit, item_terms: FloatArray) -> HeldOut:
    """``fit``'s cross-validated score, for choosing among the candidates.

    ``item_terms`` is the candidate's :func:`cross_validate` table; the candidate is scored at
    the temperature that maximises its held-out answers plus, with gold, its held-out gold
    labels (ties to the higher ``τ``).
    """
    gold_like = _gold_log_likelihood(data, fit)
    totals = [
        float(item_terms[step].sum()) + float(_gold_terms(fit, tau, 0.0, gold_like).sum())
        for step, tau in enumerate(TEMPERATURES)
    ]
    step = max(range(len(TEMPERATURES)), key=lambda s: (round(totals[s], 6), s))
    tau = TEMPERATURES[step]
    gold_terms = _gold_terms(fit, tau, 0.0, gold_like)
    answers = float(item_terms[step].sum()) / max(data.n_answers, 1)
    score = Score(fit.model.name, tau, answers, float(gold_terms.sum()), totals[step])
    return HeldOut(score, item_terms[step], gold_terms)


def criterion_rows(data: EncodedAnswers) -> NDArray[np.intp]:
    """Rows entering :func:`temper`: all, or a fixed-seed sample of :data:`CRITERION_SAMPLE`."""
    if data.n_answers <= CRITERION_SAMPLE:
        return np.arange(data.n_answers)
    rng = np.random.default_rng(_SEED)
    return np.sort(rng.choice(data.n_answers, CRITERION_SAMPLE, replace=False))


def temper(data: EncodedAnswers, fit: CandidateFit) -> Score:
    """The temperature (and, with gold, contamination) of the chosen model, fitted on every
    answer.

    Each answer is predicted from the *other* answers of the same fit, in closed form: its own
    likelihood factor divided out of its item's posterior, its soft count removed from its
    worker's counts (:meth:`~datafair.quality.candidates.Candidate.held_out`); the item
    posteriors keep all their other answers, so ``τ`` fits posteriors as confident as the
    reported ones (a fold refit has fewer answers per item and would choose ``τ`` too high).
    ``τ`` maximises this leave-one-answer-out log-likelihood plus, with gold, the gold labels'
    (ties to the higher ``τ``); ``ε`` then maximises the gold term alone (ties to the smaller).
    """
    rows = criterion_rows(data)
    local, item = np.unique(data.item_idx[rows], return_inverse=True)
    worker = data.worker_idx[rows]
    label = data.label_idx[rows]
    own_log = answer_factors(fit.log_confusion, worker, label)  # (n, c): its own factor
    share = fit.posteriors[local][item]
    if data.weight is not None:  # a dependent group's vote is left out as a whole
        weight = data.weight[:, None]
        factors = answer_factors(fit.log_confusion, data.worker_idx, data.label_idx)
        own_log = own_totals(data, factors * weight)
        own_log = own_log[rows]
        share = share * weight[rows]
    held = fit.model.held_out(fit.counts, worker, label, share)
    gold = data.gold[local]
    known = np.flatnonzero(gold[item] >= 0)
    known_items = np.flatnonzero(gold >= 0)
    # class-major (c, ·) copies: every softmax over classes is elementwise across slabs
    log_like = np.ascontiguousarray(fit.log_likelihood[local].T)
    own_log = np.ascontiguousarray(own_log.T)
    held = np.ascontiguousarray(held.T)
    gold_like = _gold_log_likelihood(data, fit)
    scores: list[Score] = []
    for tau in TEMPERATURES:
        posteriors = _normalise_first(fit.log_prior[:, None] + tau * log_like)
        posteriors[:, known_items] = 0.0
        posteriors[gold[known_items], known_items] = 1.0
        answered = posteriors[:, item]
        loo_truth = np.log(np.maximum(answered, 1e-300))
        loo_truth -= tau * own_log
        loo_truth = _normalise_first(loo_truth)
        loo_truth[:, known] = answered[:, known]
        p_answer = np.add.reduce(loo_truth * held, axis=0)
        answers = float(np.mean(np.log(np.maximum(p_answer, 1e-300))))
        gold_total = float(_gold_terms(fit, tau, 0.0, gold_like).sum())
        total = answers * data.n_answers + gold_total
        scores.append(Score(fit.model.name, tau, answers, gold_total, total))
    best = max(scores, key=lambda s: (round(s.total, 6), s.temperature))
    if gold_like is None:
        return best
    on_gold = {
        e: float(_gold_terms(fit, best.temperature, e, gold_like).sum()) for e in CONTAMINATION_GRID
    }
    eps = max(CONTAMINATION_GRID, key=lambda e: (round(on_gold[e], 9), -e))
    return Score(best.name, best.temperature, best.answers, on_gold[eps], best.total, eps)


def choose(
    held: dict[str, HeldOut],
    order: tuple[str, ...],
    agreement: dict[str, FloatArray] | None = None,
) -> tuple[str, str]:
    """The winning candidate and why, from every candidate's :class:`HeldOut` (module doc).

    ``order`` lists the candidates simplest first. Answers: the simplest candidate within
    :data:`SE_RULE` standard errors of the best held-out answer score. Reproducibility (with
    ``agreement``, :func:`split_half_agreement`): the candidate whose labels the worker halves
    reproduce best, if simpler, replaces it when ahead by more than :data:`REPRODUCIBILITY_Z`
    standard errors. Gold: the candidate that predicts the gold labels
    best replaces either when ahead by more than :data:`GOLD_Z` standard errors and
    :data:`GOLD_MIN_NATS`.
    """
    names = [n for n in order if n in held]
    best = max(names, key=lambda n: (round(held[n].score.answers, 9), -names.index(n)))
    winner, why = best, "best held-out answer score"
    for name in names:
        behind, error = _paired(held[best].item_terms, held[name].item_terms)
        if behind <= SE_RULE * error:
            if name != best:
                why = (
                    f"simplest within {SE_RULE:g} standard error of {best} "
                    f"({behind:.1f} nats behind, standard error {error:.1f})"
                )
            winner = name
            break
    rated = [n for n in names if agreement and n in agreement]
    if agreement and winner in rated and agreement[winner].shape[0] > 1:
        steady = max(rated, key=lambda n: (float(agreement[n].sum()), -names.index(n)))
        ahead, error = _paired(agreement[steady], agreement[winner])
        if names.index(steady) < names.index(winner) and ahead > REPRODUCIBILITY_Z * error:
            why = (
                f"labels reproduced by disjoint halves of the workers better than {winner}'s "
                f"(chance-corrected agreement {ahead / agreement[winner].shape[0]:+.3f}, "
                f"{ahead:.1f} items ahead, standard error {error:.1f})"
            )
            winner = steady
    if held[winner].gold_terms.shape[0]:
        on_gold = max(names, key=lambda n: (round(held[n].score.gold, 9), -names.index(n)))
        ahead, error = _paired(held[on_gold].gold_terms, held[winner].gold_terms)
        if on_gold != winner and ahead > max(GOLD_Z * error, GOLD_MIN_NATS):
            why = (
                f"predicts the gold labels better than {winner} "
                f"({ahead:.1f} nats ahead, standard error {error:.1f})"
            )
            winner = on_gold
    return winner, why


def _paired(better: FloatArray, other: FloatArray) -> tuple[float, float]:
    """Total of ``better − other`` and its standard error ``√n · sd`` over the paired units."""
    difference = better - other
    n = difference.shape[0]
    error = float(np.sqrt(n) * difference.std(ddof=1)) if n > 1 else 0.0
    return float(difference.sum()), error


GoldLikelihood = tuple[FloatArray, NDArray[np.intp]]
"""Per gold item: its held-out log-likelihood per class, and its gold class."""


def _gold_log_likelihood(data: EncodedAnswers, fit: CandidateFit) -> GoldLikelihood | None:
    """Per gold item with answers, ``Σ log π^{−item}_w[c, k]`` over its answers: every worker's
    counts with that item's (gold-clamped) share removed; ``None`` without gold."""
    rows = np.flatnonzero(data.gold[data.item_idx] >= 0)
    if rows.shape[0] == 0:
        return None
    k = data.n_classes
    item = data.item_idx[rows]
    share = np.zeros((rows.shape[0], k))
    share[np.arange(rows.shape[0]), data.gold[item]] = 1.0
    held = fit.model.held_out(fit.counts, data.worker_idx[rows], data.label_idx[rows], share)
    local, inverse = np.unique(item, return_inverse=True)
    log_like = np.zeros((local.shape[0], k))
    np.add.at(log_like, inverse, np.log(np.maximum(held, 1e-300)))
    return log_like, data.gold[local]


def _gold_terms(
    fit: CandidateFit, tau: float, eps: float, gold_like: GoldLikelihood | None
) -> FloatArray:
    """``log T_{−item}(gold)`` per gold item at temperature ``tau`` and contamination ``eps``."""
    if gold_like is None:
        return np.zeros(0)
    log_like, gold = gold_like
    posteriors, _ = normalise_log(fit.log_prior + tau * log_like)
    picked = posteriors[np.arange(gold.shape[0]), gold]
    if eps:
        picked = (1.0 - eps) * picked + eps * np.exp(fit.log_prior)[gold]
    logged: FloatArray = np.log(np.maximum(picked, 1e-300))
    return logged
