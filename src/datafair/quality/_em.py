"""Shared numerics for the EM-style categorical aggregators.

Answers are held as an item × (worker, answered class) indicator matrix ``A`` so that the
E-step is one product ``A @ log_pi`` and the M-step's soft confusion counts are ``A.T @ T``:
no per-answer Python loop, float64 throughout. Small inputs use numpy (one weighted
``bincount`` per class); from :data:`SPARSE_FROM` answers on, the products are scipy's CSR
sparse-dense products, ten times faster per product on a million answers than any numpy
formulation measured (docs/quality.md §6), and scipy's 0.2 s of import is paid only then.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from datafair.quality._encode import EncodedAnswers

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]
_EPS = 1e-12

SPARSE_FROM = 1 << 14
"""Answers from which :func:`answer_matrix` builds scipy CSR matrices (see the module doc):
where ``auto``'s fit with numpy products costs about what importing scipy.sparse saves
(measured: 20,000 answers, 0.49 s with numpy against 0.27 s with CSR products plus 0.2 s of
import; ``ds`` alone would break even only above 200,000)."""


@dataclass(frozen=True, eq=False)
class AnswerMatrix:
    """The answers' ``item`` and ``column = worker·K + label`` with their ``weight``; with
    :data:`SPARSE_FROM` answers or more, also ``forward`` (item × column, CSR) and ``backward``
    (its transpose, CSR)."""

    item: IntArray
    column: IntArray
    weight: FloatArray
    n_items: int
    n_workers: int
    n_classes: int
    forward: Any = None
    backward: Any = None


def answer_matrix(data: EncodedAnswers) -> AnswerMatrix:
    """The indicator matrix of the answers (and, for large inputs, its CSR forms)."""
    k = data.n_classes
    columns = data.worker_idx * k + data.label_idx
    ones = answer_weights(data)
    forward = backward = None
    if data.n_answers >= SPARSE_FROM:
        import scipy.sparse as sp  # 0.2 s of import: for large inputs only

        shape = (data.n_items, data.n_workers * k)
        forward = sp.csr_matrix((ones, (data.item_idx, columns)), shape=shape)
        backward = sp.csr_matrix((ones, (columns, data.item_idx)), shape=(shape[1], shape[0]))
    return AnswerMatrix(
        data.item_idx, columns, ones, data.n_items, data.n_workers, k, forward, backward
    )


def factor_rows(confusion: FloatArray) -> FloatArray:
    """``confusion[w, c, k]`` as a ``(w·k, c)`` table whose row ``w·K + k`` is
    ``confusion[w, :, k]``: one answer's factor over the true classes is then a contiguous row
    (:func:`answer_factors`)."""
    w, c, k = confusion.shape
    table: FloatArray = np.ascontiguousarray(confusion.transpose(0, 2, 1)).reshape(w * k, c)
    return table


def answer_factors(confusion: FloatArray, worker: IntArray, label: IntArray) -> FloatArray:
    """``confusion[worker, :, label]`` (one row of ``K`` per answer), gathered as rows of
    :func:`factor_rows`: several times faster than the mixed fancy index on millions of
    answers, and the same numbers."""
    rows: FloatArray = factor_rows(confusion)[worker * confusion.shape[2] + label]
    return rows


def answer_weights(data: EncodedAnswers) -> FloatArray:
    """Each answer's weight (ones unless a dependent group shares one vote)."""
    if data.weight is None:
        return np.ones(data.n_answers, dtype=np.float64)
    return data.weight


def own_totals(data: EncodedAnswers, values: FloatArray) -> FloatArray:
    """``values`` (one row per answer) summed over the rows of the same (item, worker): what
    a worker — or a dependent group fitted as one — contributed to its item."""
    if data.weight is None:
        return values
    key = data.item_idx.astype(np.int64) * max(data.n_workers, 1) + data.worker_idx
    _, inverse = np.unique(key, return_inverse=True)
    inverse = inverse.reshape(-1)
    totals = np.zeros((int(inverse.max()) + 1, *values.shape[1:]))
    np.add.at(totals, inverse, values)
    summed: FloatArray = totals[inverse]
    return summed


def soft_counts(matrix: AnswerMatrix, posteriors: FloatArray) -> FloatArray:
    """``counts[w, c, k]``: expected answers ``k`` by worker ``w`` on items of true class ``c``."""
    w, k = matrix.n_workers, matrix.n_classes
    if matrix.backward is not None:
        flat = np.asarray(matrix.backward @ posteriors)  # (w·k_answered, c_true)
    else:
        per_answer = posteriors[matrix.item] * matrix.weight[:, None]
        flat = _sum_rows_by(matrix.column, per_answer, w * k)
    return np.ascontiguousarray(flat.reshape(w, k, k).transpose(0, 2, 1))


