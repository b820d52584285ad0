"""Bayesian Dawid-Skene with Dirichlet priors on every confusion row.

Input columns: item, worker, label (one row per answer), see :mod:`datafair.quality.base`.

Model: class prior ``ρ ~ Dir(1)``; each worker's confusion row ``π_w[c, :] ~ Dir(α[c, :])``;
answers are drawn from ``π_w[truth, :]`` (the Bayesian classifier combination of Kim &
Ghahramani, AISTATS 2012; Dirichlet priors on annotator confusion as in Raykar et al.,
"Learning From Crowds", JMLR 11, 2010, and Paun et al., "Comparing Bayesian Models of
Annotation", TACL 6, 2018).

Inference alternates item posteriors and the Dirichlet posteriors ``α + counts`` of every row.
``inference="mean"`` (the default) scores an answer by the log of its posterior-predictive
probability ``log E[π]`` — the exact probability of one new answer given the worker's Dirichlet
posterior; ``inference="variational"`` uses mean-field ``E[log π]`` (digamma differences; Simpson,
Roberts, Psorakis & Smith, "Dynamic Bayesian Combination of Multiple Imperfect Classifiers",
2013). The mean-field score punishes rare cells by ``ψ(α)`` (``ψ(1/2) = −1.96`` where
``log(1/2) = −0.69``), so every disagreement counts as strong evidence and posteriors come out
over-confident when workers give few answers; the predictive score keeps the same shrinkage
without that amplification.

Prior (``prior="crowd"``, the default): ``α[c, :] = max(prior_strength · m[c, :], 1/2)``
where ``m`` is the pooled confusion of the whole crowd, re-estimated each round (an
empirical-Bayes stand-in for the hierarchical Dawid-Skene model, which Paun et al. 2018 found
the most robust across data sets). The default strength is ``K`` pseudo-answers per true class —
the same total weight as Laplace's flat Dirichlet(1) — but shaped like the average worker instead
of uniform; the floor 1/2 is Jeffreys' prior for a cell. A worker with few answers is thus
assumed to be like the average worker; workers with many answers get their own confusion
matrix. Neither the strength nor the floor depends on the data set. ``prior="flat"`` uses
``α = 1`` everywhere (Laplace).

Runs at most ``max_iter`` rounds from majority-vote initial posteriors and stops once the
per-answer loss ``−Σ_i log Σ_c exp(score_i(c)) / n_answers`` moves by at most ``tol``.
Deterministic: no random initialisation.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy.special import digamma

from datafair.quality._em import FloatArray, MStep
from datafair.quality._encode import EncodedAnswers
from datafair.quality.base import CategoricalAggregator, FitOutcome
from datafair.quality.dawid_skene import fit_em
from datafair.quality.skills import SPAM_THRESHOLD

PriorKind = Literal["crowd", "flat"]
InferenceKind = Literal["mean", "variational"]

_JEFFREYS = 0.5
"""Floor of every prior pseudo-count: the Jeffreys prior of a multinomial cell."""


class _DirichletStep(MStep):
    def __init__(self, prior: PriorKind, strength: float | None, inference: InferenceKind) -> None:
        self.prior = prior
        self.strength = strength
        self.inference = inference

    def alpha(self, counts: FloatArray) -> FloatArray:
        """Prior pseudo-counts ``α[c, k]`` for the current soft counts."""
        k = counts.shape[-1]
        if self.prior == "flat":
            return np.ones((k, k))
        pooled = counts.sum(axis=0) + 1.0 / k
        mean = pooled / pooled.sum(axis=1, keepdims=True)
        strength = float(k) if self.strength is None else self.strength
        alpha: FloatArray = np.maximum(strength * mean, _JEFFREYS)
        return alpha

    def confusion(self, counts: FloatArray) -> FloatArray:
        post = counts + self.alpha(counts)
        mean: FloatArray = post / post.sum(axis=2, keepdims=True)
        return mean

    def __call__(
        self, counts: FloatArray, class_counts: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        post = counts + self.alpha(counts)
        class_post = 1.0 + class_counts
        if self.inference == "variational":
            log_confusion = digamma(post) - digamma(post.sum(axis=2, keepdims=True))
            log_prior = digamma(class_post) - digamma(class_post.sum())
        else:
            log_confusion = np.log(post) - np.log(post.sum(axis=2, keepdims=True))
            log_prior = np.log(class_post) - np.log(class_post.sum())
        return log_confusion, log_prior


class BayesianDawidSkene(CategoricalAggregator):
    """Bayesian Dawid-Skene with a crowd-level Dirichlet prior (see module doc)."""

    def __init__(
        self,
        *,
        prior: PriorKind = "crowd",
        prior_strength: float | None = None,
        inference: InferenceKind = "mean",
        max_iter: int = 100,
        tol: float = 1e-6,
        spam_threshold: float = SPAM_THRESHOLD,
    ) -> None:
        super().__init__(spam_threshold=spam_threshold)
        if prior not in ("crowd", "flat"):
            raise ValueError(f"prior must be 'crowd' or 'flat', not {prior!r}")
        if inference not in ("mean", "variational"):
            raise ValueError(f"inference must be 'mean' or 'variational', not {inference!r}")
        self.prior = prior
        self.prior_strength = prior_strength
        self.inference = inference
        self.max_iter = max_iter
        self.tol = tol

    def _fit_encoded(self, data: EncodedAnswers) -> FitOutcome:
        m_step = _DirichletStep(self.prior, self.prior_strength, self.inference)
        return fit_em(data, m_step, max_iter=self.max_iter, tol=self.tol)
