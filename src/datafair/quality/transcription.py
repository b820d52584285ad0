"""Free-text transcription (OCR): the answer with the highest skill-weighted agreement.

Input columns: ``items``, ``workers``, ``answers`` where each answer is a ``str`` (may be empty:
"nothing legible").

Method, per item: answers are normalised (Unicode NFKC, case-folded, whitespace collapsed) and
compared by normalised edit distance ``d(a, b) = lev(a, b) / max(|a|, |b|)`` (Levenshtein,
computed with Hyyrö's bit-parallel algorithm, "A Bit-Vector Algorithm for Computing Levenshtein
and Damerau Edit Distances", Nordic Journal of Computing 10, 2003). The chosen transcription is
the distinct answer ``a`` maximising ``Σ_j weight_j · (1 − d(a, answer_j))`` — a weighted medoid,
as in the selection step of ROVER-style text aggregation (Fiscus, "A Post-Processing System to
Yield Reduced Word Error Rates: ROVER", IEEE ASRU 1997; Li & Fukumoto, "A Dataset of
Crowdsourced Word Sequences", 2019). Its most frequent raw spelling is returned.
A worker's unit score is ``1 − d(answer, choice made without them)``; their accuracy is the mean
of these, and their weight in the next of ``n_rounds`` rounds.

Fitted: ``labels_`` (str per item), ``confidences_`` (weighted agreement of the choice divided by
the total weight), skills (``confusion`` is the 2 × 2 (miss, hit) matrix). Spam score:
posterior probability that the worker's mean similarity is below 0.2.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Sequence
from typing import Any, Self

import numpy as np
from numpy.typing import ArrayLike, NDArray

from datafair.core.errors import InvalidInput
from datafair.quality._structured import StructuredAggregator, encode_structured
from datafair.quality.skills import SPAM_THRESHOLD, beta_summary, skills_from_agreement

FloatArray = NDArray[np.float64]


def normalise_text(text: str) -> str:
    """NFKC, case-folded, with runs of whitespace collapsed to one space and ends stripped."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insertions, deletions, substitutions) by bit-parallel dynamic programming."""
    if len(a) < len(b):
        a, b = b, a
    m = len(b)
    if m == 0:
        return len(a)
    peq: dict[str, int] = {}
    for i, ch in enumerate(b):
        peq[ch] = peq.get(ch, 0) | (1 << i)
    mask = (1 << m) - 1
    last = 1 << (m - 1)
    pv, mv, score = mask, 0, m
    for ch in a:
        eq = peq.get(ch, 0)
        xv = eq | mv
        xh = ((((eq & pv) + pv) & mask) ^ pv) | eq
        ph = mv | (~(xh | pv) & mask)
        mh = pv & xh
        if ph & last:
            score += 1
        elif mh & last:
            score -= 1
        ph = ((ph << 1) | 1) & mask
        mh = (mh << 1) & mask
        pv = mh | (~(xv | ph) & mask)
        mv = ph & xv
    return score


def similarity(a: str, b: str) -> float:
    """``1 − lev(a, b) / max(|a|, |b|)``; two empty strings are identical."""
    longest = max(len(a), len(b))
    return 1.0 if longest == 0 else 1.0 - levenshtein(a, b) / longest


class TranscriptionAggregator(StructuredAggregator):
    """Skill-weighted medoid under normalised edit distance (see module doc)."""

    def __init__(self, *, n_rounds: int = 3, spam_threshold: float = SPAM_THRESHOLD) -> None:
        super().__init__(spam_threshold=spam_threshold)
        self.n_rounds = n_rounds

    def fit(
        self,
        items: ArrayLike | Sequence[Any],
        workers: ArrayLike | Sequence[Any],
        answers: Sequence[str],
    ) -> Self:
        """Choose each item's transcription from every worker's string."""
        data = encode_structured(items, workers, answers)
        for row, answer in enumerate(data.answers):
            if not isinstance(answer, str):
                raise InvalidInput(
                    "answer", f"row {row}: expected text, got {type(answer).__name__}"
                )
        by_item: list[list[int]] = [[] for _ in range(data.n_items)]
        for row, item in enumerate(data.item_idx.tolist()):
            by_item[item].append(row)
        prepared = [self._prepare(data.answers, rows) for rows in by_item]

        weights = np.ones(data.n_workers)
        success = np.zeros(data.n_workers)
        trials = np.zeros(data.n_workers)
        labels: list[str] = []
        confidences = np.ones(data.n_items)
        for _ in range(max(self.n_rounds, 1)):
            success[:] = 0.0
            trials[:] = 0.0
            labels = []
            for item, rows in enumerate(by_item):
                owners = data.worker_idx[rows]
                distinct, spelling, which, sim = prepared[item]
                w = weights[owners]
                support = sim[:, which] @ w  # per distinct answer
                best = int(np.argmax(support))
                labels.append(spelling[best])
                confidences[item] = support[best] / w.sum()
                if len(rows) < 2:
                    continue
                for j, worker in enumerate(owners):
                    without = support - w[j] * sim[:, which[j]]
                    # the worker's own spelling only counts if someone else backs it
                    others = np.bincount(np.delete(which, j), minlength=len(distinct))
                    without[others == 0] = -np.inf
                    choice = int(np.argmax(without))
                    success[worker] += sim[which[j], choice]
                    trials[worker] += 1.0
            mean, _, _ = beta_summary(success, trials)
            weights = np.maximum(mean, 1e-3)

        n_answers = np.bincount(data.worker_idx, minlength=data.n_workers).astype(np.intp)
        skills, scores = skills_from_agreement(data.workers, success, trials, n_answers, chance=0.0)
        self.items_ = data.items
        self.workers_ = data.workers
        self.labels_ = labels
        self.confidences_ = confidences
        self._store_skills(skills, scores)
        return self

    @staticmethod
    def _prepare(
        answers: list[Any], rows: list[int]
    ) -> tuple[list[str], list[str], NDArray[np.intp], FloatArray]:
        """Distinct normalised answers, their commonest spelling, row → distinct, similarities."""
        normal = [normalise_text(answers[r]) for r in rows]
        distinct = sorted(set(normal))
        index = {text: i for i, text in enumerate(distinct)}
        which = np.asarray([index[t] for t in normal], dtype=np.intp)
        spellings: list[Counter[str]] = [Counter() for _ in distinct]
        for r, t in zip(rows, normal, strict=True):
            spellings[index[t]][answers[r].strip()] += 1
        spelling = [min(c.items(), key=lambda kv: (-kv[1], kv[0]))[0] for c in spellings]
        n = len(distinct)
        sim = np.eye(n)
        for i in range(n):
            for j in range(i + 1, n):
                sim[i, j] = sim[j, i] = similarity(distinct[i], distinct[j])
        return distinct, spelling, which, sim
