"""Synthetic crowds with known truth, drawn from the Dawid-Skene generative model.

Pure and seeded (numpy ``default_rng``), vectorised so that ten million answers take seconds.
Used by tests, benchmarks and demos; never by inference code.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

IntArray = NDArray[np.int64]

HONEST, SPAMMER, ADVERSARY = 0, 1, 2
"""Worker kinds: answers follow a confusion matrix / uniform at random / one constant class."""


@dataclass(frozen=True, eq=False)
class SyntheticCrowd:
    """Answer columns (ints) plus the truth per item and the kind of each worker."""

    items: IntArray
    workers: IntArray
    labels: IntArray
    truth: IntArray
    kinds: IntArray
    confusion: NDArray[np.float64]


def dawid_skene_crowd(
    *,
    n_items: int,
    n_workers: int,
    n_classes: int,
    answers_per_item: int,
    seed: int = 0,
    accuracy: tuple[float, float] = (0.55, 0.95),
    spammer_share: float = 0.0,
    adversary_share: float = 0.0,
    activity_skew: float = 0.0,
    chunk: int = 1_000_000,
) -> SyntheticCrowd:
    """Draw a crowd.

    Honest workers get a confusion matrix whose diagonal is their accuracy (uniform in
    ``accuracy``, varied per class) and whose errors are spread by a Dirichlet(1) draw.
    ``activity_skew`` > 0 draws workers per answer from a Zipf-like popularity (most workers
    then give few answers); 0 draws them uniformly. Each item's workers are distinct
    (repeated draws are redrawn).
    """
    rng = np.random.default_rng(seed)
    k = n_classes
    truth = rng.integers(0, k, size=n_items)
    kinds = np.full(n_workers, HONEST, dtype=np.int64)
    draw = rng.random(n_workers)
    kinds[draw < spammer_share + adversary_share] = ADVERSARY
    kinds[draw < spammer_share] = SPAMMER

    acc = rng.uniform(accuracy[0], accuracy[1], size=(n_workers, 1))
    diag = np.clip(acc + rng.normal(0.0, 0.05, size=(n_workers, k)), 1.0 / k, 0.99)
    errors = rng.dirichlet(np.ones(max(k - 1, 1)), size=(n_workers, k))
    confusion = np.zeros((n_workers, k, k))
    for c in range(k):
        others = [j for j in range(k) if j != c]
        confusion[:, c, c] = diag[:, c]
        if others:
            confusion[:, c, others] = errors[:, c, : len(others)] * (1.0 - diag[:, c : c + 1])
    confusion[kinds == SPAMMER] = 1.0 / k
    constant = rng.integers(0, k, size=n_workers)
    adversaries = np.flatnonzero(kinds == ADVERSARY)
    confusion[adversaries] = 0.0
    confusion[adversaries, :, constant[adversaries]] = 1.0

    n = n_items * answers_per_item
    items = np.repeat(np.arange(n_items, dtype=np.int64), answers_per_item)
    if activity_skew > 0:
        weight = 1.0 / np.arange(1, n_workers + 1) ** activity_skew
        weight = weight[rng.permutation(n_workers)]
        probability = weight / weight.sum()

        def pick(size: int) -> IntArray:
            return rng.choice(n_workers, size=size, p=probability).astype(np.int64)
    else:

        def pick(size: int) -> IntArray:
            return rng.integers(0, n_workers, size=size)

    workers = pick(n)
    if answers_per_item <= n_workers:
        for _ in range(1000):  # redraw repeated (item, worker) pairs until none is left
            repeated = _repeated(items * n_workers + workers)
            if not repeated.any():
                break
            workers[repeated] = pick(int(repeated.sum()))
    cumulative = np.cumsum(confusion, axis=2)
    cumulative[:, :, -1] = 1.0
    labels = np.empty(n, dtype=np.int64)
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        rows = cumulative[workers[start:stop], truth[items[start:stop]]]
        u = rng.random(stop - start)[:, None]
        labels[start:stop] = (u > rows).sum(axis=1)
    return SyntheticCrowd(items, workers, labels, truth, kinds, confusion)


def _repeated(keys: IntArray) -> NDArray[np.bool_]:
    """True for every occurrence of a key after its first."""
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    repeated = np.zeros(keys.shape[0], dtype=bool)
    repeated[order[1:]] = ordered[1:] == ordered[:-1]
    return repeated
