"""The worker models ``auto`` chooses among, from the simplest to the richest.

Every model scores an answer ``k`` by a worker ``w`` on an item of true class ``c`` with a
probability ``π_w[c, k]`` that is a conjugate posterior mean built from the soft confusion counts
``n[w, c, k]`` (expected answers ``k`` by ``w`` on items of class ``c``) plus prior pseudo-counts
shaped like the crowd's pooled confusion. They differ in how many parameters a worker has:

==================  =======================================================================
``majority``        one accuracy shared by the whole crowd, errors uniform, uniform class
                    prior: the generative model whose posterior ranks classes exactly as
                    majority vote does
``one-coin``        one accuracy per worker, errors uniform (Dawid & Skene 1979 restricted;
                    Zhang, Chen, Zhou & Jordan, NeurIPS 2014); Beta prior at the crowd's
                    pooled accuracy
``class-one-coin``  one accuracy per worker and true class, errors uniform (for two classes:
                    sensitivity and specificity, Raykar et al., JMLR 2010); Beta prior per class
``dawid-skene``     a full confusion matrix per worker (Dawid & Skene 1979) with a Dirichlet
                    prior shaped like the crowd's pooled matrix (Kim & Ghahramani, AISTATS
                    2012; Paun et al., TACL 2018)
``community-G``     a full matrix per worker, shrunk toward the matrix of the worker's
                    community among ``G`` (community-based Bayesian classifier combination,
                    Venanzi, Guiver, Kazai, Kohli & Shokouhi, WWW 2014); membership maximises
                    the Dirichlet-multinomial evidence of the worker's counts
==================  =======================================================================

Prior strength is fixed by the model's shape, never by the data set: a Dirichlet row over ``K``
answers carries ``K`` pseudo-answers (Laplace's total weight) and a Beta accuracy carries 2, each
cell floored at Jeffreys' 1/2. So a worker with few answers is assumed to behave like the crowd
(or like their community), and one with many answers gets their own parameters.

:meth:`Candidate.held_out` gives the same probabilities with one answer's soft count removed from
its worker's counts; :mod:`datafair.quality.selection` uses it to score every model by the
leave-one-answer-out likelihood of the answers.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from datafair.quality._em import FloatArray, MStep, answer_factors
from datafair.quality._special import gammaln

IntArray = NDArray[np.intp]

JEFFREYS = 0.5
"""Floor of every prior pseudo-count."""

_TINY = 1e-300


def _log(values: FloatArray) -> FloatArray:
    logged: FloatArray = np.log(np.maximum(values, _TINY))
    return logged


def _pooled_mean(counts: FloatArray) -> FloatArray:
    """The crowd's pooled confusion ``m[c, k]`` (rows sum to one; a 1/K pseudo-count per cell)."""
    k = counts.shape[-1]
    pooled = counts.sum(axis=0) + 1.0 / k
    mean: FloatArray = pooled / pooled.sum(axis=1, keepdims=True)
    return mean


def _class_log_prior(class_counts: FloatArray) -> FloatArray:
    """Posterior mean of the class shares under a flat Dirichlet, in logs."""
    post = class_counts + 1.0
    logged: FloatArray = np.log(post / post.sum())
    return logged