def item_log_likelihood(matrix: AnswerMatrix, log_confusion: FloatArray) -> FloatArray:
    """``L[i, c] = Σ_answers on i log π_worker[c, answer]`` for ``log_confusion[w, c, k]``."""
    w, k = matrix.n_workers, matrix.n_classes
    table = np.ascontiguousarray(log_confusion.transpose(0, 2, 1)).reshape(w * k, k)
    if matrix.forward is not None:
        return np.asarray(matrix.forward @ table)
    per_answer = table[matrix.column] * matrix.weight[:, None]
    return _sum_rows_by(matrix.item, per_answer, matrix.n_items)


def sum_rows_by(index: IntArray, values: FloatArray, length: int) -> FloatArray:
    """``out[j] = Σ values[r]`` over the rows ``r`` with ``index[r] = j`` (``length`` rows),
    each sum taken in row order: from :data:`SPARSE_FROM` rows on as the product of the
    ``length × rows`` indicator matrix (scipy CSR, one pass over all columns), below by
    :func:`_sum_rows_by`. Both add the same numbers in the same order, so they agree bit for
    bit."""
    if values.shape[0] < SPARSE_FROM:
        return _sum_rows_by(index, values, length)
    import scipy.sparse as sp  # large inputs only (see SPARSE_FROM)

    rows = values.shape[0]
    indicator = sp.csr_matrix((np.ones(rows), (index, np.arange(rows))), shape=(length, rows))
    summed: FloatArray = np.asarray(indicator @ values)
    return summed


def _sum_rows_by(index: IntArray, values: FloatArray, length: int) -> FloatArray:
    """``out[j] = Σ values[r]`` over the rows ``r`` with ``index[r] = j`` (``length`` rows; one
    weighted ``bincount`` per column): the numpy form of the indicator matrix's products."""
    out = np.empty((length, values.shape[1]))
    for column in range(values.shape[1]):
        out[:, column] = np.bincount(index, weights=values[:, column], minlength=length)
    return out


def row_max(values: FloatArray) -> FloatArray:
    """Maximum of each row; column by column, which is far faster than ``max(axis=1)`` when
    rows are short (a handful of classes) and there are millions of them."""
    if values.shape[1] == 0 or values.shape[1] > 64:
        return np.asarray(values.max(axis=1, initial=-np.inf), dtype=np.float64)
    peak = values[:, 0].copy()
    for c in range(1, values.shape[1]):
        np.maximum(peak, values[:, c], out=peak)
    return peak


