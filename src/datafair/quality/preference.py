"""Pairwise preference (LLM comparison data): Bradley-Terry with worker reliability.

Input columns: ``items``, ``workers``, ``answers`` where each answer is ``"a"`` or ``"b"`` (which
side of the pair the worker prefers); optionally ``pairs``, a map ``item → (left, right)`` of the
two things compared (e.g. response ids) so that strengths are shared across items. Without it,
each item compares its own two sides.

Model (CrowdBT; Chen, Bennett, Collins-Thompson & Horvitz, "Pair-wise Ranking Aggregation in a
Crowdsourced Setting", WSDM 2013): each compared thing has a strength ``s``; worker ``w`` reports
the Bradley-Terry preference (Bradley & Terry, Biometrika 39, 1952) with probability ``η_w`` and
its reverse otherwise:
``P(w says a) = η_w σ(s_a − s_b) + (1 − η_w) σ(s_b − s_a)``.
Fitted by EM: the E-step gives each answer's probability of being reliable; the M-step updates
``η_w`` (Beta(2, 1) prior: workers start out more likely reliable than not) and ``s``
(L-BFGS on the expected log-likelihood with a Gaussian prior of variance ``1/l2`` on ``s``).

Fitted: ``labels_`` (``"a"``/``"b"`` per item: the side with the higher strength),
``probas_`` (items × 2, Bradley-Terry probability of ``a``, ``b``), ``confidences_``,
``entities_``/``scores_`` (strengths), ``reliabilities_`` (``η``), ``loss_history_``,
``converged_``; skills from the expected number of reliable answers (a coin-flipper has
``η ≈ 0.5``; spam score = posterior probability that ``η`` is below 0.6, competence 0.2).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Self

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize
from scipy.special import expit, log_expit

from datafair.core.errors import InvalidInput
from datafair.quality._encode import as_column, lookup, unique_codes
from datafair.quality._structured import StructuredAggregator, encode_structured
from datafair.quality.skills import SPAM_THRESHOLD, skills_from_agreement

FloatArray = NDArray[np.float64]
SIDES = ("a", "b")


class PreferenceAggregator(StructuredAggregator):
    """CrowdBT: Bradley-Terry strengths with per-worker reliability (see module doc)."""

    probas_: FloatArray
    entities_: NDArray[Any]
    scores_: FloatArray
    reliabilities_: FloatArray
    loss_history_: list[float]
    converged_: bool

    def __init__(
        self,
        *,
        l2: float = 1.0,
        max_iter: int = 50,
        tol: float = 1e-6,
        spam_threshold: float = SPAM_THRESHOLD,
    ) -> None:
        super().__init__(spam_threshold=spam_threshold)
        self.l2 = l2
        self.max_iter = max_iter
        self.tol = tol

    def fit(
        self,
        items: ArrayLike | Sequence[Any],
        workers: ArrayLike | Sequence[Any],
        answers: Sequence[str],
        *,
        pairs: Mapping[Any, tuple[Any, Any]] | None = None,
    ) -> Self:
        """Infer each item's preferred side and every compared thing's strength."""
        data = encode_structured(items, workers, answers)
        said_a = np.empty(len(data.answers), dtype=np.float64)
        for row, answer in enumerate(data.answers):
            side = answer.strip().lower() if isinstance(answer, str) else None
            if side not in SIDES:
                raise InvalidInput(
                    "answer", f"row {row}: expected 'a' or 'b', got {answer!r}", "answer a or b"
                )
            said_a[row] = 1.0 if side == "a" else 0.0
        left, right, entities = _sides(data.items, pairs)

        n_w = data.n_workers
        first, second = left[data.item_idx], right[data.item_idx]
        n_answers: FloatArray = np.bincount(data.worker_idx, minlength=n_w).astype(np.float64)
        # start from the vote: reliability 0.75, strengths fitted to unit-reliability answers
        eta = np.full(n_w, 0.75)
        strengths = np.zeros(entities.shape[0])
        history: list[float] = []
        converged = False
        reliable = np.ones_like(said_a)
        for _ in range(max(self.max_iter, 1)):
            p_a = expit(strengths[first] - strengths[second])
            agree = np.where(said_a == 1.0, p_a, 1.0 - p_a)  # P(answer | reliable)
            e = eta[data.worker_idx]
            likelihood = e * agree + (1.0 - e) * (1.0 - agree)
            reliable = e * agree / likelihood
            loss = -float(np.log(likelihood).sum()) / max(said_a.shape[0], 1)
            if history and abs(history[-1] - loss) <= self.tol:
                history.append(loss)
                converged = True
                break
            history.append(loss)
            eta = (np.bincount(data.worker_idx, weights=reliable, minlength=n_w) + 1.0) / (
                n_answers + 1.0
            )
            eta = np.clip(eta, 1e-6, 1.0 - 1e-6)
            # expected target: reliable answers as given, unreliable ones reversed
            target = reliable * said_a + (1.0 - reliable) * (1.0 - said_a)
            strengths = _fit_strengths(strengths, first, second, target, self.l2)

        p_a = expit(strengths[left] - strengths[right])
        self.items_ = data.items
        self.workers_ = data.workers
        self.probas_ = np.stack([p_a, 1.0 - p_a], axis=1)
        self.labels_ = ["a" if p >= 0.5 else "b" for p in p_a]
        self.confidences_ = np.maximum(p_a, 1.0 - p_a)
        self.entities_ = entities
        self.scores_ = strengths
        self.reliabilities_ = eta
        self.loss_history_ = history
        self.converged_ = converged
        success = np.bincount(data.worker_idx, weights=reliable, minlength=n_w).astype(np.float64)
        skills, scores = skills_from_agreement(
            data.workers, success, n_answers, n_answers.astype(np.intp), chance=0.5
        )
        self._store_skills(skills, scores)
        return self


def _fit_strengths(
    start: FloatArray,
    first: NDArray[np.intp],
    second: NDArray[np.intp],
    target: FloatArray,
    l2: float,
) -> FloatArray:
    """Maximise ``Σ target·log σ(Δ) + (1 − target)·log σ(−Δ) − l2/2 ‖s‖²`` with L-BFGS."""
    n = start.shape[0]

    def objective(s: FloatArray) -> tuple[float, FloatArray]:
        delta = s[first] - s[second]
        value = -(target * log_expit(delta) + (1.0 - target) * log_expit(-delta)).sum()
        value += 0.5 * l2 * float(s @ s)
        residual = expit(delta) - target
        grad: FloatArray = np.bincount(first, weights=residual, minlength=n).astype(np.float64)
        grad -= np.bincount(second, weights=residual, minlength=n).astype(np.float64)
        grad += l2 * s
        return float(value), grad

    result = minimize(objective, start, jac=True, method="L-BFGS-B")
    fitted: FloatArray = np.asarray(result.x, dtype=np.float64)
    return fitted


def _sides(
    items: NDArray[Any], pairs: Mapping[Any, tuple[Any, Any]] | None
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[Any]]:
    """Index of each item's left and right thing among the sorted distinct things."""
    n = items.shape[0]
    if pairs is None:
        entities = np.empty(2 * n, dtype=object)
        entities[0::2] = [(_plain(i), "a") for i in items]
        entities[1::2] = [(_plain(i), "b") for i in items]
        return (
            np.arange(0, 2 * n, 2, dtype=np.intp),
            np.arange(1, 2 * n, 2, dtype=np.intp),
            entities,
        )
    keys = as_column(list(pairs.keys()), "pairs item")
    where = lookup(items, keys, "pairs item")
    sides: list[Any] = [None] * (2 * n)
    for position, value in zip(where.tolist(), pairs.values(), strict=True):
        if position < 0:
            continue
        if not isinstance(value, tuple | list) or len(value) != 2 or value[0] == value[1]:
            raise InvalidInput(
                "pairs", f"item {_plain(items[position])!r}: expected two different things"
            )
        sides[2 * position], sides[2 * position + 1] = value[0], value[1]
    missing = [i for i in range(n) if sides[2 * i] is None]
    if missing:
        raise InvalidInput(
            "pairs", f"item {_plain(items[missing[0]])!r} has no pair", "map every item to (a, b)"
        )
    entities, codes = unique_codes(as_column(sides, "pairs"), "pairs")
    return codes[0::2].astype(np.intp), codes[1::2].astype(np.intp), entities


def _plain(value: object) -> object:
    return value.item() if isinstance(value, np.generic) else value
