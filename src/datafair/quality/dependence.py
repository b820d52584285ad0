"""Dependence between contributors: who copies whom, which wallets vote as a ring.

Input: encoded answers (item, worker, label; :mod:`datafair.quality._encode`) and one or more
*references*, each a pair of item posteriors ``T[i, c]`` and worker confusion matrices
``π_w[c, k]`` from a fitted model.

**Test.** Two contributors who answer independently given the truth agree on a *wrong* answer
only as often as their confusion matrices allow; agreement on false values is the signature of
copying (Dong, Berti-Equille & Srivastava, "Integrating conflicting data: the role of source
dependence", VLDB 2009). For every pair ``(a, b)`` with at least :data:`MIN_SHARED` shared
items, with ``ĉ_i`` the reference's most probable class of item ``i``:

* observed ``X_ab`` = shared items where ``a`` and ``b`` gave the same answer ``k ≠ ĉ_i``;
* expected ``E_ab = Σ_i Σ_c T[i, c] Σ_{k ≠ ĉ_i} π_a[c, k] π_b[c, k]`` under independence;
* p-value ``P(Poisson(RATIO · E_ab + 1/2) ≥ X_ab)``: the Poisson tail is at least as heavy as the
  Poisson-binomial one of independent items (Hoeffding 1956), and the margin :data:`RATIO`
  (plus half an agreement) asks for agreement several times what independence allows, so the
  item-difficulty correlation of honest crowds is not mistaken for copying;
* and, for copies that capture the posterior (their wrong answers then look right), the lower
  tail of their *disagreements* ``D_ab`` under the first reference (the fitted model, whose
  confusions are not inflated by the vote's own errors): ``P(Poisson(E[D_ab] / COPY_RATIO) ≤
  D_ab)`` with
  ``E[D_ab] = shared − Σ_i Σ_c T[i, c] Σ_k π_a[c, k] π_b[c, k]``. The pair's p-value is twice
  the smaller of the two (Bonferroni over the two statistics).

Every pair is one hypothesis per reference; the Benjamini-Hochberg step-up rule at level
:data:`ALPHA` over all of them decides which pairs are dependent (Benjamini & Hochberg, JRSS B
1995; under the global null of an honest crowd it bounds the chance of any false pair by
``ALPHA``). Using two references — the fitted model and majority vote — keeps the test working
when a large ring has captured the model's posterior (its members then never look wrong to the
model, but do to the vote).

**Clusters that capture every reference.** Both references above are shaped by the answers
they judge: three copies of one worker out of ``k = 5`` answers, or a ring holding 40 % of the
wallets, *are* the posterior and the vote on their items, so their answers never look wrong and
their confusions look perfect. The third test therefore judges a suspected cluster against a
reference that counts it as one voice, i.e. by third parties (the leave-cluster-out idea of
Dong et al.'s copy detection, where dependence is judged by how sources relate to the others):

* *screen*: pairs with at least :data:`MIN_SHARED` shared items that disagree on at most
  :data:`SCREEN_DISAGREE` of them; the screen's connected components are the candidate
  clusters, except those that gave more than half of all answers (they are the crowd: too few
  third parties to judge them by);
* *reference*: a Dawid-Skene fit (a few EM rounds from the vote, on the items candidate
  members answered) in which each candidate cluster's answers on an item weigh one vote; a
  cluster's members share one confusion ``π_g``, that of the cluster fitted as one worker;
* *test*, per candidate member ``m``: on each item ``i`` where ``m`` and ``n_i − 1 ≥ 1`` other
  members answered, independent members of confusion ``π_g`` would all give the same answer with
  probability ``P_i = Σ_c T[i, c] Σ_k π_g[c, k]^{n_i}``; ``m``'s disagreements with the rest
  of its cluster ``D_m`` (items where not all gave ``m``'s answer) against
  ``E[D_m] = Σ_i (1 − P_i)``: ``P(Poisson(E[D_m] / COPY_RATIO) ≤ D_m)``, Benjamini-Hochberg
  over the tested members. Members who pass stay in their cluster (and are joined along the
  screen's pairs between them); honest workers who merely agree a lot are judged against their
  own measured confusion and stay independent.

**Groups** are the connected components of the dependent pairs. Each contributor's score is
``1 − p`` of their strongest pair (adjusted), with that pair's evidence (partner, shared items,
agreements on wrong answers, expected under independence) — or, when the cluster test speaks
louder, the agreements with the rest of the cluster and their expectation (``by_cluster``).

**Computation.** Shared items are the co-occurrence matrix ``B · Bᵀ`` of the worker × item
incidence ``B``, counted from the pairs of answers on one item in bands of lower workers (dense
count tables of at most :data:`PAIR_TABLE` cells, or sorted keys when many workers share few
items: :data:`DENSE_CELLS`); the same pass counts each pair's agreements, and those on a class
each reference rejects. The expectations factorise over items: with
``G_ab[k, c]`` the sum of ``T[i, c]`` over the shared items whose reference class is ``k``,
``E_ab = Σ_{k, c} G_ab[k, c] Σ_{k' ≠ k} π_a[c, k'] π_b[c, k']``, so each answer pair of a tested
pair adds ``K`` numbers per reference (``B · diag(T[:, c] · 1[ĉ = k]) · Bᵀ`` restricted to the
tested pairs), and the ``(pairs, K, K)`` contraction with the confusions is dense. Answers are
paired once for all references, one band of lower workers at a time (:data:`BAND_CELLS`), in
blocks (:data:`PAIR_CHUNK`), and only among workers of some tested pair, so memory stays
bounded; every sum is taken in a fixed order, so a run is reproducible bit for bit (the floating
sums depend on the block size only through that order). Every p-value only grows with the
expectations, so the counts alone bound it from below; pairs whose bounds are all above the
level are left at them, without expectations (:func:`_pair_tests`): no decision depends on them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from datafair.quality._em import (
    answer_matrix,
    clamp_gold,
    item_log_likelihood,
    normalise_log,
    soft_counts,
    vote_shares,
)
from datafair.quality._encode import EncodedAnswers
from datafair.quality._special import pdtr, pdtrc
from datafair.quality.gold_bounds import answers_where

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]
Codes = NDArray[np.signedinteger[Any]]

MIN_SHARED = 8
"""Pairs sharing fewer items are not tested."""

RATIO = 1.5
"""Agreement on wrong answers must exceed this multiple of the independent expectation."""

COPY_RATIO = 3.0
"""Disagreements must fall below this fraction of the independent expectation (copy test)."""

SCREEN_DISAGREE = 0.05
"""Pairs disagreeing on at most this share of their shared items are candidate clusters."""

ALPHA = 0.01
"""False discovery rate of the Benjamini-Hochberg rule over every tested pair."""

Reference = tuple[FloatArray, FloatArray]
"""Item posteriors ``[i, c]`` and worker confusion ``[w, c, k]`` of one fitted model."""


@dataclass(frozen=True, eq=False)
class Dependence:
    """Per-worker outcome of :func:`detect_dependence` (arrays aligned with the workers).

    ``group`` is the worker's group (``-1``: independent; groups numbered from 0 in the order of
    their lowest worker index); ``score`` is ``1 − p`` of the worker's strongest pair (0 when
    none was tested); ``partner``, ``shared``, ``agree_wrong``, ``expected`` and ``p_value``
    are that pair's evidence (``partner = -1``, ``p_value = 1`` when none; ``expected`` is NaN
    when that pair's counts alone kept it above ``alpha``, so it was not computed, and
    ``p_value`` is then the bound its counts give, still above ``alpha``). ``pair_a`` and
    ``pair_b`` list the dependent pairs (``pair_a < pair_b``, ascending). ``by_cluster`` marks
    workers whose evidence is the cluster test (module doc): then ``shared`` counts the items
    they share with the rest of their cluster, ``agree_wrong`` the items where all members gave
    the same answer and ``expected`` that number under independence.
    """

    group: IntArray
    score: FloatArray
    partner: IntArray
    shared: IntArray
    agree_wrong: IntArray
    expected: FloatArray
    p_value: FloatArray
    tested_pairs: int
    pair_a: IntArray
    pair_b: IntArray
    by_cluster: NDArray[np.bool_]

    @property
    def n_groups(self) -> int:
        return int(self.group.max()) + 1 if self.group.shape[0] else 0

    def members(self, group: int) -> IntArray:
        """Worker indices of ``group``."""
        found: IntArray = np.flatnonzero(self.group == group).astype(np.intp)
        return found


def no_dependence(n_workers: int) -> Dependence:
    """The outcome when nothing is tested (no answers, or detection switched off)."""
    return Dependence(
        group=np.full(n_workers, -1, dtype=np.intp),
        score=np.zeros(n_workers),
        partner=np.full(n_workers, -1, dtype=np.intp),
        shared=np.zeros(n_workers, dtype=np.intp),
        agree_wrong=np.zeros(n_workers, dtype=np.intp),
        expected=np.zeros(n_workers),
        p_value=np.ones(n_workers),
        tested_pairs=0,
        pair_a=np.zeros(0, dtype=np.intp),
        pair_b=np.zeros(0, dtype=np.intp),
        by_cluster=np.zeros(n_workers, dtype=bool),
    )


def _poisson_sf(k: ArrayLike, mu: ArrayLike) -> FloatArray:
    """``P(Poisson(mu) > k)``, as ``scipy.stats.poisson.sf`` gives it (1 for ``k < 0``), from the
    regularised incomplete gamma function (:func:`datafair.quality._special.pdtrc`)."""
    k, mu = np.broadcast_arrays(np.asarray(k, dtype=np.float64), np.asarray(mu, dtype=np.float64))
    tail = np.ones(k.shape)
    counted = k >= 0  # most pairs of an honest crowd share no wrong answer: no tail to compute
    tail[counted] = pdtrc(k[counted], mu[counted])
    return tail


def _poisson_cdf(k: ArrayLike, mu: ArrayLike) -> FloatArray:
    """``P(Poisson(mu) ≤ k)``, as ``scipy.stats.poisson.cdf`` gives it (0 for ``k < 0``), from
    :func:`datafair.quality._special.pdtr`."""
    k, mu = np.broadcast_arrays(np.asarray(k, dtype=np.float64), np.asarray(mu, dtype=np.float64))
    head = np.zeros(k.shape)
    counted = k >= 0
    head[counted] = pdtr(k[counted], mu[counted])
    return head


def _pair_values(matrix: Any, a: IntArray, b: IntArray) -> FloatArray:
    """``matrix[a, b]`` as a flat array (through a dense copy when the matrix is small)."""
    if matrix.shape[0] * matrix.shape[1] <= 4_000_000:
        dense: FloatArray = matrix.toarray()[a, b]
        return dense
    values: FloatArray = np.asarray(matrix[a, b], dtype=np.float64).reshape(-1)
    return values


PAIR_TABLE = 1 << 21
"""Cells of a dense count or index table over worker pairs: shared items are counted in bands
of lower workers with ``band × workers ≤ PAIR_TABLE``; when ``involved²`` (the workers of some
tested pair) is at most this, each answer pair's tested pair is found in a dense table, above
by a sorted search."""

PAIR_CHUNK = 1 << 21
"""Answer pairs per block (bounds the memory of the pairing)."""

DENSE_CELLS = 8
"""Shared items are counted in dense ``workers²`` tables (in bands) up to this many cells per
answer pair; above, many workers share few items and worker pairs are counted by sorting."""

BAND_CELLS = 1 << 17
"""Cells (per class and reference) of the sums of one band of tested pairs: the answer pairs
are taken one band of lower workers at a time, so that the sums they add to are a contiguous
slice small enough to stay in the processor's cache."""

