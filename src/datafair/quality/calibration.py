"""Calibration measures of item posteriors.

``expected_calibration_error(probas, truth, bins=10)``: the expected calibration error of the
top-class confidence — confidences cut into ``bins`` equal-width bins, the gap between mean
confidence and accuracy in each bin weighted by its share of items (Naeini, Cooper & Hauskrecht,
AAAI 2015; Guo, Pleiss, Sun & Weinberger, "On Calibration of Modern Neural Networks", ICML 2017).
``probas`` is item × class, ``truth`` the true class index per item.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def expected_calibration_error(
    probas: NDArray[np.float64], truth: NDArray[np.int64], bins: int = 10
) -> float:
    """ECE of the top-class confidence over ``bins`` equal-width bins (module doc)."""
    if probas.shape[0] == 0:
        return 0.0
    confidence = probas.max(axis=1)
    correct = (probas.argmax(axis=1) == truth).astype(np.float64)
    which = np.minimum((confidence * bins).astype(np.int64), bins - 1)
    count = np.bincount(which, minlength=bins).astype(np.float64)
    gap = np.abs(
        np.bincount(which, weights=confidence, minlength=bins)
        - np.bincount(which, weights=correct, minlength=bins)
    )
    return float(gap.sum() / max(count.sum(), 1.0))
