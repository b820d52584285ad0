"""Dawid-Skene with full confusion matrices, and its one-coin restriction, fitted by EM.

Input columns: item, worker, label (one row per answer), see :mod:`datafair.quality.base`.

``DawidSkene``: each worker has a confusion matrix ``π[c, k]`` (probability of answering ``k``
when the truth is ``c``); classes have prior ``ρ``; maximum likelihood by EM (Dawid & Skene,
"Maximum Likelihood Estimation of Observer Error-Rates Using the EM Algorithm", Applied
Statistics 28(1), 1979). Initialised from majority vote shares.

``OneCoin``: one accuracy ``p`` per worker, errors spread evenly over the other classes
(the "one-coin" model; Zhang, Chen, Zhou & Jordan, "Spectral Methods Meet EM", NeurIPS 2014).

Both run at most ``max_iter`` EM rounds and stop once the per-answer negative log-likelihood
moves by at most ``tol``; ``smoothing`` adds pseudo-counts to every confusion cell.
"""

from __future__ import annotations

import numpy as np

from datafair.quality._em import _EPS, FloatArray, MStep, answer_matrix, run_em, vote_shares
from datafair.quality._encode import EncodedAnswers
from datafair.quality.base import CategoricalAggregator, FitOutcome
from datafair.quality.skills import SPAM_THRESHOLD


def _normalise_rows(counts: FloatArray) -> FloatArray:
    total = counts.sum(axis=-1, keepdims=True)
    uniform = np.full_like(counts, 1.0 / counts.shape[-1])
    rows: FloatArray = np.divide(counts, total, out=uniform, where=total > _EPS)
    return rows


class _FullConfusion(MStep):
    def __init__(self, smoothing: float) -> None:
        self.smoothing = smoothing

    def confusion(self, counts: FloatArray) -> FloatArray:
        return _normalise_rows(counts + self.smoothing)

    def __call__(
        self, counts: FloatArray, class_counts: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        prior = _normalise_rows(class_counts + self.smoothing)
        return np.log(self.confusion(counts) + _EPS), np.log(prior + _EPS)


class _OneCoin(MStep):
    def __init__(self, smoothing: float) -> None:
        self.smoothing = smoothing

    def accuracy(self, counts: FloatArray) -> FloatArray:
        correct = np.einsum("wcc->w", counts)
        total = counts.sum(axis=(1, 2))
        s = self.smoothing
        acc = np.divide(
            correct + s, total + 2 * s, out=np.full_like(total, 0.5), where=total > _EPS
        )
        clipped: FloatArray = np.clip(acc, _EPS, 1.0 - _EPS)
        return clipped

    def confusion(self, counts: FloatArray) -> FloatArray:
        k = counts.shape[-1]
        acc = self.accuracy(counts)
        if k == 1:
            return np.ones_like(counts)
        off = ((1.0 - acc) / (k - 1))[:, None, None]
        eye = np.eye(k)[None, :, :]
        result: FloatArray = eye * acc[:, None, None] + (1.0 - eye) * off
        return result

    def __call__(
        self, counts: FloatArray, class_counts: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        prior = _normalise_rows(class_counts + self.smoothing)
        return np.log(self.confusion(counts)), np.log(prior + _EPS)


def fit_em(data: EncodedAnswers, m_step: MStep, *, max_iter: int, tol: float) -> FitOutcome:
    """EM from majority-vote shares with ``m_step`` (Dawid & Skene 1979), as a ``FitOutcome``."""
    result = run_em(
        data, answer_matrix(data), vote_shares(data), m_step, max_iter=max_iter, tol=tol
    )
    return FitOutcome(
        result.posteriors,
        log_confusion=result.log_confusion,
        confusion=m_step.confusion(result.counts),
        history=tuple(result.history),
        converged=result.converged,
    )


class DawidSkene(CategoricalAggregator):
    """Dawid & Skene (1979) EM with one full confusion matrix per worker (see module doc)."""

    def __init__(
        self,
        *,
        max_iter: int = 100,
        tol: float = 1e-6,
        smoothing: float = 0.0,
        spam_threshold: float = SPAM_THRESHOLD,
    ) -> None:
        super().__init__(spam_threshold=spam_threshold)
        self.max_iter = max_iter
        self.tol = tol
        self.smoothing = smoothing

    def _m_step(self) -> _FullConfusion | _OneCoin:
        return _FullConfusion(self.smoothing)

    def _fit_encoded(self, data: EncodedAnswers) -> FitOutcome:
        m_step = self._m_step()
        return fit_em(data, m_step, max_iter=self.max_iter, tol=self.tol)


class OneCoin(DawidSkene):
    """One-coin Dawid-Skene: one accuracy per worker, errors uniform (see module doc)."""

    def _m_step(self) -> _FullConfusion | _OneCoin:
        return _OneCoin(self.smoothing)