CONTRACT_CHUNK = 1 << 13
"""Tested pairs per block of the dense ``(pairs, K, K)`` contraction."""


@dataclass(frozen=True, eq=False)
class _ByItem:
    """Answers ordered by item, then worker: their item, worker and label, and per position how
    many later positions share its item (the answers it pairs with, all of higher or equal
    worker index)."""

    item: Codes
    worker: Codes
    label: Codes
    later: Codes


def _by_item(data: EncodedAnswers, rows: IntArray | None = None) -> _ByItem:
    """The answer ``rows`` of ``data`` (all when ``None``) ordered by item, then worker
    (stable), in 32-bit codes (half the memory of the answer columns on large crowds)."""
    item_idx, worker_idx, label_idx = data.item_idx, data.worker_idx, data.label_idx
    if rows is not None:
        item_idx, worker_idx, label_idx = item_idx[rows], worker_idx[rows], label_idx[rows]
    key = item_idx.astype(np.int64)
    key *= max(data.n_workers, 1)
    key += worker_idx
    order = np.argsort(key, kind="stable")
    del key
    code: type[np.signedinteger[Any]] = (
        np.int32 if max(data.n_items, data.n_workers, data.n_answers) < 1 << 31 else np.int64
    )
    item: Codes = item_idx[order].astype(code)
    n = order.shape[0]
    ends = np.append(np.flatnonzero(item[1:] != item[:-1]) + 1, n).astype(code)
    later: Codes = np.repeat(ends, np.diff(ends, prepend=0))
    later -= np.arange(1, n + 1, dtype=code)
    return _ByItem(item, worker_idx[order].astype(code), label_idx[order].astype(code), later)


