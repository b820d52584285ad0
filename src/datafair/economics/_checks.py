"""Input checks shared by the economics modules; each failure is an ``InvalidInput``."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from datafair.core.errors import InvalidInput

BPS = 10_000
"""Basis points in 100 %."""


def amount(value: object, field: str) -> int:
    """``value`` as a non-negative integer amount of token base units."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise InvalidInput(field, f"must be an integer in token base units, got {value!r}")
    result = int(value)
    if result < 0:
        raise InvalidInput(field, f"must not be negative, got {result}", "pass an amount >= 0")
    return result


def basis_points(value: object, field: str, maximum: int = BPS) -> int:
    """``value`` as an integer number of basis points in ``[0, maximum]``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise InvalidInput(field, f"must be an integer number of basis points, got {value!r}")
    result = int(value)
    if not 0 <= result <= maximum:
        raise InvalidInput(field, f"{result} is outside 0..{maximum}", f"pass 0..{maximum} bps")
    return result


def index_column(values: Any, field: str) -> NDArray[np.int64]:
    """A 1-D column of non-negative integer indices."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise InvalidInput(field, f"must be one-dimensional, got shape {array.shape}")
    if array.size == 0:
        return np.zeros(0, dtype=np.int64)
    if array.dtype == np.bool_ or not np.issubdtype(array.dtype, np.integer):
        raise InvalidInput(field, f"must hold integer indices, got dtype {array.dtype}")
    if int(array.min()) < 0:
        raise InvalidInput(field, "holds a negative index", "number rows from 0")
    return array.astype(np.int64)


def unit_column(values: Any, field: str) -> NDArray[np.float64]:
    """A 1-D column of finite numbers in ``[0, 1]`` (booleans read as 0 and 1)."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise InvalidInput(field, f"must be one-dimensional, got shape {array.shape}")
    if array.size and not (array.dtype == np.bool_ or np.issubdtype(array.dtype, np.number)):
        raise InvalidInput(field, f"must hold numbers, got dtype {array.dtype}")
    floats = array.astype(np.float64)
    if floats.size and not np.all(np.isfinite(floats)):
        raise InvalidInput(field, "holds a NaN or infinite value", "pass probabilities in [0, 1]")
    if floats.size and (floats.min() < 0.0 or floats.max() > 1.0):
        raise InvalidInput(field, "holds a value outside [0, 1]", "pass probabilities in [0, 1]")
    return floats


def flag_column(values: Any, field: str, length: int) -> NDArray[np.bool_]:
    """A 1-D boolean column of ``length`` rows; ``None`` means all false."""
    if values is None:
        return np.zeros(length, dtype=np.bool_)
    array = np.asarray(values)
    if array.ndim != 1:
        raise InvalidInput(field, f"must be one-dimensional, got shape {array.shape}")
    if array.size and array.dtype != np.bool_:
        raise InvalidInput(field, f"must hold booleans, got dtype {array.dtype}")
    if array.size != length:
        raise InvalidInput(field, f"has {array.size} rows, expected {length}", "align the columns")
    return array.astype(np.bool_)


def same_length(field: str, column: NDArray[Any], length: int) -> None:
    """Raise unless ``column`` has ``length`` rows."""
    if column.shape[0] != length:
        raise InvalidInput(
            field, f"has {column.shape[0]} rows, expected {length}", "align the columns"
        )