def normalise_log(log_joint: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Row-wise posteriors and log normalisers of unnormalised log probabilities."""
    peak = row_max(log_joint)
    posteriors = np.subtract(log_joint, peak[:, None])
    np.exp(posteriors, out=posteriors)  # in place: one array instead of three
    total = posteriors @ np.ones(posteriors.shape[1])
    posteriors /= total[:, None]
    log_norm = np.log(total) + peak
    return posteriors, log_norm


def vote_shares(data: EncodedAnswers, weights: FloatArray | None = None) -> FloatArray:
    """Each item's (weighted) share of votes per class; ties stay split."""
    k = data.n_classes
    w = answer_weights(data) if weights is None else weights[data.worker_idx] * answer_weights(data)
    votes = (
        np.bincount(data.item_idx * k + data.label_idx, weights=w, minlength=data.n_items * k)
        .astype(np.float64, copy=False)  # no answers: bincount returns integers
        .reshape(data.n_items, k)
    )
    total = votes.sum(axis=1, keepdims=True)
    flat = np.full_like(votes, 1.0 / max(k, 1))
    shares: FloatArray = np.divide(votes, total, out=flat, where=total > _EPS)
    return shares


def clamp_gold(posteriors: FloatArray, gold: NDArray[np.intp]) -> FloatArray:
    """Set the posterior of every gold item to its gold class (in place; returns it)."""
    known = np.flatnonzero(gold >= 0)
    if known.shape[0]:
        posteriors[known] = 0.0
        posteriors[known, gold[known]] = 1.0
    return posteriors


@dataclass(frozen=True, eq=False)
class EMResult:
    """Outcome of :func:`run_em`: final posteriors and counts, and the per-answer loss trace."""

    posteriors: FloatArray
    counts: FloatArray
    log_confusion: FloatArray
    history: list[float]
    converged: bool


class MStep:
    """Interface of a model's M-step: confusion and class prior from soft counts."""

    def __call__(
        self, counts: FloatArray, class_counts: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        """Return ``(log_confusion[w, c, k], log_prior[c])``."""
        raise NotImplementedError

    def confusion(self, counts: FloatArray) -> FloatArray:
        """The reported confusion matrices ``[w, c, k]`` from the final soft counts."""
        raise NotImplementedError


def run_em(
    data: EncodedAnswers,
    matrix: AnswerMatrix,
    initial: FloatArray,
    m_step: MStep,
    *,
    max_iter: int,
    tol: float,
) -> EMResult:
    """Alternate M- and E-steps from ``initial`` item posteriors.

    The loss is the negative log marginal likelihood of the answers (plus the model's prior
    terms, for Bayesian variants) divided by the number of answers; iteration stops after
    ``max_iter`` rounds, or earlier once the loss moves by at most ``tol``. Gold items keep
    their gold class throughout.
    """
    posteriors = clamp_gold(initial.copy(), data.gold)
    history: list[float] = []
    converged = False
    n = max(data.n_answers, 1)
    k = data.n_classes
    log_confusion = np.zeros((data.n_workers, k, k))
    for _ in range(max_iter):
        counts = soft_counts(matrix, posteriors)
        log_confusion, log_prior = m_step(counts, posteriors.sum(axis=0))
        log_joint = item_log_likelihood(matrix, log_confusion)
        log_joint += log_prior
        posteriors, log_norm = normalise_log(log_joint)
        clamp_gold(posteriors, data.gold)
        loss = -float(log_norm.sum()) / n
        done = bool(history) and abs(history[-1] - loss) <= tol
        history.append(loss)
        if done:
            converged = True
            break
    return EMResult(posteriors, soft_counts(matrix, posteriors), log_confusion, history, converged)


_CHUNK = 1 << 20


def leave_one_out_posteriors(
    data: EncodedAnswers, posteriors: FloatArray, log_confusion: FloatArray
) -> Iterator[tuple[IntArray, IntArray, FloatArray, FloatArray]]:
    """Per chunk of answers: ``(worker, label, T₋ₐ, weight)``, with ``T₋ₐ`` each answer's item
    posterior without that answer (``T[i] / π_w[:, label_a]`` renormalised; for a dependent
    group, without the group's whole vote on the item). Chunks bound memory."""
    log_post = np.log(np.maximum(posteriors, 1e-300))
    weight = answer_weights(data)
    grouped = None
    if data.weight is not None:  # a group's whole vote on the item is left out
        factors = answer_factors(log_confusion, data.worker_idx, data.label_idx) * weight[:, None]
        grouped = own_totals(data, factors)
    table = factor_rows(log_confusion)
    k = log_confusion.shape[2]
    for start in range(0, data.n_answers, _CHUNK):
        stop = min(start + _CHUNK, data.n_answers)
        item = data.item_idx[start:stop]
        worker = data.worker_idx[start:stop]
        label = data.label_idx[start:stop]
        own = table[worker * k + label] if grouped is None else grouped[start:stop]
        loo, _ = normalise_log(log_post[item] - own)
        yield worker, label, loo, weight[start:stop]


def add_loo_counts(
    total: FloatArray, worker: IntArray, label: IntArray, loo: FloatArray, weight: FloatArray
) -> None:
    """Add one chunk of :func:`leave_one_out_posteriors` to the flat counts ``total`` (cells
    ``(worker, answered k, class c)``; :func:`loo_counts_matrix` turns them into counts): soft
    confusion counts where each answer is scored against the *other* answers, so that a
    worker's own answers never vouch for them (a spammer alone on an item would otherwise agree
    with "the truth" it created)."""
    k = loo.shape[1]
    weighted = loo * weight[:, None]
    # rows (w, answered k), columns c
    total += sum_rows_by(worker * k + label, weighted, total.shape[0] // k).reshape(-1)


def loo_counts_matrix(total: FloatArray, n_workers: int, k: int) -> FloatArray:
    """``counts[w, c, k]`` from the flat cells :func:`add_loo_counts` filled."""
    return np.ascontiguousarray(total.reshape(n_workers, k, k).transpose(0, 2, 1))


def leave_one_out_vote_counts(data: EncodedAnswers, weights: FloatArray | None) -> FloatArray:
    """The leave-one-out counts of vote-based aggregators (as :func:`add_loo_counts` gives
    them for models with confusions): each answer scored against the other answers' shares."""
    k = data.n_classes
    w = answer_weights(data) if weights is None else weights[data.worker_idx] * answer_weights(data)
    votes = (
        np.bincount(data.item_idx * k + data.label_idx, weights=w, minlength=data.n_items * k)
        .astype(np.float64)
        .reshape(data.n_items, k)
    )
    total = np.zeros(data.n_workers * k * k)
    own = np.zeros((data.n_answers, k))
    own[np.arange(data.n_answers), data.label_idx] = w
    own = own_totals(data, own)  # the worker's (or group's) own votes on the item
    for start in range(0, data.n_answers, _CHUNK):
        stop = min(start + _CHUNK, data.n_answers)
        item = data.item_idx[start:stop]
        worker = data.worker_idx[start:stop]
        label = data.label_idx[start:stop]
        others = votes[item] - own[start:stop]
        others = np.maximum(others, 0.0)
        mass = others.sum(axis=1, keepdims=True)
        shares = np.divide(others, mass, out=np.full_like(others, 1.0 / k), where=mass > _EPS)
        shares *= answer_weights(data)[start:stop, None]
        cell = (worker * k + label) * k
        for c in range(k):
            total += np.bincount(cell + c, weights=shares[:, c], minlength=total.shape[0])
    return np.ascontiguousarray(total.reshape(data.n_workers, k, k).transpose(0, 2, 1))