def _answer_pair_blocks(
    by_item: _ByItem, firsts: Codes, chunk: int
) -> Iterator[tuple[Codes, Codes, Codes]]:
    """Every two answers on one item whose first (in ``by_item`` order) is at one of the
    ascending positions ``firsts``, in blocks of about ``chunk`` answer pairs (a block holds all
    partners of each of its first answers): the block's first positions, how many partners each
    has (``np.repeat(block, partners)`` are the pairs' first answers) and the pairs' second
    positions."""
    count = by_item.later[firsts]
    if count.shape[0] == 0:
        return
    total = np.cumsum(count, dtype=np.int64)
    stops = np.searchsorted(total, np.arange(chunk, int(total[-1]) + chunk, chunk), side="right")
    start = 0
    # return_counts: the plain call imports numpy.ma (10 ms) to ask whether it is masked
    ends = np.unique(np.append(np.maximum(stops, 1), count.shape[0]), return_counts=True)[0]
    for stop in ends.tolist():
        if stop <= start:
            continue
        block, partners = firsts[start:stop], count[start:stop]
        before = total[start - 1] if start else 0
        pairs = int(total[stop - 1] - before)
        if pairs:
            # the j-th pair of first answer r is (r, r + 1 + j - its first pair's index)
            shift = block + 1 - (total[start:stop] - partners - before)
            second = np.repeat(shift, partners)
            second += np.arange(pairs, dtype=second.dtype)
            yield block, partners, second
        start = stop


def _positions_by_band(worker: Codes, lows: IntArray) -> tuple[IntArray, IntArray]:
    """Answer positions grouped by the band of their worker (bands start at the ascending
    ``lows``), ascending within each band (a radix sort for small band numbers), and each
    band's ``[edges[j], edges[j + 1])`` slice of them."""
    band = np.searchsorted(lows, worker, side="right") - 1
    by_band = np.argsort(
        band.astype(np.int16 if lows.shape[0] < 1 << 15 else np.int64), kind="stable"
    )
    edges = np.searchsorted(band[by_band], np.arange(lows.shape[0] + 1))
    return by_band, edges


@dataclass(frozen=True, eq=False)
class _Cooccurrence:
    """Worker pairs ``a < b`` sharing at least :data:`MIN_SHARED` items, sorted by ``(a, b)``:
    their shared items, the shared items where they gave the same answer (``agreed``) and, per
    reference, those where that answer is not the reference's class (``observed``)."""

    a: IntArray
    b: IntArray
    shared: IntArray
    agreed: FloatArray
    observed: list[FloatArray]

    def where(self, kept: NDArray[np.bool_]) -> _Cooccurrence:
        """The pairs marked in ``kept``."""
        return _Cooccurrence(
            self.a[kept],
            self.b[kept],
            self.shared[kept],
            self.agreed[kept],
            [seen[kept] for seen in self.observed],
        )


