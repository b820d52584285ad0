"""Peer prediction: the correlated agreement (CA) mechanism of Shnayder, Agarwal, Frongillo and
Parkes, "Informed Truthfulness in Multi-Task Peer Prediction" (EC 2016).

Pay without ground truth: a report is scored against a peer's report on the same item (the
*bonus* task) minus the agreement of two reports on *distinct* items (the *penalty* tasks):

    score = S[r_p(b), r_q(b)] - S[r_p(t1), r_q(t2)],    b, t1, t2 pairwise distinct,

where ``S[i, j] = 1`` when the signals ``i`` and ``j`` are positively correlated,
``Delta[i, j] = P(i, j) - P(i) P(j) > 0``, and 0 otherwise. A report that carries no
information about the item (always the majority class, a fixed pattern, random answers) agrees
with the peer on the bonus task exactly as often as on unrelated penalty tasks, so its expected
score is 0; truthful informed reports score ``sum of the positive Delta`` per draw.

``Delta`` is estimated from the reports themselves (the paper's detail-free variant): ``P(i, j)``
from every ordered pair of answers by two contributors on one item, ``P(i)`` from its margins.
The sign is computed in integers (``N * M[i, j] - m_i * m_j``), so it is exact.

With two classes of prior ``pi_0, pi_1``, zero expected score for every constant report forces
``pi_0 g(x, 0) + pi_1 g(x, 1) = 0`` (``g(x, y)``: the expected score of report ``x`` on an item
of class ``y``), so a right rare answer is worth ``pi_common / pi_rare`` right common ones and
pay follows informedness (balanced accuracy), not the share of right answers, under this or
any other score with that property (docs/economics.md, section 9.1). Weighing agreement by
``1 / prior`` of the answer (the peer truth serum of Radanovic, Faltings and Jurca, ACM TIST
7(4), 2016) was measured to rank honest workers worse on 80/20 data and is not used.

Pairing is deterministic: for each answer and draw, the peer and the penalty tasks are chosen
by a SplitMix64 hash of ``(seed, item, contributor, draw)`` (Steele, Lea & Flood, "Fast
splittable pseudorandom number generators", OOPSLA 2014), independent of row order and of the
numpy version. A draw without a valid peer or penalty pair (item answered once, contributor with
one answer) is skipped.

Pay: each contributor's scores are summed over answers and draws into ``T``; the pay weight is
the part of ``T`` beyond ``margin`` standard errors, ``max(T - margin * sqrt(sum over answers of
the squared score of the answer's draws), 0)`` (integer square root, so exact; an answer's draws
share its report, so the answers are the independent units of the spread), and the ``pool`` is
split in proportion by the largest-remainder rule. For an uninformative contributor ``T`` is a
zero-mean walk whose spread is estimated by the root of the summed squares; withholding
``margin`` (default 2) standard errors pays such a contributor only when their luck exceeds two
standard errors (about 2 % of the time) and then little, while an informed contributor's ``T``
grows like ``n`` and the deduction like ``sqrt(n)``. ``margin=0`` is the plain mechanism (scores
clipped at zero). Clipping the *sum* rather than each score keeps the expected pay of uninformed
reports near zero. Unlike :mod:`datafair.economics.rewards`, this mechanism spends the whole
pool whenever any weight is positive; nothing is paid when every weight is zero.

Dependent groups (copiers, rings; :mod:`datafair.quality.dependence`) would otherwise be each
other's peers and score on every bonus task; with ``group`` given, a group is scored as one
contributor (its lowest member's answer on each item stands for the group) and its pay is split
among its members in proportion to their answers, so together they earn what one contributor
would.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from datafair.core.errors import InvalidInput
from datafair.economics._checks import amount, index_column, same_length
from datafair.economics.apportion import apportion

DEFAULT_DRAWS = 16
"""Bonus/penalty draws per answer: more draws, less variance, same expectation (16 draws
average over every peer of a k = 5 item several times; 4 left honest workers' pay too noisy
to rank them by accuracy, Spearman 0.55-0.91 in the adversarial benchmark)."""

DEFAULT_MARGIN = 2
"""Standard errors withheld from each contributor's summed score before pay (see module)."""

