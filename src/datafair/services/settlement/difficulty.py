"""Pay measured on the items actually answered: the ease of a contributor's items, taken out.

Quality-weighted pay (:func:`datafair.economics.quality_weighted_rewards`) pays each answer its
probability of being right, ``p_a``. A contributor's pay per answer is then their share of right
answers *on the items they answered*, which mixes two things: how good they are and how easy
their items were. Assignment hands items out at random (:mod:`datafair.services.assignment`),
but unless the task is ``assigned_only`` (:mod:`datafair.core.assignment_rules`) an answer is
accepted on any item with a free slot, so a competent worker who only takes easy items would be
paid as a better worker than they are (1.2–1.3× an honest worker of the same skill in
``benchmarks/economics.py``'s ``easy-pickers`` crowd). Measured accuracy confounds ability and
item difficulty (Whitehill, Ruvolo, Wu, Bergsma & Movellan, "Whose vote should
count more: optimal integration of labels from labelers of unknown expertise", NIPS 2009,
GLAD: ``P(right) = σ(α_worker · β_item)``); this module removes the item part from pay.

Rule (:func:`ease_factors`):

1. **Ease of each item.** The answers' ``p_a`` are fitted by the multiplicative two-way model
   ``p_a ≈ s_w · e_i`` (worker level ``s_w``, item ease ``e_i``; the rank-one least-squares fit
   of the sparse worker × item table, by :data:`ROUNDS` alternating updates from ``e = 1``,
   ``e`` normalised to mean 1 over the answers). Only independent evidence fits it: answers of
   spam-flagged and dependence-grouped accounts are left out.
2. **Each answer's item, judged by the others.** For answer ``a`` of worker ``w`` on item ``i``
   the item's ease is re-estimated without ``a`` (``e_i,−a = Σ_{b≠a} p_b s_b / Σ_{b≠a} s_b²``;
   1 when no other answer informs it), so a worker's own right answers never make their items
   look easy.
3. **Expected ease of a worker's items,** ``m_w``: the mean of ``e_i,−a`` over their answers.
4. **Shrunk by its evidence** (parametric empirical Bayes, Efron & Morris, "Data analysis using
   Stein's estimator and its generalizations", *JASA* 70, 1975; Morris, *JASA* 78, 1983):
   ``m'_w = c + (m_w − c) · τ² / (τ² + v_w)``, ``c`` the mean ease over the fitting answers (the
   typical item), ``v_w`` the pooled within-worker variance of the ease values over ``n_w``, and
   ``τ²`` the spread of the ``m_w`` beyond their sampling noise, by moments over the workers that
   fit the model: ``max(0, mean (m_w − c)² − mean v_w)``. Where items were handed out at
   random, the ``m_w`` differ by noise alone, ``τ² ≈ 0`` and every factor is 1: nothing
   changes. A worker with few answers keeps a factor near 1.
5. **Factor** ``f_w = c / m'_w``; answer ``a`` is paid ``min(1, p_a · f_w)`` instead of
   ``p_a``, so pay per answer follows accuracy on the task's typical item (the ratio of observed
   to expected, as indirect standardisation compares rates across different case mixes). A
   worker whose items were easier than the typical one is paid for an accuracy proportionally
   lower, one whose items were harder for one higher; no answer earns more than its price.

Pure and deterministic (fixed rounds, sequential sums): the audit recomputes the same factors
from the bundle's submissions and the fitted model; settlement writes ``τ²`` and each account's
factor in the bundle's ``ease`` section.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

ROUNDS = 10
"""Alternating least-squares rounds of the two-way fit (from ``e = 1`` it settles in a few)."""

_TINY = 1e-12

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class EaseFactors:
    """Per worker (``0..n_workers−1``): the expected ease ``m_w`` of their items, its shrunk value
    ``m'_w`` and the pay factor ``c / m'_w``; ``tau2`` is the between-worker spread used."""

    ease: FloatArray
    shrunk: FloatArray
    factor: FloatArray
    tau2: float

    def adjust(self, worker: NDArray[np.int64], p_correct: FloatArray) -> FloatArray:
        """``min(1, p · factor[worker])`` row by row."""
        adjusted: FloatArray = np.minimum(1.0, p_correct * self.factor[worker])
        return adjusted


def _two_way(
    item: NDArray[np.int64],
    worker: NDArray[np.int64],
    p: FloatArray,
    n_items: int,
    n_workers: int,
) -> FloatArray:
    """The worker levels ``s`` of the rank-one least-squares fit ``p ≈ s[worker] · e[item]``
    with ``e`` of mean 1 over the rows (:data:`ROUNDS` alternating updates from ``e = 1``)."""
    ease = np.ones(n_items)

    def levels(ease: FloatArray) -> FloatArray:
        e_row = ease[item]
        num = np.bincount(worker, weights=p * e_row, minlength=n_workers)
        den = np.bincount(worker, weights=e_row * e_row, minlength=n_workers)
        level: FloatArray = np.where(den > _TINY, num / np.maximum(den, _TINY), 0.0)
        return level

    for _ in range(ROUNDS):
        s_row = levels(ease)[worker]
        num = np.bincount(item, weights=p * s_row, minlength=n_items)
        den = np.bincount(item, weights=s_row * s_row, minlength=n_items)
        ease = np.where(den > _TINY, num / np.maximum(den, _TINY), 1.0)
        mean = float(np.mean(ease[item]))
        if mean > _TINY:
            ease = ease / mean
    return levels(ease)


def ease_factors(
    item: NDArray[np.int64],
    worker: NDArray[np.int64],
    p_correct: FloatArray,
    fits: NDArray[np.bool_],
    n_items: int,
    n_workers: int,
) -> EaseFactors:
    """The pay factor of every worker (see the module docstring).

    ``item``, ``worker``, ``p_correct`` are aligned answer rows; ``fits`` marks the rows that
    may fit the two-way model (independent, not spam-flagged). Every worker gets a factor, from
    all of their rows; workers without rows get 1.
    """
    item = np.asarray(item, dtype=np.int64)
    worker = np.asarray(worker, dtype=np.int64)
    p = np.asarray(p_correct, dtype=np.float64)
    fits = np.asarray(fits, dtype=bool)
    ones = np.ones(n_workers)
    if not fits.any():
        return EaseFactors(ones, ones.copy(), ones.copy(), 0.0)
    level = _two_way(item[fits], worker[fits], p[fits], n_items, n_workers)
    # each row's item ease from the other fitting rows of the item (leave-one-out)
    s_row = np.where(fits, level[worker], 0.0)
    num = np.bincount(item, weights=p * s_row, minlength=n_items)[item] - p * s_row
    den = np.bincount(item, weights=s_row * s_row, minlength=n_items)[item] - s_row * s_row
    loo = np.where(den > _TINY, num / np.maximum(den, _TINY), 1.0)
    count = np.bincount(worker, minlength=n_workers).astype(np.float64)
    has = count > 0
    total = np.bincount(worker, weights=loo, minlength=n_workers)
    mean = np.where(has, total / np.maximum(count, 1.0), 1.0)
    fitted = np.zeros(n_workers, dtype=bool)
    fitted[worker[fits]] = True
    fitted &= count > 1
    if not fitted.any():
        return EaseFactors(mean, ones.copy(), ones.copy(), 0.0)
    # the sampling variance of m_w: the within-worker variance of the ease values, pooled over
    # the fitted workers, over n_w
    inside = fitted[worker]
    deviation = loo[inside] - mean[worker[inside]]
    pooled = float(np.sum(deviation * deviation)) / float(np.sum(count[fitted] - 1.0))
    variance = pooled / np.maximum(count, 1.0)
    # the typical item's ease: the mean over the fitting answers (1 but for leaving one out)
    centre = float(np.mean(loo[fits]))
    tau2 = max(float(np.mean((mean[fitted] - centre) ** 2)) - float(np.mean(variance[fitted])), 0.0)
    weight = np.where(tau2 + variance > _TINY, tau2 / np.maximum(tau2 + variance, _TINY), 0.0)
    shrunk = np.where(has, centre + (mean - centre) * weight, centre)
    shrunk = np.maximum(shrunk, _TINY)
    return EaseFactors(mean, shrunk, centre / shrunk, tau2)