def _beta_prior(mean: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Beta pseudo-counts of total weight 2 at ``mean``, each floored at 1/2."""
    return np.maximum(2.0 * mean, JEFFREYS), np.maximum(2.0 * (1.0 - mean), JEFFREYS)


def _spread(accuracy: FloatArray, k: int) -> FloatArray:
    """Confusion ``[..., c, k]`` with ``accuracy[..., c]`` on the diagonal, errors uniform."""
    eye = np.eye(k)
    off = (1.0 - accuracy) / max(k - 1, 1)
    table: FloatArray = accuracy[..., :, None] * eye + off[..., :, None] * (1.0 - eye)
    return table


class Candidate(MStep):
    """A worker model: M-step (``__call__``), reported confusion and held-out probabilities."""

    name = "candidate"
    per_worker = True
    """False when workers share every parameter (their own answers barely move them)."""

    def held_out(
        self, counts: FloatArray, worker: IntArray, label: IntArray, share: FloatArray
    ) -> FloatArray:
        """``π_w[c, label]`` for each row, with ``share[row, c]`` removed from ``n[w, c, label]``.

        ``share`` is the answer's own contribution to its worker's soft counts (its item's
        posterior); the result has one row per answer and one column per true class.
        """
        raise NotImplementedError

    def describe(self) -> str:
        """One line for reports."""
        return self.name


class MajorityModel(Candidate):
    """One accuracy for the whole crowd, uniform errors and classes (see module doc)."""

    name = "majority"
    per_worker = False

    def _accuracy(self, counts: FloatArray) -> float:
        total = float(counts.sum())
        correct = float(np.einsum("wcc->", counts))
        return min(max((correct + 1.0) / (total + 2.0), 1e-6), 1.0 - 1e-6)

    def confusion(self, counts: FloatArray) -> FloatArray:
        k = counts.shape[-1]
        one = _spread(np.full(k, self._accuracy(counts)), k)
        return np.broadcast_to(one, counts.shape).copy()

    def __call__(
        self, counts: FloatArray, class_counts: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        k = counts.shape[-1]
        one = _log(_spread(np.full(k, self._accuracy(counts)), k))
        log_prior = np.full(k, -np.log(k))
        return np.broadcast_to(one, counts.shape), log_prior

    def held_out(
        self, counts: FloatArray, worker: IntArray, label: IntArray, share: FloatArray
    ) -> FloatArray:
        k = counts.shape[-1]
        p = self._accuracy(counts)
        rows = np.full((worker.shape[0], k), (1.0 - p) / max(k - 1, 1))
        rows[np.arange(worker.shape[0]), label] = p
        return rows


class OneCoinModel(Candidate):
    """One accuracy per worker with a Beta prior at the crowd's pooled accuracy."""

    name = "one-coin"

    def _prior(self, counts: FloatArray) -> tuple[float, float]:
        total = float(counts.sum())
        mean = (float(np.einsum("wcc->", counts)) + 1.0) / (total + 2.0)
        a, b = _beta_prior(np.asarray(mean))
        return float(a), float(b)

    def _accuracy(self, counts: FloatArray) -> FloatArray:
        a, b = self._prior(counts)
        correct = np.einsum("wcc->w", counts)
        total = counts.sum(axis=(1, 2))
        accuracy: FloatArray = (correct + a) / (total + a + b)
        return accuracy

    def confusion(self, counts: FloatArray) -> FloatArray:
        k = counts.shape[-1]
        return _spread(np.repeat(self._accuracy(counts)[:, None], k, axis=1), k)

    def __call__(
        self, counts: FloatArray, class_counts: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        return _log(self.confusion(counts)), _class_log_prior(class_counts)

    def held_out(
        self, counts: FloatArray, worker: IntArray, label: IntArray, share: FloatArray
    ) -> FloatArray:
        k = counts.shape[-1]
        a, b = self._prior(counts)
        rows = np.arange(worker.shape[0])
        correct = np.einsum("wcc->w", counts)[worker] - share[rows, label]
        total = counts.sum(axis=(1, 2))[worker] - share.sum(axis=1)
        p = (correct + a) / (total + a + b)
        out = np.repeat(((1.0 - p) / max(k - 1, 1))[:, None], k, axis=1)
        out[rows, label] = p
        return out


class ClassOneCoinModel(Candidate):
    """One accuracy per worker and true class, Beta prior at the crowd's per-class accuracy."""

    name = "class-one-coin"

    def _prior(self, counts: FloatArray) -> tuple[FloatArray, FloatArray]:
        return _beta_prior(np.diag(_pooled_mean(counts)).copy())

    def _accuracy(self, counts: FloatArray) -> FloatArray:
        a, b = self._prior(counts)
        diag = np.einsum("wcc->wc", counts)
        total = counts.sum(axis=2)
        accuracy: FloatArray = (diag + a) / (total + a + b)
        return accuracy

    def confusion(self, counts: FloatArray) -> FloatArray:
        return _spread(self._accuracy(counts), counts.shape[-1])

    def __call__(
        self, counts: FloatArray, class_counts: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        return _log(self.confusion(counts)), _class_log_prior(class_counts)

    def held_out(
        self, counts: FloatArray, worker: IntArray, label: IntArray, share: FloatArray
    ) -> FloatArray:
        k = counts.shape[-1]
        a, b = self._prior(counts)
        rows = np.arange(worker.shape[0])
        diag = np.einsum("wcc->wc", counts)[worker]
        diag[rows, label] -= share[rows, label]
        total = counts.sum(axis=2)[worker] - share
        p = (diag + a) / (total + a + b)  # (n, c)
        out: FloatArray = (1.0 - p) / max(k - 1, 1)
        out[rows, label] = p[rows, label]
        return out


class DirichletModel(Candidate):
    """Full confusion per worker, Dirichlet prior ``max(K·m, 1/2)`` around the crowd's ``m``."""

    name = "dawid-skene"

    def alpha(self, counts: FloatArray) -> FloatArray:
        """Prior pseudo-counts ``[w, c, k]`` (broadcastable) for the current counts."""
        k = counts.shape[-1]
        alpha: FloatArray = np.maximum(k * _pooled_mean(counts), JEFFREYS)[None, :, :]
        return alpha

    def confusion(self, counts: FloatArray) -> FloatArray:
        post = counts + self.alpha(counts)
        mean: FloatArray = post / post.sum(axis=2, keepdims=True)
        return mean

    def __call__(
        self, counts: FloatArray, class_counts: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        return _log(self.confusion(counts)), _class_log_prior(class_counts)

    def held_out(
        self, counts: FloatArray, worker: IntArray, label: IntArray, share: FloatArray
    ) -> FloatArray:
        alpha = np.broadcast_to(self.alpha(counts), counts.shape)
        post = counts + alpha
        cell = answer_factors(post, worker, label) - share  # (n, c)
        row = post.sum(axis=2)[worker] - share
        out: FloatArray = cell / row
        return out


class CommunityModel(DirichletModel):
    """Dawid-Skene shrunk toward one of ``G`` community matrices (Venanzi et al. 2014).

    Communities start as the workers ranked by their accuracy against the current posteriors,
    cut into ``G`` groups of equal answer volume; each M-step re-pools every community's matrix
    and moves each worker to the community under whose Dirichlet prior their counts are most
    probable (hard assignment; deterministic, ties to the lower community).
    """

    def __init__(self, groups: int) -> None:
        self.groups = groups
        self.name = f"community-{groups}"
        self.members: IntArray | None = None

    def _initial(self, counts: FloatArray) -> IntArray:
        volume = counts.sum(axis=(1, 2))
        accuracy = (np.einsum("wcc->w", counts) + 1.0) / (volume + 2.0)
        order = np.argsort(accuracy, kind="stable")
        cumulative = np.cumsum(volume[order]) / max(float(volume.sum()), 1e-12)
        members = np.empty(counts.shape[0], dtype=np.intp)
        members[order] = np.minimum((cumulative * self.groups).astype(np.intp), self.groups - 1)
        return members

    def _community_alpha(self, counts: FloatArray, members: IntArray) -> FloatArray:
        k = counts.shape[-1]
        table = np.stack([counts[members == g].sum(axis=0) for g in range(self.groups)])
        table += 1.0 / k
        mean = table / table.sum(axis=2, keepdims=True)
        alpha: FloatArray = np.maximum(k * mean, JEFFREYS)
        return alpha

    def _assign(self, counts: FloatArray, alpha: FloatArray) -> IntArray:
        """Community of each worker maximising the Dirichlet-multinomial evidence."""
        row_alpha = alpha.sum(axis=2)  # (g, c)
        row_counts = counts.sum(axis=2)  # (w, c)
        evidence = (gammaln(counts[:, None] + alpha[None]) - gammaln(alpha)[None]).sum(
            axis=(2, 3)
        ) + (gammaln(row_alpha)[None] - gammaln(row_counts[:, None] + row_alpha[None])).sum(
            axis=2
        )  # (w, g)
        members: IntArray = np.argmax(evidence, axis=1).astype(np.intp)
        return members

    def update(self, counts: FloatArray) -> None:
        """Re-pool the communities and re-assign every worker: two rounds from the initial
        communities, then one per M-step (hard-assignment EM)."""
        first = self.members is None
        members = self._initial(counts) if self.members is None else self.members
        for _ in range(2 if first else 1):
            members = self._assign(counts, self._community_alpha(counts, members))
        self.members = members

    def alpha(self, counts: FloatArray) -> FloatArray:
        if self.members is None or self.members.shape[0] != counts.shape[0]:
            self.update(counts)
        assert self.members is not None
        prior: FloatArray = self._community_alpha(counts, self.members)[self.members]
        return prior

    def __call__(
        self, counts: FloatArray, class_counts: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        self.update(counts)
        return super().__call__(counts, class_counts)

    def describe(self) -> str:
        if self.members is None:
            return self.name
        sizes = np.bincount(self.members, minlength=self.groups).tolist()
        return f"{self.name} (workers per community {sizes})"