_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15


def _splitmix(state: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """The SplitMix64 output function applied to ``state + golden gamma`` (wrapping)."""
    z = state + np.uint64(_GOLDEN)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    result: NDArray[np.uint64] = z ^ (z >> np.uint64(31))
    return result


def _hash(seed: int, *parts: NDArray[np.int64] | int) -> NDArray[np.uint64]:
    """A 64-bit hash of ``seed`` and integer columns, chained through SplitMix64."""
    state = _splitmix(np.array([seed & _MASK], dtype=np.uint64))
    for part in parts:
        state = _splitmix(state ^ np.asarray(part).astype(np.uint64))
    return state


def score_matrix(
    items: NDArray[np.int64], labels: NDArray[np.int64], n_classes: int
) -> NDArray[np.int64]:
    """The CA score matrix ``S[i, j] = 1 if Delta[i, j] > 0 else 0`` estimated from reports.

    ``items`` are dense item indices (``0..n_items-1``) and ``labels`` class indices, one row
    per answer. Pairs of answers on one item are counted in both orders.
    """
    n_items = int(items.max()) + 1 if items.size else 0
    per_item = np.zeros((n_items, n_classes), dtype=np.int64)
    np.add.at(per_item, (items, labels), 1)
    pairs = per_item.T @ per_item - np.diag(per_item.sum(axis=0))
    pair_list = [[int(value) for value in row] for row in pairs.tolist()]
    margins = [sum(row) for row in pair_list]
    n_pairs = sum(margins)
    signs = [
        [
            1 if n_pairs * pair_list[i][j] - margins[i] * margins[j] > 0 else 0
            for j in range(n_classes)
        ]
        for i in range(n_classes)
    ]
    return np.array(signs, dtype=np.int64).reshape(n_classes, n_classes)


@dataclass(frozen=True)
class PeerPredictionResult:
    """CA scores and pay per contributor index (sorted, every contributor that appears).

    ``scores`` are the summed integer scores (may be negative), ``draws`` the number of scored
    draws, ``weights`` the pay weights after the margin, ``amounts`` the integer pay;
    ``earned + unearned == pool``.
    """

    score_matrix: tuple[tuple[int, ...], ...]
    scores: dict[int, int]
    draws: dict[int, int]
    weights: dict[int, int]
    amounts: dict[int, int]
    pool: int
    earned: int
    unearned: int

    def mean_score(self, contributor: int) -> float:
        """Average score per scored draw (0.0 when none was scored); not used for pay."""
        draws = self.draws[contributor]
        return self.scores[contributor] / draws if draws else 0.0


def _columns(
    item: ArrayLike, contributor: ArrayLike, label: ArrayLike, n_classes: int
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    if isinstance(n_classes, bool) or not isinstance(n_classes, int) or n_classes < 2:
        raise InvalidInput("n_classes", f"must be an integer >= 2, got {n_classes!r}")
    items = index_column(item, "item")
    contributors = index_column(contributor, "contributor")
    labels = index_column(label, "label")
    same_length("contributor", contributors, items.shape[0])
    same_length("label", labels, items.shape[0])
    if labels.size and int(labels.max()) >= n_classes:
        raise InvalidInput(
            "label", f"holds a class >= n_classes ({n_classes})", "use 0-based classes"
        )
    if items.size:
        width = int(contributors.max()) + 1
        if int(items.max()) * width + width < 2**63:
            pairs = np.sort(items * width + contributors)
            repeated = bool(np.any(pairs[1:] == pairs[:-1]))
        else:
            pairs2d = np.stack([items, contributors], axis=1)
            repeated = np.unique(pairs2d, axis=0).shape[0] != items.size
        if repeated:
            raise InvalidInput("contributor", "answers one item twice", "keep one answer per pair")
    return items, contributors, labels


def peer_prediction_rewards(
    item: ArrayLike,
    contributor: ArrayLike,
    label: ArrayLike,
    *,
    n_classes: int,
    pool: int,
    seed: int = 0,
    draws: int = DEFAULT_DRAWS,
    margin: int = DEFAULT_MARGIN,
    group: ArrayLike | None = None,
) -> PeerPredictionResult:
    """Pay ``pool`` base units by correlated-agreement scores (see the module docstring).

    Columns: one row per answer with integer ``item`` and ``contributor`` indices and a class
    index ``label`` in ``0..n_classes-1``; at most one answer per (item, contributor). ``seed``
    (any non-negative integer, e.g. from the epoch) fixes the pairing; ``draws`` >= 1;
    ``margin`` >= 0 standard errors are withheld from each summed score before pay. ``group``
    (one integer per row, ``-1``: independent) scores each dependent group as one contributor.
    """
    if group is not None:
        return _grouped_rewards(
            item,
            contributor,
            label,
            group,
            n_classes=n_classes,
            pool=pool,
            seed=seed,
            draws=draws,
            margin=margin,
        )
    pool = amount(pool, "pool")
    if isinstance(draws, bool) or not isinstance(draws, int) or draws < 1:
        raise InvalidInput("draws", f"must be an integer >= 1, got {draws!r}")
    if isinstance(margin, bool) or not isinstance(margin, int) or margin < 0:
        raise InvalidInput("margin", f"must be an integer >= 0, got {margin!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InvalidInput("seed", f"must be a non-negative integer, got {seed!r}")
    raw_items, raw_contributors, raw_labels = _columns(item, contributor, label, n_classes)
    # Canonical order: by (item, contributor); row order of the input never matters.
    order = np.lexsort((raw_contributors, raw_items))
    items, contributors, labels = raw_items[order], raw_contributors[order], raw_labels[order]
    unique_items, item_dense = np.unique(items, return_inverse=True)
    unique_workers, worker_dense = np.unique(contributors, return_inverse=True)
    n_rows, n_items = items.shape[0], unique_items.shape[0]
    signs = score_matrix(item_dense.astype(np.int64), labels, n_classes)

    rows = np.arange(n_rows, dtype=np.int64)
    item_count = np.bincount(item_dense, minlength=n_items)
    item_start = np.concatenate([[0], np.cumsum(item_count)[:-1]]).astype(np.int64)
    item_local = rows - item_start[item_dense]
    # Rows again, grouped by contributor (then item): each contributor's answers are a block.
    by_worker = np.lexsort((item_dense, worker_dense))
    worker_rank = np.empty(n_rows, dtype=np.int64)
    worker_rank[by_worker] = rows
    worker_count = np.bincount(worker_dense, minlength=unique_workers.shape[0])
    worker_start = np.concatenate([[0], np.cumsum(worker_count)[:-1]]).astype(np.int64)
    pair_keys = worker_dense[by_worker].astype(np.int64) * n_items + item_dense[by_worker]

    total = np.zeros(unique_workers.shape[0], dtype=np.int64)
    scored = np.zeros(unique_workers.shape[0], dtype=np.int64)
    per_answer = np.zeros(n_rows, dtype=np.int64)  # one answer's score summed over draws
    for draw in range(draws):
        h_peer, h_other, h_own = (
            _hash(seed, items, contributors, draw, role) for role in (1, 2, 3)
        )
        # Bonus task: a peer on the same item, any of the other (m - 1) answers.
        m = item_count[item_dense]
        ok = m >= 2
        step = 1 + (h_peer % np.maximum(m - 1, 1).astype(np.uint64)).astype(np.int64)
        peer = item_start[item_dense] + (item_local + step) % m
        q = worker_dense[peer]
        # Peer's penalty task t2: another answer of the peer, not on the bonus item.
        n_q = worker_count[q]
        ok &= n_q >= 2
        local_qb = worker_rank[peer] - worker_start[q]
        pick = (h_other % np.maximum(n_q - 1, 1).astype(np.uint64)).astype(np.int64)
        pick += pick >= local_qb
        t2 = by_worker[np.minimum(worker_start[q] + pick, n_rows - 1)]
        # Own penalty task t1: another answer, on neither the bonus item nor t2's item.
        p = worker_dense
        n_p = worker_count[p]
        local_pb = worker_rank - worker_start[p]
        key_t2 = p.astype(np.int64) * n_items + item_dense[t2]
        found = np.minimum(np.searchsorted(pair_keys, key_t2), n_rows - 1)
        has_t2 = pair_keys[found] == key_t2
        local_pt2 = np.where(has_t2, found - worker_start[p], n_rows)
        room = n_p - 1 - has_t2
        ok &= room >= 1
        pick = (h_own % np.maximum(room, 1).astype(np.uint64)).astype(np.int64)
        low, high = np.minimum(local_pb, local_pt2), np.maximum(local_pb, local_pt2)
        pick += pick >= low
        pick += pick >= high
        t1 = by_worker[np.minimum(worker_start[p] + pick, n_rows - 1)]
        score = signs[labels, labels[peer]] - signs[labels[t1], labels[t2]]
        np.add.at(total, p[ok], score[ok])
        np.add.at(scored, p[ok], 1)
        per_answer += np.where(ok, score, 0)
    # the draws of one answer share its report: the answers, not the draws, are the
    # independent units whose spread the margin measures
    squares = np.zeros(unique_workers.shape[0], dtype=np.int64)
    np.add.at(squares, worker_dense, per_answer**2)

    weights = [
        max(int(value) - math.isqrt(margin * margin * int(square)), 0)
        for value, square in zip(total.tolist(), squares.tolist(), strict=True)
    ]
    pay = apportion(pool, weights)
    keys = [int(key) for key in unique_workers.tolist()]
    earned = sum(pay)
    return PeerPredictionResult(
        score_matrix=tuple(tuple(int(v) for v in row) for row in signs.tolist()),
        scores=dict(zip(keys, (int(v) for v in total.tolist()), strict=True)),
        draws=dict(zip(keys, (int(v) for v in scored.tolist()), strict=True)),
        weights=dict(zip(keys, weights, strict=True)),
        amounts=dict(zip(keys, pay, strict=True)),
        pool=pool,
        earned=earned,
        unearned=pool - earned,
    )


def _grouped_rewards(
    item: ArrayLike,
    contributor: ArrayLike,
    label: ArrayLike,
    group: ArrayLike,
    **settings: int,
) -> PeerPredictionResult:
    """CA pay with each dependent group scored as its lowest member (module doc)."""
    items, contributors, labels = _columns(item, contributor, label, settings["n_classes"])
    groups = np.asarray(group)
    if groups.shape != items.shape or (groups.size and groups.dtype.kind not in "iu"):
        raise InvalidInput("group", f"must be {items.shape[0]} integers (-1: no group)")
    groups = groups.astype(np.int64)
    owner = contributors.copy()
    grouped = groups >= 0
    if grouped.any():
        lowest = np.full(int(groups.max()) + 1, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(lowest, groups[grouped], contributors[grouped])
        owner[grouped] = lowest[groups[grouped]]
    # one row per (item, owner): the lowest contributor's answer stands for the group
    order = np.lexsort((contributors, owner, items))
    first = np.ones(order.shape[0], dtype=bool)
    first[1:] = (items[order][1:] != items[order][:-1]) | (owner[order][1:] != owner[order][:-1])
    keep = order[first]
    inner = peer_prediction_rewards(items[keep], owner[keep], labels[keep], **settings)
    keys = sorted(set(contributors.tolist()))
    answers = dict(zip(*np.unique(contributors, return_counts=True), strict=True))
    amounts: dict[int, int] = {key: 0 for key in keys}
    for head, paid in inner.amounts.items():
        members = sorted(set(contributors[owner == head].tolist()))
        split = apportion(paid, [int(answers[m]) for m in members])
        amounts.update(zip(members, split, strict=True))
    head_of = {int(c): int(o) for c, o in zip(contributors.tolist(), owner.tolist(), strict=True)}
    return PeerPredictionResult(
        score_matrix=inner.score_matrix,
        scores={key: inner.scores[head_of[key]] for key in keys},
        draws={key: inner.draws[head_of[key]] for key in keys},
        weights={key: inner.weights[head_of[key]] for key in keys},
        amounts=amounts,
        pool=inner.pool,
        earned=inner.earned,
        unearned=inner.unearned,
    )
