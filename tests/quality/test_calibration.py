"""Expected calibration error."""

from __future__ import annotations

import numpy as np

from datafair.quality.calibration import expected_calibration_error


def test_perfect_and_overconfident_and_empty() -> None:
    # 10 items at confidence 0.8, 8 right: perfectly calibrated
    probas = np.tile([0.8, 0.2], (10, 1))
    truth = np.array([0] * 8 + [1] * 2)
    assert expected_calibration_error(probas, truth) < 1e-12
    # claims 0.95, right half the time: gap 0.45
    probas = np.tile([0.95, 0.05], (10, 1))
    truth = np.array([0, 1] * 5)
    assert abs(expected_calibration_error(probas, truth) - 0.45) < 1e-12
    assert expected_calibration_error(np.zeros((0, 2)), np.zeros(0, dtype=np.int64)) == 0.0


def test_bins_weigh_by_their_share() -> None:
    # 4 items at 0.55 (all right: gap 0.45), 6 at 1.0 (all right: gap 0): 0.4 · 0.45
    probas = np.array([[0.55, 0.45]] * 4 + [[1.0, 0.0]] * 6)
    truth = np.zeros(10, dtype=np.int64)
    assert abs(expected_calibration_error(probas, truth, bins=10) - 0.18) < 1e-12
