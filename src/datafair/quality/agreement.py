"""Inter-annotator agreement for categorical answers.

- :func:`krippendorff_alpha`: nominal alpha over item, worker, label columns; any number of
  workers per item, missing answers allowed (Krippendorff, *Content Analysis*, 2004;
  "Computing Krippendorff's Alpha-Reliability", 2011).
- :func:`fleiss_kappa`: items × classes table of rating counts, the same number of raters per
  item (Fleiss, "Measuring Nominal Scale Agreement Among Many Raters", Psychological Bulletin
  76(5), 1971).
- :func:`cohen_kappa`: two raters' labels on the same items (Cohen, "A Coefficient of Agreement
  for Nominal Scales", 1960).
- :func:`agreement_with_aggregate`: per worker, the share of answers equal to the aggregate.

Each returns ``nan`` where the statistic is undefined (no pairable data, or no expected
disagreement because a single class is used throughout).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from datafair.core.errors import InvalidInput
from datafair.quality._encode import as_column, encode_answers, lookup, unique_codes

FloatArray = NDArray[np.float64]


def rating_table(
    items: ArrayLike | Sequence[Any],
    workers: ArrayLike | Sequence[Any],
    labels: ArrayLike | Sequence[Any],
    *,
    classes: Sequence[Any] | ArrayLike | None = None,
) -> tuple[NDArray[Any], NDArray[Any], FloatArray]:
    """``(items, classes, table)`` with ``table[i, c]`` = answers ``c`` on item ``i``.

    A repeated (item, worker) pair keeps its last answer.
    """
    data = encode_answers(items, workers, labels, classes=classes)
    table = np.bincount(
        data.item_idx * data.n_classes + data.label_idx,
        minlength=data.n_items * data.n_classes,
    ).reshape(data.n_items, data.n_classes)
    return data.items, data.classes, table.astype(np.float64)


def krippendorff_alpha(
    items: ArrayLike | Sequence[Any],
    workers: ArrayLike | Sequence[Any],
    labels: ArrayLike | Sequence[Any],
) -> float:
    """Krippendorff's alpha for nominal data; items with one answer are not pairable."""
    _, _, table = rating_table(items, workers, labels)
    per_item = table.sum(axis=1)
    pairable = per_item >= 2
    if not pairable.any():
        return float("nan")
    values = sp.csr_matrix(table[pairable])
    scale = 1.0 / (per_item[pairable] - 1.0)
    weighted = sp.diags(scale) @ values
    coincidence = np.asarray((values.T @ weighted).todense())
    coincidence -= np.diag(np.asarray(weighted.sum(axis=0)).reshape(-1))
    totals = coincidence.sum(axis=1)
    n = totals.sum()
    observed = coincidence.sum() - np.trace(coincidence)
    expected = totals.sum() ** 2 - (totals**2).sum()
    if expected <= 0:
        return float("nan")
    return float(1.0 - (n - 1.0) * observed / expected)


def fleiss_kappa(table: ArrayLike) -> float:
    """Fleiss' kappa of an items × classes table of counts with equal row sums."""
    counts = np.asarray(table, dtype=np.float64)
    if counts.ndim != 2 or counts.shape[0] == 0:
        raise InvalidInput("table", "expected a non-empty items × classes table of counts")
    raters = counts.sum(axis=1)
    if not np.allclose(raters, raters[0]):
        raise InvalidInput(
            "table",
            "Fleiss' kappa needs the same number of raters on every item",
            "use krippendorff_alpha for uneven data",
        )
    m = raters[0]
    if m < 2:
        return float("nan")
    p_item = ((counts**2).sum(axis=1) - m) / (m * (m - 1.0))
    p_class = counts.sum(axis=0) / counts.sum()
    chance = float((p_class**2).sum())
    if chance >= 1.0:
        return float("nan")
    return float((p_item.mean() - chance) / (1.0 - chance))


def cohen_kappa(first: ArrayLike | Sequence[Any], second: ArrayLike | Sequence[Any]) -> float:
    """Cohen's kappa of two raters' labels on the same items, position by position."""
    a = as_column(first, "first")
    b = as_column(second, "second")
    if a.shape[0] != b.shape[0]:
        raise InvalidInput(
            "labels", f"raters label different numbers of items ({a.shape[0]} vs {b.shape[0]})"
        )
    if a.shape[0] == 0:
        return float("nan")
    classes, codes = unique_codes(np.concatenate([a, b]), "labels")
    k = classes.shape[0]
    ca, cb = codes[: a.shape[0]], codes[a.shape[0] :]
    observed = float(np.mean(ca == cb))
    pa = np.bincount(ca, minlength=k) / a.shape[0]
    pb = np.bincount(cb, minlength=k) / b.shape[0]
    chance = float(pa @ pb)
    if chance >= 1.0:
        return float("nan")
    return (observed - chance) / (1.0 - chance)


def agreement_with_aggregate(
    items: ArrayLike | Sequence[Any],
    workers: ArrayLike | Sequence[Any],
    labels: ArrayLike | Sequence[Any],
    aggregate: Mapping[Any, Any],
) -> dict[Any, float]:
    """For each worker, the share of their answers (on aggregated items) equal to the aggregate.

    Workers with no answer on an aggregated item get ``nan``.
    """
    data = encode_answers(items, workers, labels)
    if not aggregate or data.n_answers == 0:
        return {_plain(w): float("nan") for w in data.workers}
    keys = as_column(list(aggregate.keys()), "aggregate item")
    values = as_column(list(aggregate.values()), "aggregate label")
    item_pos = lookup(data.items, keys, "aggregate item")
    class_order = np.argsort(data.classes, kind="stable")
    class_pos = lookup(data.classes[class_order], values, "aggregate label")
    target = np.full(data.n_items, -2, dtype=np.intp)
    known = item_pos >= 0
    mapped = np.where(class_pos >= 0, class_order[np.maximum(class_pos, 0)], -1)
    target[item_pos[known]] = mapped[known]
    scored = target[data.item_idx] != -2
    agree = (target[data.item_idx] == data.label_idx) & scored
    hits = np.bincount(data.worker_idx, weights=agree.astype(float), minlength=data.n_workers)
    seen = np.bincount(data.worker_idx, weights=scored.astype(float), minlength=data.n_workers)
    share = np.divide(hits, seen, out=np.full(data.n_workers, np.nan), where=seen > 0)
    return {_plain(w): float(s) for w, s in zip(data.workers, share, strict=True)}


def _plain(value: object) -> object:
    return value.item() if isinstance(value, np.generic) else value
