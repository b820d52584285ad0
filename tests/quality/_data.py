"""Shared test data: small synthetic crowds and the real label sets, if present."""

from __future__ import annotations

import csv
import os
from functools import cache
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from datafair.quality.synthetic import SyntheticCrowd, dawid_skene_crowd

CROWD_DATA = Path(
    os.environ.get(
        "DATAFAIR_CROWD_DATA",
        Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "crowd",
    )
)
"""The real sets: ``$DATAFAIR_CROWD_DATA``, else ``../shared/data/crowd`` beside the checkout."""


@cache
def small_crowd(seed: int = 0, n_classes: int = 3) -> SyntheticCrowd:
    """300 items, 20 workers, 5 answers per item, Dawid-Skene generated."""
    return dawid_skene_crowd(
        n_items=300, n_workers=20, n_classes=n_classes, answers_per_item=5, seed=seed
    )


def accuracy(labels: NDArray[np.int64], truth: NDArray[np.int64]) -> float:
    return float(np.mean(labels == truth))


def load_real(name: str) -> tuple[list[str], list[str], list[str], dict[str, str]]:
    """``(items, workers, labels, truth)`` of one real set in ../shared/data/crowd."""
    folder = CROWD_DATA / name
    with (folder / "answers.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    with (folder / "truth.csv").open(newline="") as handle:
        truth = {row["item"]: row["truth"] for row in csv.DictReader(handle)}
    return (
        [r["item"] for r in rows],
        [r["worker"] for r in rows],
        [r["label"] for r in rows],
        truth,
    )


def expected_calibration_error(probas: NDArray[np.float64], truth: NDArray[np.int64]) -> float:
    """ECE with 15 equal-width confidence bins (Guo et al., ICML 2017)."""
    confidence = probas.max(axis=1)
    correct = probas.argmax(axis=1) == truth
    bins = np.minimum((confidence * 15).astype(int), 14)
    error = 0.0
    for b in range(15):
        inside = bins == b
        if inside.any():
            error += inside.mean() * abs(confidence[inside].mean() - correct[inside].mean())
    return float(error)