def _cooccurring_pairs(
    data: EncodedAnswers, by_item: _ByItem, references: Sequence[Reference] = ()
) -> _Cooccurrence:
    """The co-occurrence of every two workers, and how often they agree (:class:`_Cooccurrence`;
    ``observed`` under each of ``references``): the off-diagonal of the co-occurrence matrix
    ``B · Bᵀ`` of the worker × item incidence ``B``, and of its restrictions to the answer pairs
    that agree (on a class the reference rejects), from the answer pairs counted by lower
    worker, one band of lower workers at a time. Bands hold at most :data:`PAIR_TABLE` cells of
    dense count tables when the whole table (``workers²`` cells) is at most
    :data:`DENSE_CELLS` per answer pair; with more workers (sparse co-occurrence), about
    :data:`PAIR_CHUNK` answer pairs whose worker pairs are counted by sorting. Every count is an
    integer, exact in any order."""
    w = data.n_workers
    bests = [np.argmax(posteriors, axis=1) for posteriors, _ in references]
    partners = np.bincount(by_item.worker, weights=by_item.later, minlength=w)
    dense = w * w <= DENSE_CELLS * max(float(partners.sum()), 1.0)
    if dense:
        lows = np.arange(0, w, max(1, PAIR_TABLE // max(w, 1)))
    else:
        total = np.cumsum(partners)
        cuts = np.searchsorted(total, np.arange(PAIR_CHUNK, total[-1] + PAIR_CHUNK, PAIR_CHUNK))
        lows = np.unique(np.concatenate([[0], np.minimum(cuts + 1, w - 1)]))
    by_band, edges = _positions_by_band(by_item.worker, lows)
    found: list[list[NDArray[Any]]] = [[] for _ in range(4 + len(bests))]
    for index, (low, high) in enumerate(zip(lows.tolist(), [*lows[1:].tolist(), w], strict=True)):
        firsts = by_band[edges[index] : edges[index + 1]]
        # per block: each answer pair's worker-pair cell, and the cells of the pairs that agree
        # (on a class each reference rejects); dense tables add each block's counts at once
        cells = (high - low) * w if dense else 0
        counts = [np.zeros(cells, dtype=np.int64) for _ in range(2 + len(bests))]
        keys: list[list[NDArray[Any]]] = [[] for _ in counts]
        for block, repeat, second in _answer_pair_blocks(by_item, firsts, PAIR_CHUNK):
            first = np.repeat(block, repeat)
            cell = (by_item.worker[first].astype(np.int64) - low) * w
            cell += by_item.worker[second]
            label = by_item.label[first]
            same = label == by_item.label[second]
            agreeing, agreed_label = cell[same], label[same]
            item = by_item.item[first[same]]
            parts = [cell, agreeing]
            parts += [agreeing[agreed_label != best[item]] for best in bests]
            for part, count, kept in zip(parts, counts, keys, strict=True):
                if dense:
                    count += np.bincount(part, minlength=cells)
                else:
                    kept.append(part)
        if dense:
            cell = np.flatnonzero(counts[0] >= MIN_SHARED)
            columns = [count[cell] for count in counts]
        elif keys[0]:
            cell, shared = np.unique(np.concatenate(keys[0]), return_counts=True)
            kept_cells = shared >= MIN_SHARED
            cell = cell[kept_cells]
            columns = [shared[kept_cells]]
            columns += [_counts_at(cell, np.concatenate(parts)) for parts in keys[1:]]
        else:
            continue
        a, b = cell // w + low, cell % w
        apart = b > a  # two answers of one worker on an item are no pair
        found[0].append(a[apart])
        found[1].append(b[apart])
        for target, column in zip(found[2:], columns, strict=True):
            target.append(column[apart])
    if not found[0]:
        empty = np.zeros(0, dtype=np.intp)
        return _Cooccurrence(empty, empty, empty, np.zeros(0), [np.zeros(0) for _ in bests])
    joined = [np.concatenate(parts) for parts in found]
    return _Cooccurrence(
        joined[0].astype(np.intp),
        joined[1].astype(np.intp),
        joined[2].astype(np.intp),
        joined[3].astype(np.float64),
        [column.astype(np.float64) for column in joined[4:]],
    )


def _counts_at(cells: NDArray[Any], keys: NDArray[Any]) -> IntArray:
    """How many of ``keys`` fall on each of the ascending ``cells`` (keys elsewhere ignored)."""
    found, times = np.unique(keys, return_counts=True)
    column = np.zeros(cells.shape[0], dtype=np.intp)
    at = np.searchsorted(cells, found)
    hit = at < cells.shape[0]
    hit[hit] = cells[at[hit]] == found[hit]
    column[at[hit]] = times[hit]
    return column


def _pair_bands(
    by_item: _ByItem, a: IntArray, n_workers: int, pairs_per_band: int
) -> Iterator[tuple[int, int, Codes]]:
    """Bands ``[low, high)`` of lower workers holding about ``pairs_per_band`` of the tested
    pairs (sorted by ``(a, b)``; one worker's pairs are never split), each with the ascending
    ``by_item`` positions of its workers' answers (the first answers of its answer pairs)."""
    if a.shape[0] == 0:
        return
    first_pair = np.searchsorted(a, np.arange(n_workers + 1))
    cuts = np.searchsorted(first_pair, np.arange(0, a.shape[0], pairs_per_band), side="right") - 1
    lows = np.unique(np.concatenate([[0], cuts]))
    by_band, edges = _positions_by_band(by_item.worker, lows)
    highs = [*lows[1:].tolist(), n_workers]
    for index, (low, high) in enumerate(zip(lows.tolist(), highs, strict=True)):
        yield low, high, by_band[edges[index] : edges[index + 1]]


@dataclass(frozen=True, eq=False)
class _PairCounts:
    """Per tested pair: shared items with the same answer (``agreed``) and, per reference, those
    where it is not the reference's class (``observed``), that number expected under
    independence (``expected``) and the agreements in all expected (``expected_agreed``);
    ``bound`` marks the pairs whose expectations were not needed (:func:`_pair_tests`)."""

    agreed: FloatArray
    observed: list[FloatArray]
    expected: list[FloatArray]
    expected_agreed: list[FloatArray]
    bound: NDArray[np.bool_]

    def at(self, rows: NDArray[Any]) -> _PairCounts:
        """The pairs at ``rows`` (indices or a mask)."""
        return _PairCounts(
            self.agreed[rows],
            [seen[rows] for seen in self.observed],
            [expected[rows] for expected in self.expected],
            [expected[rows] for expected in self.expected_agreed],
            self.bound[rows],
        )


def _pair_lookup(
    data: EncodedAnswers, a: IntArray, b: IntArray
) -> tuple[NDArray[np.bool_], Callable[[IntArray, IntArray], IntArray]]:
    """The workers in some tested pair, and a function giving the tested-pair index of worker
    pairs (``-1`` when not tested): a dense table over those workers, or a sorted search."""
    involved = np.zeros(data.n_workers, dtype=bool)
    involved[a] = True
    involved[b] = True
    every = bool(involved.all())
    local = np.cumsum(involved) - 1
    n = int(involved.sum())
    keys = local[a] * n + local[b]  # ascending: pairs are sorted by (a, b)

    def key_of(wa: IntArray, wb: IntArray) -> IntArray:
        """Keys of worker pairs ``wa ≤ wb`` (answer pairs in ``_ByItem`` order)."""
        if every:
            key: IntArray = wa.astype(np.int64) * n + wb
            return key
        local_key: IntArray = local[wa] * n + local[wb]
        return local_key

    if n * n <= PAIR_TABLE:
        table = np.full(n * n, -1, dtype=np.intp)
        table[keys] = np.arange(a.shape[0])

        def find(wa: IntArray, wb: IntArray) -> IntArray:
            found: IntArray = table[key_of(wa, wb)]
            return found

        return involved, find

    def search(wa: IntArray, wb: IntArray) -> IntArray:
        key = key_of(wa, wb)
        where = np.minimum(np.searchsorted(keys, key), keys.shape[0] - 1)
        found: IntArray = np.where(keys[where] == key, where, -1)
        return found

    return involved, search


def _tested_answer_pairs(
    data: EncodedAnswers, a: IntArray, b: IntArray, by_item: _ByItem, k: int
) -> Iterator[tuple[int, int, IntArray, Codes]]:
    """The answer pairs of the pairs ``(a, b)`` (sorted by ``(a, b)``), one band of lower
    workers at a time (:data:`BAND_CELLS` over ``k``) and in blocks of :data:`PAIR_CHUNK`: the
    band's first and last-plus-one pair, and per answer pair its pair (relative to the band's
    first) and item."""
    involved, find = _pair_lookup(data, a, b)
    if not involved.all():
        by_item = _by_item(data, np.flatnonzero(involved[data.worker_idx]))
    per_band = max(1, BAND_CELLS // max(k, 1))
    for low, high, firsts in _pair_bands(by_item, a, data.n_workers, per_band):
        start, stop = (int(x) for x in np.searchsorted(a, [low, high]))
        for block, partners, second in _answer_pair_blocks(by_item, firsts, PAIR_CHUNK):
            first = np.repeat(block, partners)
            pair = find(by_item.worker[first], by_item.worker[second])
            tested = np.flatnonzero(pair >= 0)
            yield start, stop, pair[tested] - start, by_item.item[first[tested]]


def _pair_expectations(
    data: EncodedAnswers,
    a: IntArray,
    b: IntArray,
    references: Sequence[Reference],
    by_item: _ByItem,
) -> tuple[list[FloatArray], list[FloatArray]]:
    """Per reference and pair ``(a, b)``: the agreements on wrong answers expected under
    independence, and the agreements in all expected (module doc).

    The expectation factorises over the pair's shared items: with ``G_ab[k, c] = Σ T[i, c]``
    over shared items whose reference class ``ĉ_i`` is ``k``,
    ``E_ab = Σ_{k, c} G_ab[k, c] Σ_{k' ≠ k} π_a[c, k'] π_b[c, k']`` and the agreements in all
    ``Σ_{k, c} G_ab[k, c] Σ_{k'} π_a[c, k'] π_b[c, k']``. ``G`` is summed over the answer pairs
    (``K`` additions per answer pair and reference, into one band's slice at a time), then
    contracted with the confusions (dense, ``(pairs, K, K)`` blocks of
    :data:`CONTRACT_CHUNK`). The answer pairing is shared by the references."""
    k = data.n_classes
    n_pairs = a.shape[0]
    # per item: each reference's class, and its posterior column by column
    bests = [np.argmax(posteriors, axis=1) for posteriors, _ in references]
    columns = [np.ascontiguousarray(posteriors.T) for posteriors, _ in references]
    by_class = [np.zeros((k, n_pairs * k)) for _ in references]  # [c, pair · K + ĉ]
    for start, stop, pair, item in _tested_answer_pairs(data, a, b, by_item, k):
        for best, column, sums in zip(bests, columns, by_class, strict=True):
            key = pair * k + best[item]
            for c in range(k):
                sums[c, start * k : stop * k] += np.bincount(
                    key, weights=column[c][item], minlength=(stop - start) * k
                )
    expected, expected_agreed = [], []
    for (_, confusion), sums in zip(references, by_class, strict=True):
        wrong = np.empty(n_pairs)
        every = np.empty(n_pairs)
        for start in range(0, n_pairs, CONTRACT_CHUNK):
            stop = min(start + CONTRACT_CHUNK, n_pairs)
            both = confusion[a[start:stop]] * confusion[b[start:stop]]  # [pair, c, k']
            # Σ_{k' ≠ k} both[:, c, k'] without cancellation: the sums before and after k
            before = np.zeros_like(both)
            np.cumsum(both[:, :, :-1], axis=2, out=before[:, :, 1:])
            after = np.zeros_like(both)
            np.cumsum(both[:, :, :0:-1], axis=2, out=after[:, :, -2::-1])
            # G as [pair, c, k] (k: the reference's class), the layout of the confusions
            g = sums[:, start * k : stop * k].reshape(k, stop - start, k).transpose(1, 0, 2)
            g = np.ascontiguousarray(g)
            others = before
            others += after
            flat = (stop - start, k * k)
            wrong[start:stop] = np.einsum("pj,pj->p", g.reshape(flat), others.reshape(flat))
            every[start:stop] = np.einsum("pc,pc->p", g.sum(axis=2), both.sum(axis=2))
        expected.append(wrong)
        expected_agreed.append(every)
    return expected, expected_agreed


def _pair_tests(
    data: EncodedAnswers,
    pairs: _Cooccurrence,
    references: Sequence[Reference],
    by_item: _ByItem,
    alpha: float,
) -> tuple[_PairCounts, list[tuple[FloatArray, FloatArray, FloatArray, FloatArray]]]:
    """The counts of every tested pair, the expectations where they can matter, and each
    reference's test (:func:`_reference_test`).

    A pair's p-value under a reference only grows with the expectations, so expectations of
    0 give its smallest possible value. A pair whose every such bound is above ``alpha`` can
    be neither dependent nor change which pairs are (the Benjamini-Hochberg rule at ``alpha``
    compares only p-values below ``alpha``): its expectations are not computed, stay 0, its
    p-values are those bounds, and it is marked in ``bound``. On an honest crowd that is
    almost every pair."""
    a, b, shared = pairs.a, pairs.b, pairs.shared
    n_pairs = a.shape[0]
    counts = _PairCounts(
        pairs.agreed,
        pairs.observed,
        [np.zeros(n_pairs) for _ in references],
        [np.zeros(n_pairs) for _ in references],
        np.ones(n_pairs, dtype=bool),
    )
    n_shared = shared.astype(np.float64)
    indices = range(len(references))
    tests = _count_bounds(counts, n_shared)
    for test in tests:
        counts.bound[test[2] <= alpha] = False
    exact = np.flatnonzero(~counts.bound)
    if exact.shape[0]:
        expected, expected_agreed = _pair_expectations(
            data, a[exact], b[exact], references, by_item
        )
        for index in indices:
            counts.expected[index][exact] = expected[index]
            counts.expected_agreed[index][exact] = expected_agreed[index]
        subset = counts.at(exact)
        for index, test in zip(indices, tests, strict=True):
            # observed, expected and agreed are the counts' own arrays: only p is new
            test[2][exact] = _reference_test(subset, index, n_shared[exact], index == 0)[2]
    return counts, tests


def _count_bounds(
    counts: _PairCounts, n_shared: FloatArray
) -> list[tuple[FloatArray, FloatArray, FloatArray, FloatArray]]:
    """Each reference's :func:`_reference_test` with the expectations of ``counts`` (zeros),
    which depends on the pair's integer counts alone: taken once per distinct combination of
    shared items, agreements and agreements on wrong answers (a few hundred on a large crowd),
    then spread to the pairs that have it."""
    columns = [n_shared, counts.agreed, *counts.observed]
    base = int(max(float(column.max(initial=0.0)) for column in columns)) + 1
    n_refs = len(counts.observed)
    if base ** len(columns) >= 1 << 62:  # no room for one integer key: every pair on its own
        return [_reference_test(counts, r, n_shared, copies=r == 0) for r in range(n_refs)]
    key = np.zeros(n_shared.shape[0], dtype=np.int64)
    for column in columns:
        key *= base
        key += column.astype(np.int64)
    _, first, spread = np.unique(key, return_index=True, return_inverse=True)
    spread = spread.reshape(-1)
    distinct = counts.at(first)
    tests = []
    for r in range(n_refs):
        p_value = _reference_test(distinct, r, n_shared[first], copies=r == 0)[2][spread]
        tests.append((counts.observed[r], counts.expected[r], p_value, counts.agreed))
    return tests


def _reference_test(
    counts: _PairCounts, index: int, n_shared: FloatArray, copies: bool
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Observed and expected agreements on wrong answers, the p-value and the agreements in all,
    for the tested pairs under reference ``index``; with ``copies``, also the test of too few
    disagreements (module doc)."""
    observed, expected = counts.observed[index], counts.expected[index]
    p_wrong = _poisson_sf(observed - 1.0, RATIO * expected + 0.5)
    if not copies:
        return observed, expected, p_wrong, counts.agreed
    # too few disagreements: a copy disagrees with its source far less than independence allows
    disagreed = n_shared - counts.agreed
    expected_disagreed = np.maximum(n_shared - counts.expected_agreed[index], 0.0)
    mean = expected_disagreed / COPY_RATIO
    # At or above the Poisson median the lower tail is at least 1/2, and the pair's p-value
    # min(2 min(p_wrong, p_copy), 1) no longer depends on it; the median is below mean + 1/3
    # (Choi, Proc. AMS 1994), so the tail is computed only below that.
    p_copy = np.ones(n_shared.shape[0])
    below = disagreed < mean + 1.0 / 3.0
    p_copy[below] = _poisson_cdf(disagreed[below], mean[below])
    return observed, expected, np.minimum(2.0 * np.minimum(p_wrong, p_copy), 1.0), counts.agreed


def _benjamini_hochberg(p_values: FloatArray) -> FloatArray:
    """BH-adjusted p-values (step-up, monotone)."""
    n = p_values.shape[0]
    if n == 0:
        return p_values
    order = np.argsort(p_values, kind="stable")
    ranked = p_values[order] * n / np.arange(1, n + 1)
    adjusted = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(n)
    out[order] = np.minimum(adjusted, 1.0)
    return out


def detect_dependence(
    data: EncodedAnswers,
    references: Sequence[Reference],
    *,
    alpha: float = ALPHA,
    exempt: NDArray[np.bool_] | None = None,
) -> Dependence:
    """Dependent pairs and groups of ``data``'s workers under each reference (module doc); the
    workers marked in ``exempt`` take part in no tested pair."""
    n_workers = data.n_workers
    if data.n_answers == 0 or n_workers < 2 or data.n_classes < 2 or not references:
        return no_dependence(n_workers)
    by_item = _by_item(data)
    pairs = _cooccurring_pairs(data, by_item, references)
    if exempt is not None:
        pairs = pairs.where(~(exempt[pairs.a] | exempt[pairs.b]))
    if pairs.a.shape[0] == 0:
        return no_dependence(n_workers)
    a, b, shared = pairs.a, pairs.b, pairs.shared
    counts, tests = _pair_tests(data, pairs, references, by_item, alpha)
    observed = np.stack([t[0] for t in tests])
    expected = np.stack([t[1] for t in tests])
    adjusted = _benjamini_hochberg(np.concatenate([t[2] for t in tests])).reshape(len(tests), -1)
    strongest = np.argmin(adjusted, axis=0)  # the reference that speaks loudest per pair
    rows = np.arange(a.shape[0])
    p_pair = adjusted[strongest, rows]
    obs_pair = observed[strongest, rows]
    exp_pair = np.where(counts.bound, np.nan, expected[strongest, rows])
    dependent = p_pair <= alpha
    found = _per_worker(n_workers, a, b, shared, obs_pair, exp_pair, p_pair)
    cluster = _cluster_test(data, a, b, shared, tests[0][3], alpha)
    joined = dependent | cluster.edges
    group = groups_of_pairs(n_workers, a[joined], b[joined])
    louder = cluster.kept & (cluster.p_value < found.p_value)
    for name in ("partner", "shared", "agree_wrong", "expected", "p_value"):
        getattr(found, name)[louder] = getattr(cluster, name)[louder]
    found.score[louder] = 1.0 - cluster.p_value[louder]
    found.by_cluster[louder] = True
    return replace(found, group=group, pair_a=a[joined], pair_b=b[joined])


@dataclass(frozen=True, eq=False)
class _ClusterOutcome:
    """The cluster test (module doc): which screened pairs join kept members (``edges``, aligned
    with the tested pairs) and, per worker, whether it was kept and its evidence."""

    edges: NDArray[np.bool_]
    kept: NDArray[np.bool_]
    partner: IntArray
    shared: IntArray
    agree_wrong: IntArray
    expected: FloatArray
    p_value: FloatArray


def _cluster_test(
    data: EncodedAnswers,
    a: IntArray,
    b: IntArray,
    shared: IntArray,
    agreed: FloatArray,
    alpha: float,
) -> _ClusterOutcome:
    """Screen near-identical pairs into candidate clusters and keep the members whose agreement
    with the rest of their cluster exceeds what independence allows against a reference that
    counts each cluster as one voice (module doc)."""
    n_workers = data.n_workers
    screened = shared - agreed <= SCREEN_DISAGREE * shared
    answers = np.bincount(data.worker_idx, minlength=n_workers)
    candidate = _minority_clusters(answers, groups_of_pairs(n_workers, a[screened], b[screened]))
    outcome = _ClusterOutcome(
        edges=np.zeros(a.shape[0], dtype=bool),
        kept=np.zeros(n_workers, dtype=bool),
        partner=np.full(n_workers, -1, dtype=np.intp),
        shared=np.zeros(n_workers, dtype=np.intp),
        agree_wrong=np.zeros(n_workers, dtype=np.intp),
        expected=np.zeros(n_workers),
        p_value=np.ones(n_workers),
    )
    if not (candidate >= 0).any():
        return outcome
    tested, agreements, expected, p_value = _member_test(data, candidate)
    adjusted = np.ones(n_workers)
    members = np.flatnonzero(tested > 0)
    adjusted[members] = _benjamini_hochberg(p_value[members])
    kept = adjusted <= alpha
    edges = screened & kept[a] & kept[b] & (candidate[a] == candidate[b])
    # each kept member's partner: the kept member of its cluster it shares most items with
    worker = np.concatenate([a[edges], b[edges]])
    other = np.concatenate([b[edges], a[edges]])
    order = np.lexsort((other, -np.concatenate([shared[edges]] * 2), worker))
    first = np.ones(order.shape[0], dtype=bool)
    first[1:] = worker[order][1:] != worker[order][:-1]
    outcome.partner[worker[order[first]]] = other[order[first]]
    outcome.kept[:] = kept & (outcome.partner >= 0)
    outcome.edges[:] = edges
    outcome.shared[:] = tested
    outcome.agree_wrong[:] = agreements
    outcome.expected[:] = expected
    outcome.p_value[:] = adjusted
    return outcome


def _minority_clusters(answers: IntArray, candidate: IntArray) -> IntArray:
    """``candidate`` without the clusters that gave more than half of all answers: such a
    cluster *is* the crowd, there are too few third parties to judge it against (a crowd of
    very accurate honest workers chains into one), and it is left independent."""
    clusters = np.flatnonzero(candidate >= 0)
    if not clusters.shape[0]:
        return candidate
    size = np.bincount(candidate[clusters], weights=answers[clusters])
    too_big = size[np.maximum(candidate, 0)] > answers.sum() / 2
    keep = (candidate >= 0) & ~too_big
    alone = candidate.shape[0] + np.arange(candidate.shape[0])  # distinct singleton labels
    return _number_groups(np.where(keep, candidate, alone).astype(np.int32))


def _on_items_of(data: EncodedAnswers, candidate: IntArray) -> EncodedAnswers:
    """``data`` restricted to the answers on items some candidate member answered (the only
    items the member test looks at; the index spaces are kept)."""
    touched = np.zeros(data.n_items, dtype=bool)
    touched[data.item_idx[candidate[data.worker_idx] >= 0]] = True
    keep = touched[data.item_idx]
    if keep.all():
        return data
    return answers_where(data, keep)


ONE_VOICE_ROUNDS = 5
"""EM rounds of the reference that counts each candidate cluster as one voice."""


def _one_voice_reference(collapsed: EncodedAnswers) -> Reference:
    """Item posteriors and worker confusions of a Dawid-Skene fit (Dawid & Skene 1979) of
    ``collapsed`` (each candidate cluster one worker whose answers on an item weigh one vote):
    :data:`ONE_VOICE_ROUNDS` EM rounds from the weighted vote, confusions smoothed by ``1/K``
    per cell. EM rather than the vote alone, so that confusions are measured against the
    truth the other voices imply, not against the vote's own errors (which would make a
    cluster of accurate honest workers look less accurate, and its agreement suspicious)."""
    k = collapsed.n_classes
    matrix = answer_matrix(collapsed)
    posteriors = clamp_gold(vote_shares(collapsed), collapsed.gold)
    confusion = np.full((collapsed.n_workers, k, k), 1.0 / k)
    for _ in range(ONE_VOICE_ROUNDS):
        counts = soft_counts(matrix, posteriors) + 1.0 / k
        confusion = counts / counts.sum(axis=-1, keepdims=True)
        prior = posteriors.sum(axis=0) + 1.0
        log_joint = item_log_likelihood(matrix, np.log(confusion)) + np.log(prior / prior.sum())
        posteriors = clamp_gold(normalise_log(log_joint)[0], collapsed.gold)
    return posteriors, confusion


def _member_test(
    data: EncodedAnswers, candidate: IntArray
) -> tuple[IntArray, IntArray, FloatArray, FloatArray]:
    """Per worker: items shared with the rest of its candidate cluster, agreements with all of
    them, the agreements expected under independence, and the one-sided p-value of too few
    disagreements (module doc); zeros and ones for workers outside any cluster."""
    n_workers, k = data.n_workers, data.n_classes
    votes, confusion = _one_voice_reference(group_answers(_on_items_of(data, candidate), candidate))
    rows = np.flatnonzero(candidate[data.worker_idx] >= 0)
    cluster = candidate[data.worker_idx[rows]].astype(np.int64)
    item = data.item_idx[rows].astype(np.int64)
    label = data.label_idx[rows].astype(np.int64)
    _, at_item, per_item = np.unique(
        cluster * data.n_items + item, return_inverse=True, return_counts=True
    )
    _, at_label, per_label = np.unique(
        (cluster * data.n_items + item) * k + label, return_inverse=True, return_counts=True
    )
    n_members = per_item[at_item.reshape(-1)]
    together = n_members >= 2
    agrees = per_label[at_label.reshape(-1)] == n_members
    owner = representative(candidate)[data.worker_idx[rows]]
    # P(n members of confusion π_g all give one answer | item) = Σ_c T[i, c] Σ_k π_g[c, k]^n
    same = (confusion[owner[together]] ** n_members[together, None, None]).sum(axis=2)
    p_all = (votes[item[together]] * same).sum(axis=1)
    worker = data.worker_idx[rows][together]
    tested = np.bincount(worker, minlength=n_workers).astype(np.intp)
    agreements = np.bincount(worker, weights=agrees[together], minlength=n_workers)
    expected: FloatArray = np.bincount(worker, weights=p_all, minlength=n_workers).astype(
        np.float64
    )
    disagreed = tested - agreements
    expected_disagreed = np.maximum(tested - expected, 0.0)
    p_value = _poisson_cdf(disagreed, expected_disagreed / COPY_RATIO)
    p_value[tested == 0] = 1.0
    return tested, agreements.astype(np.intp), expected, p_value


def groups_of_pairs(n_workers: int, pair_a: IntArray, pair_b: IntArray) -> IntArray:
    """Group of each worker (``-1``: none) from dependent pairs: connected components."""
    return _number_groups(connected_components(n_workers, pair_a, pair_b))


def connected_components(n_nodes: int, pair_a: IntArray, pair_b: IntArray) -> IntArray:
    """Component of each node of the undirected graph with edges ``(pair_a, pair_b)``, named
    by its lowest node: every node takes the lowest label among its neighbours' and, by
    pointer jumping, its label's label (Shiloach & Vishkin 1982), until nothing changes."""
    label = np.arange(n_nodes, dtype=np.intp)
    a = np.asarray(pair_a, dtype=np.intp)
    b = np.asarray(pair_b, dtype=np.intp)
    while True:
        lowest = np.minimum(label[a], label[b])
        updated = label.copy()
        np.minimum.at(updated, a, lowest)
        np.minimum.at(updated, b, lowest)
        updated = updated[updated]  # pointer jumping: a label's own label is no larger
        if np.array_equal(updated, label):
            return label
        label = updated


def _number_groups(component: Codes) -> IntArray:
    """Components of two or more workers numbered 0.. by lowest member; singletons ``-1``."""
    sizes = np.bincount(component)
    group = np.full(component.shape[0], -1, dtype=np.intp)
    next_id = 0
    seen: dict[int, int] = {}
    for worker, comp in enumerate(component.tolist()):
        if sizes[comp] < 2:
            continue
        if comp not in seen:
            seen[comp] = next_id
            next_id += 1
        group[worker] = seen[comp]
    return group


def _per_worker(
    n_workers: int,
    a: IntArray,
    b: IntArray,
    shared: IntArray,
    observed: FloatArray,
    expected: FloatArray,
    p_value: FloatArray,
) -> Dependence:
    """Each worker's strongest pair (lowest adjusted p, then lowest partner index)."""
    out = no_dependence(n_workers)
    worker = np.concatenate([a, b])
    partner = np.concatenate([b, a])
    both = np.concatenate([np.arange(a.shape[0])] * 2)
    order = np.lexsort((partner, p_value[both], worker))
    first = np.ones(order.shape[0], dtype=bool)
    first[1:] = worker[order][1:] != worker[order][:-1]
    pick = order[first]
    who, pair = worker[pick], both[pick]
    out.partner[who] = partner[pick]
    out.shared[who] = shared[pair]
    out.agree_wrong[who] = observed[pair].astype(np.intp)
    out.expected[who] = expected[pair]
    out.p_value[who] = p_value[pair]
    out.score[who] = 1.0 - p_value[pair]
    return Dependence(
        group=out.group,
        score=out.score,
        partner=out.partner,
        shared=out.shared,
        agree_wrong=out.agree_wrong,
        expected=out.expected,
        p_value=out.p_value,
        tested_pairs=int(a.shape[0]),
        pair_a=out.pair_a,
        pair_b=out.pair_b,
        by_cluster=out.by_cluster,
    )


def representative(group: IntArray) -> IntArray:
    """For each worker, the lowest-indexed member of its group (itself when independent)."""
    owner = np.arange(group.shape[0], dtype=np.intp)
    grouped = np.flatnonzero(group >= 0)
    if grouped.shape[0]:
        lowest = np.full(int(group.max()) + 1, -1, dtype=np.intp)
        lowest[group[grouped[::-1]]] = grouped[::-1]  # reversed: the lowest index wins
        owner[grouped] = lowest[group[grouped]]
    return owner


def group_answers(data: EncodedAnswers, group: IntArray) -> EncodedAnswers:
    """``data`` with each group fitted as one worker giving one vote per item.

    Every member's answers are credited to the group's lowest-indexed member, and each answer
    on an item carries the weight ``1 / (members of its group answering that item)``, so a
    group's answers on an item together weigh one answer. Independent workers keep weight 1.
    """
    if not (group >= 0).any():
        return data
    worker = representative(group)[data.worker_idx]
    key = data.item_idx.astype(np.int64) * max(data.n_workers, 1) + worker
    _, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    weight = 1.0 / counts[inverse.reshape(-1)]
    if data.weight is not None:
        weight = weight * data.weight
    return EncodedAnswers(
        items=data.items,
        workers=data.workers,
        classes=data.classes,
        item_idx=data.item_idx,
        worker_idx=worker,
        label_idx=data.label_idx,
        gold=data.gold,
        weight=weight.astype(np.float64),
    )


def detect_copies(
    item: IntArray, worker: IntArray, answer: IntArray, n_workers: int, *, alpha: float = ALPHA
) -> Dependence:
    """Copiers and rings among workers whose answers have no classes to model (structured
    answers: label sets, spans, boxes, transcriptions), from *identical* answers alone.

    ``answer`` is an integer key per row: equal keys on one item are the same answer (settlement
    uses :func:`datafair.quality.near_identical.near_identity_keys`, the same answer up to a
    copy's jitter). As in the cluster test (module doc), pairs
    identical on at least ``1 −`` :data:`SCREEN_DISAGREE` of at least :data:`MIN_SHARED`
    shared items form candidate clusters (minority clusters only), and each member is judged
    by third parties: under independence given the truth, with different wrong answers rarely
    identical, ``P(a ≡ b) = q_a q_b`` for ``q`` the chance of the right answer, and the triad
    identity gives ``q_a q_b = A_ao · A_bo / A_oo`` from the identical-answer rates of ``a`` and
    ``b`` with the workers outside any candidate cluster (``o``) and among those workers. A
    member's items not identical to every other member's ``D_m`` are set against
    ``E[D_m] = Σ_i (1 − Π_j q_j)`` over the members on item ``i``: ``P(Poisson(E[D_m] /
    COPY_RATIO) ≤ D_m)``, Benjamini-Hochberg at ``alpha``. Evidence as ``by_cluster``.
    """
    found = no_dependence(n_workers)
    item = np.asarray(item, dtype=np.int64)
    worker = np.asarray(worker, dtype=np.int64)
    answer = np.asarray(answer, dtype=np.int64)
    if item.shape[0] == 0 or n_workers < 2:
        return found
    _, item_idx = np.unique(item, return_inverse=True)
    _, key_idx = np.unique(
        item_idx.astype(np.int64) * (int(answer.max()) + 1) + answer, return_inverse=True
    )
    n_items, n_keys = int(item_idx.max()) + 1, int(key_idx.max()) + 1
    import scipy.sparse as sp  # structured answers only; 0.2 s of import

    incidence = sp.csr_matrix(
        (np.ones(item.shape[0]), (worker, item_idx)), shape=(n_workers, n_items)
    )
    keyed = sp.csr_matrix((np.ones(item.shape[0]), (worker, key_idx)), shape=(n_workers, n_keys))
    co = sp.triu((incidence @ incidence.T).tocsr(), k=1).tocoo()
    keep = co.data >= MIN_SHARED
    a, b = co.row[keep].astype(np.intp), co.col[keep].astype(np.intp)
    shared = co.data[keep].astype(np.intp)
    if a.shape[0] == 0:
        return found
    same_answer = (keyed @ keyed.T).tocsr()
    identical = _pair_values(same_answer, a, b)
    screened = shared - identical <= SCREEN_DISAGREE * shared
    answers = np.bincount(worker, minlength=n_workers)
    candidate = _minority_clusters(answers, groups_of_pairs(n_workers, a[screened], b[screened]))
    in_cluster = candidate >= 0
    if not in_cluster.any():
        return found
    # identical-answer rates with, and among, the workers outside every candidate cluster
    co_all = (incidence @ incidence.T).tolil()
    co_all.setdiag(0.0)
    same_all = same_answer.tolil()
    same_all.setdiag(0.0)
    co_all, same_all = co_all.tocsc(), same_all.tocsc()
    outside = np.flatnonzero(~in_cluster)
    co_out = np.asarray(co_all[:, outside].sum(axis=1)).reshape(-1)
    same_out = np.asarray(same_all[:, outside].sum(axis=1)).reshape(-1)
    pairs_out = float(co_out[outside].sum())
    if pairs_out == 0:
        return found
    rate_out = float(same_out[outside].sum()) / pairs_out
    rate_with = np.divide(same_out, co_out, out=np.zeros(n_workers), where=co_out > 0)
    q = np.clip(rate_with / np.sqrt(max(rate_out, 1e-12)), 0.0, 1.0)
    rows = np.flatnonzero(in_cluster[worker])
    cluster_item = candidate[worker[rows]].astype(np.int64) * n_items + item_idx[rows]
    _, at_item, per_item = np.unique(cluster_item, return_inverse=True, return_counts=True)
    _, at_key, per_key = np.unique(
        candidate[worker[rows]].astype(np.int64) * n_keys + key_idx[rows],
        return_inverse=True,
        return_counts=True,
    )
    at_item = at_item.reshape(-1)
    together = per_item[at_item] >= 2
    agrees = per_key[at_key.reshape(-1)] == per_item[at_item]
    log_q = np.bincount(at_item, weights=np.log(np.maximum(q[worker[rows]], 1e-12)))
    p_all = np.exp(log_q[at_item])
    members = worker[rows][together]
    tested = np.bincount(members, minlength=n_workers).astype(np.intp)
    agreements = np.bincount(members, weights=agrees[together], minlength=n_workers)
    expected: FloatArray = np.bincount(
        members, weights=p_all[together], minlength=n_workers
    ).astype(np.float64)
    p_value = _poisson_cdf(tested - agreements, np.maximum(tested - expected, 0.0) / COPY_RATIO)
    p_value[tested == 0] = 1.0
    adjusted = np.ones(n_workers)
    judged = np.flatnonzero(tested > 0)
    adjusted[judged] = _benjamini_hochberg(p_value[judged])
    kept = adjusted <= alpha
    edges = screened & kept[a] & kept[b] & (candidate[a] == candidate[b])
    group = groups_of_pairs(n_workers, a[edges], b[edges])
    grouped = group >= 0
    partner = np.full(n_workers, n_workers, dtype=np.intp)  # the lowest-indexed partner
    np.minimum.at(partner, a[edges], b[edges])
    np.minimum.at(partner, b[edges], a[edges])
    return replace(
        found,
        group=group,
        score=np.where(grouped, 1.0 - adjusted, 0.0),
        partner=np.where(grouped, partner, -1).astype(np.intp),
        shared=np.where(grouped, tested, 0).astype(np.intp),
        agree_wrong=np.where(grouped, agreements, 0).astype(np.intp),
        expected=np.where(grouped, expected, 0.0),
        p_value=np.where(grouped, adjusted, 1.0),
        tested_pairs=int(a.shape[0]),
        pair_a=a[edges],
        pair_b=b[edges],
        by_cluster=grouped.copy(),
    )
