"""Turn raw answer columns into dense integer codes (no I/O, no pandas).

Input columns: ``items``, ``workers``, ``labels`` — equal-length sequences or numpy arrays of
strings or ints, one row per answer. A repeated (item, worker) pair keeps its last answer.
Blank values (``None``, ``""``, whitespace, NaN) are rejected with
:class:`~datafair.core.errors.InvalidInput`, as are labels outside the declared classes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from datafair.core.errors import InvalidInput

IntArray = NDArray[np.intp]
FloatArray = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class EncodedAnswers:
    """Answers as integer codes into the sorted key arrays ``items``, ``workers``, ``classes``.

    ``gold`` holds, for each item, the index of its gold class or ``-1``. ``weight``, when set,
    is each answer's weight in inference (``None``: all 1); several rows may then share one
    (item, worker) pair, a dependent group fitted as one worker
    (:func:`datafair.quality.dependence.group_answers`).
    """

    items: NDArray[Any]
    workers: NDArray[Any]
    classes: NDArray[Any]
    item_idx: IntArray
    worker_idx: IntArray
    label_idx: IntArray
    gold: IntArray
    weight: FloatArray | None = None

    @property
    def n_answers(self) -> int:
        return int(self.item_idx.shape[0])

    @property
    def n_items(self) -> int:
        return int(self.items.shape[0])

    @property
    def n_workers(self) -> int:
        return int(self.workers.shape[0])

    @property
    def n_classes(self) -> int:
        return int(self.classes.shape[0])


def as_column(values: ArrayLike | Sequence[Any], name: str) -> NDArray[Any]:
    """One answer column as a 1-d numpy array; rejects blank entries."""
    column = (
        values if isinstance(values, np.ndarray) else _list_column(list(values))  # type: ignore[arg-type]
    )
    if column.ndim != 1:
        raise InvalidInput(name, f"expected a flat column, got shape {column.shape}")
    blank = blank_mask(column)
    if blank.any():
        row = int(np.flatnonzero(blank)[0])
        raise InvalidInput(
            name,
            f"blank value in answer row {row} ({int(blank.sum())} blank in all)",
            "drop the row or give a value",
        )
    return column


def _list_column(seq: list[Any]) -> NDArray[Any]:
    """A list as an array without numpy's silent conversions (``[1, "a"]`` stays mixed)."""
    column = np.empty(len(seq), dtype=object)
    column[:] = seq
    types = {type(value) for value in seq}
    if types and types <= {str, np.str_}:
        return column.astype(str)
    if types and all(issubclass(t, (int, np.integer)) and t is not bool for t in types):
        return column.astype(np.int64)
    return column


def blank_mask(column: NDArray[Any]) -> NDArray[np.bool_]:
    """True where a value is missing: None, NaN, or a string that is empty after stripping."""
    kind = column.dtype.kind
    mask: NDArray[np.bool_]
    if kind in "iub":
        mask = np.zeros(column.shape, dtype=bool)
    elif kind == "f":
        mask = np.isnan(column)
    elif kind == "U":
        mask = np.asarray(np.char.str_len(np.char.strip(column)) == 0, dtype=bool)
    else:
        mask = np.fromiter(
            (_is_blank(value) for value in column), dtype=bool, count=column.shape[0]
        )
    return mask


def _is_blank(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, float):
        return bool(np.isnan(value))
    return False


DENSE_RANGE = 4
"""Integer columns whose values span at most this many times their length (plus
:data:`_DENSE_SLACK`) are encoded by counting instead of sorting."""

_DENSE_SLACK = 1 << 20


def unique_codes(column: NDArray[Any], name: str) -> tuple[NDArray[Any], IntArray]:
    """Sorted distinct values of ``column`` and the code of each row.

    Integer columns over a compact range (codes already assigned by a reader, ids) are encoded
    in linear time by counting (``np.bincount``); the result is the same as ``np.unique``'s.
    """
    if column.dtype.kind in "iu" and column.shape[0]:
        low, high = int(column.min()), int(column.max())
        if high - low <= DENSE_RANGE * column.shape[0] + _DENSE_SLACK:
            shifted = (column - low).astype(np.intp, copy=False)
            present = np.bincount(shifted, minlength=high - low + 1) > 0
            rank = np.cumsum(present, dtype=np.intp) - 1
            keys = (np.flatnonzero(present) + low).astype(column.dtype)
            return keys, rank[shifted]
    try:
        keys, codes = np.unique(column, return_inverse=True)
    except TypeError as failure:
        raise InvalidInput(
            name, f"values of different types cannot be ordered ({failure})", "use one type"
        ) from None
    return keys, codes.astype(np.intp, copy=False).reshape(-1)


def lookup(keys: NDArray[Any], values: NDArray[Any], name: str) -> IntArray:
    """Position of each of ``values`` in the sorted ``keys``, ``-1`` where absent."""
    if keys.shape[0] == 0 or values.shape[0] == 0:
        return np.full(values.shape[0], -1, dtype=np.intp)
    try:
        pos = np.searchsorted(keys, values)
    except TypeError as failure:
        raise InvalidInput(
            name, f"values do not match the type of the answers ({failure})", "use one type"
        ) from None
    pos = np.minimum(pos, keys.shape[0] - 1).astype(np.intp)
    found = keys[pos] == values
    return np.where(found, pos, -1).astype(np.intp)


