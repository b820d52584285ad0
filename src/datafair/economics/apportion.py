"""Deterministic integer apportionment: the largest-remainder (Hamilton) method.

Money is split by weights in three steps (Hamilton's method; Balinski & Young, *Fair
Representation*, 2nd ed., 2001, ch. 2):

1. each share is the floor of ``total * w_i / sum(w)``, computed in exact integer arithmetic;
2. the units left over (fewer than the number of positive weights) go one each to the shares with
   the largest remainders;
3. equal remainders are broken by a caller-given key, then by position (lower first).

Float weights are first quantised to integers (:data:`WEIGHT_SCALE` steps), so the split depends
only on integers and is bit-identical on every machine. When every weight is zero nothing is
split: every share is 0 and the caller keeps the money.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from datafair.core.errors import InvalidInput
from datafair.economics._checks import amount

WEIGHT_SCALE = 10**9
"""Float weights are rounded to integer multiples of ``1 / WEIGHT_SCALE`` before any split."""

_INT64_LIMIT = 2**63


def quantise(weights: Sequence[float] | NDArray[Any], *, normalise: bool) -> NDArray[np.int64]:
    """Float weights as integers: ``rint(w * WEIGHT_SCALE)``, optionally after ``w / max(w)``.

    ``normalise=True`` keeps only the ratios (any finite non-negative weights are accepted);
    ``normalise=False`` keeps the absolute value, so weights must lie in ``[0, 1]``. Rounding is
    IEEE-754 round-half-even, identical on every platform.
    """
    array = np.asarray(weights)
    if array.ndim != 1:
        raise InvalidInput("weights", f"must be one-dimensional, got shape {array.shape}")
    if array.size == 0:
        return np.zeros(0, dtype=np.int64)
    if not (array.dtype == np.bool_ or np.issubdtype(array.dtype, np.number)):
        raise InvalidInput("weights", f"must hold numbers, got dtype {array.dtype}")
    floats = array.astype(np.float64)
    if not np.all(np.isfinite(floats)):
        raise InvalidInput("weights", "holds a NaN or infinite value", "pass finite weights")
    if floats.min() < 0.0:
        raise InvalidInput("weights", "holds a negative weight", "pass weights >= 0")
    if normalise:
        top = float(floats.max())
        if top > 0.0:
            floats = floats / top
    elif floats.max() > 1.0:
        raise InvalidInput("weights", "holds a weight above 1", "pass weights in [0, 1]")
    return np.rint(floats * WEIGHT_SCALE).astype(np.int64)


def apportion(total: int, weights: Sequence[int]) -> list[int]:
    """Split ``total`` in proportion to non-negative integer ``weights`` (exact Hamilton).

    Returns one share per weight; the shares sum to ``total`` when any weight is positive, and
    are all 0 otherwise. Each share is the floor or the ceiling of its exact quota; a zero
    weight always gets 0. Equal remainders go to the lower position first.
    """
    total = amount(total, "total")
    values = [amount(weight, "weights") for weight in weights]
    weight_sum = sum(values)
    if weight_sum == 0:
        return [0] * len(values)
    parts = [divmod(total * weight, weight_sum) for weight in values]
    shares = [quotient for quotient, _ in parts]
    deficit = total - sum(shares)
    ranked = sorted(range(len(values)), key=lambda i: (-parts[i][1], i))
    for position in ranked[:deficit]:
        shares[position] += 1
    return shares


def largest_remainder(total: int, weights: Sequence[float] | NDArray[Any]) -> list[int]:
    """Split ``total`` base units in proportion to float ``weights``.

    The weights are divided by their maximum and quantised to :data:`WEIGHT_SCALE` steps (so a
    weight below about ``5e-10`` of the largest gets nothing), then split by :func:`apportion`.
    The shares sum to ``total`` exactly when any weight is positive; all-zero weights give all
    zero shares.
    """
    quantised = quantise(weights, normalise=True)
    return apportion(total, [int(value) for value in quantised.tolist()])


def apportion_groups(
    totals: Sequence[int],
    groups: NDArray[np.int64],
    weights: NDArray[np.int64],
    tiebreak: NDArray[np.int64] | None = None,
) -> list[int]:
    """Hamilton apportionment inside many groups at once (vectorised, exact).

    Row ``i`` belongs to group ``groups[i]`` (``0 <= groups[i] < len(totals)``) and has the
    non-negative integer weight ``weights[i]``; group ``g`` splits ``totals[g]`` among its rows.
    Equal remainders in a group go first to the lower ``tiebreak`` value, then to the lower row.
    Returns one share per row. A group whose weights are all zero pays nothing.
    """
    n_rows = int(groups.shape[0])
    if weights.shape[0] != n_rows or (tiebreak is not None and tiebreak.shape[0] != n_rows):
        raise InvalidInput("weights", "must have one value per row", "align the columns")
    if n_rows == 0:
        return []
    n_groups = len(totals)
    checked = [amount(total, "totals") for total in totals]
    if int(groups.min()) < 0 or int(groups.max()) >= n_groups:
        raise InvalidInput("groups", "holds a group without a total", "pass one total per group")
    if int(weights.min()) < 0:
        raise InvalidInput("weights", "holds a negative weight", "pass weights >= 0")
    max_weight = int(weights.max())
    if max_weight * n_rows >= _INT64_LIMIT:
        raise InvalidInput("weights", "sum beyond 2**63", "quantise weights more coarsely")
    weight_sums = np.zeros(n_groups, dtype=np.int64)
    np.add.at(weight_sums, groups, weights)
    exact = max(checked, default=0) * max(max_weight, 1) < _INT64_LIMIT
    dtype: type[Any] = np.int64 if exact else object
    group_totals = np.array(checked, dtype=dtype)
    row_sums = weight_sums[groups]
    divisor = np.where(row_sums > 0, row_sums, 1).astype(dtype)
    numerators = group_totals[groups] * weights.astype(dtype)
    floors = numerators // divisor
    remainders = (numerators % divisor).astype(np.int64)
    floor_sums = np.zeros(n_groups, dtype=dtype)
    np.add.at(floor_sums, groups, floors)
    deficits = np.where(weight_sums > 0, group_totals - floor_sums, 0).astype(np.int64)
    rows = np.arange(n_rows, dtype=np.int64)
    keys = rows if tiebreak is None else tiebreak
    order = np.lexsort((rows, keys, -remainders, groups))
    sorted_groups = groups[order]
    starts = np.searchsorted(sorted_groups, np.arange(n_groups, dtype=np.int64))
    rank = np.arange(n_rows, dtype=np.int64) - starts[sorted_groups]
    bonus = np.zeros(n_rows, dtype=np.int64)
    bonus[order] = (rank < deficits[sorted_groups]).astype(np.int64)
    shares: list[int] = (floors + bonus.astype(dtype)).tolist()
    return [int(share) for share in shares]
