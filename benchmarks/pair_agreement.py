"""How far honest pairs of annotators agree beyond independence, against partial copiers.

Run by hand: ``python benchmarks/pair_agreement.py``. Prints one table.

For every pair of workers sharing at least ``MIN_SHARED`` items with a known true label, the
disagreements ``D`` are set against those that independence given the truth implies,
``E[D] = Σ_i (1 − Σ_k π_a[t_i, k] π_b[t_i, k])``, with each worker's confusion ``π`` counted
against the truth itself (plus half an answer per cell): the most favourable reference any
dependence test could have. The ratio ``E[D] / D`` (``D`` counted as 1/2 when a pair never
disagrees) is what a copy test's margin must exceed to group a pair. Rows: the six real sets
(``$DATAFAIR_CROWD_DATA``, default ``../shared/data/crowd``; skipped when absent), and three
seeds of the economics benchmark's ``copiers-2-partial-80`` crowd, split into the copier pairs
(a copier with its source or the other copier) and the honest pairs. docs/economics.md §9.2
quotes this table.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from datafair.quality._encode import encode_answers
from datafair.sim.adversaries import Role, copier_crowd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality import REAL, load_real, print_table

MIN_SHARED = 30
"""Pairs sharing fewer items with a known truth are left out."""


def pair_ratios(
    item: NDArray[np.intp],
    worker: NDArray[np.intp],
    label: NDArray[np.intp],
    truth: NDArray[np.intp],
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.float64], NDArray[np.intp]]:
    """Pairs ``(a, b)`` sharing at least :data:`MIN_SHARED` items with ``truth ≥ 0``, their
    ratio ``E[D] / D`` and shared items (codes: dense item, worker and label indices)."""
    known = truth[item] >= 0
    item, worker, label = item[known], worker[known], label[known]
    n_workers, k = int(worker.max()) + 1, int(max(label.max(), truth.max())) + 1
    counts = np.full((n_workers, k, k), 0.5)
    np.add.at(counts, (worker, truth[item], label), 1.0)
    confusion = counts / counts.sum(axis=2, keepdims=True)
    order = np.lexsort((worker, item))
    item, worker, label = item[order], worker[order], label[order]
    firsts, seconds = [], []
    for offset in range(1, int(np.bincount(item).max())):
        # answers `offset` places apart on one item (sorted by item, then worker: a < b)
        left = np.flatnonzero(item[:-offset] == item[offset:])
        firsts.append(left)
        seconds.append(left + offset)
    first, second = np.concatenate(firsts), np.concatenate(seconds)
    a, b = worker[first], worker[second]
    t = truth[item[first]]
    agree_chance = (confusion[a, t] * confusion[b, t]).sum(axis=1)
    key = a.astype(np.int64) * n_workers + b
    pairs, at, shared = np.unique(key, return_inverse=True, return_counts=True)
    disagreed = np.bincount(at, weights=label[first] != label[second])
    expected = np.bincount(at, weights=1.0 - agree_chance)
    kept = shared >= MIN_SHARED
    ratio = expected[kept] / np.maximum(disagreed[kept], 0.5)
    return pairs[kept] // n_workers, pairs[kept] % n_workers, ratio, shared[kept]


def _summary(name: str, ratio: NDArray[np.float64], shared: NDArray[np.intp]) -> tuple[str, ...]:
    if ratio.shape[0] == 0:
        return (name, "0", "", "", "", "", "")
    top = int(np.argmax(ratio))
    return (
        name,
        f"{ratio.shape[0]}",
        f"{np.median(ratio):.2f}",
        f"{np.percentile(ratio, 90):.2f}",
        f"{np.percentile(ratio, 99):.2f}",
        f"{ratio[top]:.2f}",
        f"{shared[top]}",
    )


def main() -> None:
    rows = []
    for name in REAL:
        real = load_real(name)
        if real is None:
            continue
        frame, truth = real
        data = encode_answers(*(frame[c].to_numpy() for c in ("item", "worker", "label")))
        code = {c: j for j, c in enumerate(data.classes.tolist())}
        true = np.array([code.get(truth.get(i, ""), -1) for i in data.items.tolist()])
        _, _, ratio, shared = pair_ratios(data.item_idx, data.worker_idx, data.label_idx, true)
        rows.append(_summary(name, ratio, shared))
    copiers: list[NDArray[np.float64]] = []
    honest: list[NDArray[np.float64]] = []
    copier_shared: list[NDArray[np.intp]] = []
    honest_shared: list[NDArray[np.intp]] = []
    for seed in range(3):
        crowd = copier_crowd(seed, 1500, n_copiers=2, copy_share=0.8)
        a, b, ratio, shared = pair_ratios(
            crowd.item.astype(np.intp),
            crowd.contributor.astype(np.intp),
            crowd.answer.astype(np.intp),
            crowd.truth.astype(np.intp),
        )
        involved = np.array([r == Role.COPIER for r in crowd.roles] + [False])
        involved[crowd.original if crowd.original is not None else -1] = True
        copying = involved[a] & involved[b]
        copiers.append(ratio[copying])
        copier_shared.append(shared[copying])
        honest.append(ratio[~involved[a] & ~involved[b]])
        honest_shared.append(shared[~involved[a] & ~involved[b]])
    rows.append(
        _summary(
            "copiers-2-partial-80: copier pairs",
            np.concatenate(copiers),
            np.concatenate(copier_shared),
        )
    )
    rows.append(
        _summary(
            "copiers-2-partial-80: honest pairs",
            np.concatenate(honest),
            np.concatenate(honest_shared),
        )
    )
    print_table(
        f"Disagreements expected under independence given the truth over those seen, E[D] / D "
        f"(pairs sharing ≥ {MIN_SHARED} items with a known truth)",
        ("crowd", "pairs", "median", "90th pct", "99th pct", "max", "max's shared items"),
        rows,
    )


if __name__ == "__main__":
    main()