def keep_last(item_idx: IntArray, worker_idx: IntArray, n_workers: int) -> IntArray:
    """Row indices to keep so that each (item, worker) pair keeps its last answer, in order."""
    # Answers grouped by item (files written item by item) are keyed by their run of one item
    # instead of its code, which names the same pairs: keys in runs of ascending order, which
    # timsort sorts about 3x faster than quicksort on 10M answers; otherwise quicksort.
    change = item_idx[1:] != item_idx[:-1]
    grouped = bool(item_idx.shape[0]) and int(change.sum()) + 1 == int(
        np.count_nonzero(np.bincount(item_idx))
    )
    items = np.concatenate([[0], np.cumsum(change)]) if grouped else item_idx
    key = items.astype(np.int64) * max(n_workers, 1) + worker_idx
    ordered = np.sort(key, kind="stable" if grouped else "quicksort")
    if ordered.shape[0] < 2 or bool((ordered[1:] != ordered[:-1]).all()):
        return np.arange(key.shape[0], dtype=np.intp)  # no repeated pair: every row stays
    _, first_in_reversed = np.unique(key[::-1], return_index=True)
    keep: IntArray = np.sort(key.shape[0] - 1 - first_in_reversed).astype(np.intp)
    return keep


def encode_answers(
    items: ArrayLike | Sequence[Any],
    workers: ArrayLike | Sequence[Any],
    labels: ArrayLike | Sequence[Any],
    *,
    gold: Mapping[Any, Any] | None = None,
    classes: Sequence[Any] | ArrayLike | None = None,
) -> EncodedAnswers:
    """Validate and encode categorical answers.

    Classes are ``classes`` in the given order when declared, otherwise the sorted distinct
    labels (and gold labels). Gold entries for items nobody answered are ignored.
    """
    item_col = as_column(items, "item")
    worker_col = as_column(workers, "worker")
    label_col = as_column(labels, "label")
    lengths = {item_col.shape[0], worker_col.shape[0], label_col.shape[0]}
    if len(lengths) != 1:
        raise InvalidInput(
            "answers",
            f"columns differ in length (items {item_col.shape[0]}, workers "
            f"{worker_col.shape[0]}, labels {label_col.shape[0]})",
            "pass one item, worker and label per answer",
        )
    gold_keys, gold_labels = _gold_columns(gold)

    if classes is not None:
        class_keys = as_column(classes, "classes")
        # return_counts: the plain call imports numpy.ma (10 ms) to ask whether it is masked
        distinct = np.unique(class_keys, return_counts=True)[0]
        if distinct.shape[0] != class_keys.shape[0]:
            raise InvalidInput("classes", "declared classes repeat a value", "list each once")
    else:
        observed = np.concatenate([label_col, gold_labels]) if gold_labels.shape[0] else label_col
        class_keys = unique_codes(observed, "label")[0]

    label_idx = _class_codes(class_keys, label_col, "label")
    item_keys, item_idx = unique_codes(item_col, "item")
    worker_keys, worker_idx = unique_codes(worker_col, "worker")

    keep = keep_last(item_idx, worker_idx, worker_keys.shape[0])
    if keep.shape[0] != item_idx.shape[0]:
        item_idx, worker_idx, label_idx = item_idx[keep], worker_idx[keep], label_idx[keep]

    gold_idx = np.full(item_keys.shape[0], -1, dtype=np.intp)
    if gold_keys.shape[0]:
        gold_class = _class_codes(class_keys, gold_labels, "gold")
        where = lookup(item_keys, gold_keys, "gold")
        answered = where >= 0
        gold_idx[where[answered]] = gold_class[answered]

    return EncodedAnswers(
        items=item_keys,
        workers=worker_keys,
        classes=class_keys,
        item_idx=item_idx,
        worker_idx=worker_idx,
        label_idx=label_idx,
        gold=gold_idx,
    )


def _gold_columns(gold: Mapping[Any, Any] | None) -> tuple[NDArray[Any], NDArray[Any]]:
    if not gold:
        empty = np.asarray([], dtype=object)
        return empty, empty
    keys = as_column(list(gold.keys()), "gold item")
    values = as_column(list(gold.values()), "gold label")
    return keys, values


def _class_codes(class_keys: NDArray[Any], values: NDArray[Any], name: str) -> IntArray:
    """Index of each value among the declared classes; unknown values are an error."""
    if values.shape[0] == 0:
        return np.zeros(0, dtype=np.intp)
    distinct, codes = unique_codes(values, name)
    order = np.argsort(class_keys, kind="stable")
    sorted_keys = class_keys[order]
    pos = lookup(sorted_keys, distinct, name)
    if (pos < 0).any():
        bad = distinct[pos < 0]
        shown = ", ".join(repr(_plain(v)) for v in bad[:3])
        raise InvalidInput(
            name,
            f"{shown} not among the classes [{', '.join(str(_plain(c)) for c in class_keys)}]",
            "fix the answer or declare the class",
        )
    mapped: IntArray = order[pos].astype(np.intp)
    return mapped[codes]


def _plain(value: object) -> object:
    return value.item() if isinstance(value, np.generic) else value
