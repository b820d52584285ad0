"""Entity spans (NER): a token-level vote with worker skills, decoded back into spans.

Input columns: ``items``, ``workers``, ``answers`` where each answer is a list of
``{"start": int, "end": int, "label": str}`` (character offsets into the item's text, end
exclusive, spans of one answer not overlapping); an empty list means "no entity".

Method: on each item, the start and end offsets of every worker's spans cut the text into
elementary segments (the finest tokens all answers agree on). Each segment that any worker
covered becomes a categorical question with classes ``O``, ``B-<label>`` (a span starts here)
and ``I-<label>`` (a span continues), answered by every worker who answered the item. These are
aggregated by a categorical aggregator (``method``, default ``"auto"``: Bayesian Dawid-Skene),
as in the sequence-labelling aggregation of Nguyen, Wallace, Li, Nenkova & Lease ("Aggregating
and Predicting Sequence Labels from Crowd Annotations", ACL 2017) and Rodrigues, Pereira &
Ribeiro ("Sequence Labeling with Multiple Annotators", Machine Learning 95, 2014), then decoded
left to right: a span starts at ``B-x``, or at ``I-x`` not continuing an adjacent ``x``.

Fitted: ``labels_`` (list of span lists), ``confidences_`` (mean posterior of the chosen tags of
the item's covered segments; 1.0 when nobody marked anything), skills over segments — the
worker's confusion matrix is over ``tags_``.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any, Self

import numpy as np
from numpy.typing import ArrayLike, NDArray

from datafair.core.errors import InvalidInput
from datafair.quality._structured import (
    StructuredAggregator,
    check_classes,
    encode_structured,
    require_label,
)
from datafair.quality.skills import SPAM_THRESHOLD, build_skills

Span = tuple[int, int, str]
OUTSIDE = "O"


class SpanAggregator(StructuredAggregator):
    """Segment-level B/I/O vote with skills, decoded into spans (see module doc)."""

    tags_: NDArray[Any]

    def __init__(
        self, method: str = "auto", *, spam_threshold: float = SPAM_THRESHOLD, **params: Any
    ) -> None:
        super().__init__(spam_threshold=spam_threshold)
        self.method = method
        self.params = params

    def fit(
        self,
        items: ArrayLike | Sequence[Any],
        workers: ArrayLike | Sequence[Any],
        answers: Sequence[Sequence[Mapping[str, Any]]],
        *,
        classes: Sequence[str] | None = None,
    ) -> Self:
        """Infer each item's spans from every worker's list of span dicts.

        ``classes``, when given, lists the allowed span labels; others are an error.
        """
        from datafair.quality import get_aggregator

        data = encode_structured(items, workers, answers)
        parsed = [_parse_answer(answer, row) for row, answer in enumerate(data.answers)]
        check_classes({label for spans in parsed for _, _, label in spans}, classes)
        by_item: list[list[int]] = [[] for _ in range(data.n_items)]
        for row, item in enumerate(data.item_idx.tolist()):
            by_item[item].append(row)

        unit_item: list[int] = []
        unit_seg: list[tuple[int, int]] = []
        col_unit: list[int] = []
        col_worker: list[int] = []
        col_tag: list[str] = []
        for item, rows in enumerate(by_item):
            segments = _segments([parsed[r] for r in rows])
            base = len(unit_item)
            unit_item.extend([item] * len(segments))
            unit_seg.extend(segments)
            for r in rows:
                tags = _tags(parsed[r], segments)
                col_unit.extend(range(base, base + len(segments)))
                col_worker.extend([int(data.worker_idx[r])] * len(segments))
                col_tag.extend(tags)

        tags_seen = sorted(set(col_tag) | {OUTSIDE}, key=_tag_order)
        est = get_aggregator(self.method, **self.params).fit(
            np.asarray(col_unit, dtype=np.int64),
            np.asarray(col_worker, dtype=np.int64),
            np.asarray(col_tag, dtype=str) if col_tag else np.asarray([], dtype=str),
            classes=tags_seen,
        )
        k = len(tags_seen)
        counts = np.zeros((data.n_workers, k, k))
        counts[est.workers_] = est.confusion_counts_
        judged = np.bincount(
            np.asarray(col_worker, dtype=np.intp), minlength=data.n_workers
        ).astype(np.intp)
        skills, scores = build_skills(data.workers, counts, judged)

        chosen = est.labels_.tolist()
        sure = est.probas_.max(axis=1) if k else np.zeros(0)
        labels: list[list[dict[str, Any]]] = [[] for _ in range(data.n_items)]
        confidence_sum = np.zeros(data.n_items)
        confidence_n = np.zeros(data.n_items)
        decoded: list[list[tuple[tuple[int, int], str]]] = [[] for _ in range(data.n_items)]
        for unit, item in enumerate(unit_item):
            decoded[item].append((unit_seg[unit], chosen[unit]))
            confidence_sum[item] += sure[unit]
            confidence_n[item] += 1
        for item, tagged in enumerate(decoded):
            labels[item] = _decode(tagged)
        self.items_ = data.items
        self.workers_ = data.workers
        self.tags_ = np.asarray(tags_seen, dtype=str)
        self.labels_ = labels
        self.confidences_ = np.divide(
            confidence_sum, confidence_n, out=np.ones(data.n_items), where=confidence_n > 0
        )
        self._store_skills(skills, scores)
        return self


def _tag_order(tag: str) -> tuple[int, str]:
    return (0, "") if tag == OUTSIDE else (1, tag[2:] + tag[:1])


def _parse_answer(answer: object, row: int) -> list[Span]:
    if isinstance(answer, str | bytes) or not isinstance(answer, Sequence):
        raise InvalidInput(
            "answer",
            f"row {row}: expected a list of spans, got {type(answer).__name__}",
            'write e.g. [{"start": 0, "end": 5, "label": "PER"}], or [] for none',
        )
    spans: list[Span] = []
    for span in answer:
        if not isinstance(span, Mapping) or not {"start", "end", "label"} <= span.keys():
            raise InvalidInput(
                "span", f"row {row}: each span needs start, end and label", "add the missing keys"
            )
        start, end = span["start"], span["end"]
        if not isinstance(start, int | np.integer) or not isinstance(end, int | np.integer):
            raise InvalidInput("span", f"row {row}: start and end must be integers")
        if not 0 <= start < end:
            raise InvalidInput(
                "span", f"row {row}: need 0 <= start < end, got {start}..{end}", "fix the offsets"
            )
        spans.append((int(start), int(end), require_label(span["label"], "label")))
    spans.sort()
    for (_, end_a, _), (start_b, _, _) in itertools.pairwise(spans):
        if start_b < end_a:
            raise InvalidInput(
                "span", f"row {row}: spans of one answer overlap", "merge or drop one of them"
            )
    return spans


def _segments(answers: list[list[Span]]) -> list[tuple[int, int]]:
    """Elementary segments between consecutive boundaries that some span covers."""
    cuts = sorted({offset for spans in answers for s in spans for offset in (s[0], s[1])})
    covered = [
        (a, b)
        for a, b in itertools.pairwise(cuts)
        if any(s[0] <= a and b <= s[1] for spans in answers for s in spans)
    ]
    return covered


def _tags(spans: list[Span], segments: list[tuple[int, int]]) -> list[str]:
    tags = []
    for a, b in segments:
        tag = OUTSIDE
        for start, end, label in spans:
            if start <= a and b <= end:
                tag = ("B-" if start == a else "I-") + label
                break
        tags.append(tag)
    return tags


def _decode(tagged: list[tuple[tuple[int, int], str]]) -> list[dict[str, Any]]:
    spans: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for (a, b), tag in tagged:
        if tag == OUTSIDE:
            current = None
            continue
        kind, label = tag[0], tag[2:]
        continues = (
            current is not None
            and kind == "I"
            and current["label"] == label
            and current["end"] == a
        )
        if continues and current is not None:
            current["end"] = b
        else:
            current = {"start": a, "end": b, "label": label}
            spans.append(current)
    return spans
