"""How close one structured answer is to a reference answer (a consensus or a gold answer).

Every score is a float in ``[0, 1]``, 1 for identical answers, deterministic and (except where
noted) symmetric in its two arguments. Answers are in the canonical forms of
:mod:`datafair.core.schemas`; settlement uses the score of an answer against its item's
consensus label as the answer's ``p_correct``.

* **Multi-label** (:func:`multilabel_score`): Jaccard similarity of the two label sets,
  ``|A ∩ B| / |A ∪ B|`` (Jaccard 1912; the example-based "accuracy" of multi-label evaluation,
  Godbole & Sarawagi, "Discriminative Methods for Multi-labeled Classification", PAKDD 2004).
  Two empty sets score 1.
* **Spans** (:func:`span_score`): F1 of exactly matching ``(start, end, label)`` spans,
  ``2 |A ∩ B| / (|A| + |B|)`` — the exact-match entity F1 of the CoNLL-2003 shared task (Tjong
  Kim Sang & De Meulder 2003). Two empty answers score 1.
* **Boxes** (:func:`box_score`): F1 ``2 m / (|A| + |B|)`` of ``m`` one-to-one matches. Candidate
  pairs have the same label and IoU ≥ :data:`BOX_MATCH_IOU` (the PASCAL VOC criterion,
  Everingham et al., IJCV 88, 2010); they are taken greedily in order of decreasing IoU, ties
  broken by the boxes' coordinates and labels (the same whichever answer comes first), each box
  matched at most once. Boxes of zero area match nothing. Two empty answers score 1; two answers
  with the same boxes score 1.
* **Transcription** (:func:`transcription_score`): ``1 − lev(a, b) / max(|a|, |b|)`` on the
  normalised texts (:func:`datafair.quality.transcription.normalise_text`: NFKC, case-folded,
  whitespace collapsed) — the similarity :class:`~datafair.quality.TranscriptionAggregator`
  chooses its consensus by. Two empty texts score 1.

:data:`PASS_SCORE` is where settlement draws the line between right and wrong.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from datafair.core.errors import InvalidInput
from datafair.core.schemas import TaskType
from datafair.quality.boxes import iou
from datafair.quality.transcription import normalise_text, similarity

BOX_MATCH_IOU = 0.5
"""A box matches a reference box of the same label when their IoU is at least this."""

PASS_SCORE = 0.5
"""An answer scoring at least this against its reference counts as right: it passes a gold item,
and a review accepting it agrees with its standing (a reject agrees below it)."""

Box = tuple[float, float, float, float, str]


def _f1(matched: int, n_a: int, n_b: int) -> float:
    """``2 m / (|A| + |B|)``; 1.0 when both are empty."""
    return 1.0 if n_a + n_b == 0 else 2.0 * matched / (n_a + n_b)


def multilabel_score(answer: Iterable[str], reference: Iterable[str]) -> float:
    """Jaccard similarity of two label sets (two empty sets: 1.0)."""
    if isinstance(answer, str) or isinstance(reference, str):
        raise TypeError("a multi-label answer is a list of class names, not one string")
    a, b = set(answer), set(reference)
    union = a | b
    return 1.0 if not union else len(a & b) / len(union)


def _span_keys(spans: Iterable[Mapping[str, Any]]) -> Counter[tuple[int, int, str]]:
    return Counter((int(s["start"]), int(s["end"]), str(s["label"])) for s in spans)


def span_score(
    answer: Iterable[Mapping[str, Any]], reference: Iterable[Mapping[str, Any]]
) -> float:
    """F1 of exactly matching ``(start, end, label)`` spans (two empty answers: 1.0)."""
    a, b = _span_keys(answer), _span_keys(reference)
    matched = sum((a & b).values())
    return _f1(matched, sum(a.values()), sum(b.values()))


def _boxes(boxes: Iterable[Mapping[str, Any]]) -> list[Box]:
    return sorted(
        (float(b["x"]), float(b["y"]), float(b["w"]), float(b["h"]), str(b["label"])) for b in boxes
    )


def box_score(answer: Iterable[Mapping[str, Any]], reference: Iterable[Mapping[str, Any]]) -> float:
    """F1 of boxes matched one-to-one, greedily by IoU ≥ :data:`BOX_MATCH_IOU`, same label."""
    a, b = _boxes(answer), _boxes(reference)
    if a == b:
        return 1.0
    pairs: list[tuple[float, Box, Box, int, int]] = []
    coords_b = np.asarray([box[:4] for box in b], dtype=np.float64).reshape(-1, 4)
    usable_b = (coords_b[:, 2] > 0) & (coords_b[:, 3] > 0)
    for i, box in enumerate(a):
        if box[2] <= 0 or box[3] <= 0:
            continue
        overlaps = iou(np.asarray(box[:4], dtype=np.float64), coords_b)
        for j, other in enumerate(b):
            if usable_b[j] and other[4] == box[4] and overlaps[j] >= BOX_MATCH_IOU:
                low, high = sorted((box, other))
                pairs.append((-float(overlaps[j]), low, high, i, j))
    pairs.sort(key=lambda pair: pair[:3])
    used_a: set[int] = set()
    used_b: set[int] = set()
    for _, _, _, i, j in pairs:
        if i not in used_a and j not in used_b:
            used_a.add(i)
            used_b.add(j)
    return _f1(len(used_a), len(a), len(b))


def transcription_score(answer: str, reference: str) -> float:
    """Normalised Levenshtein similarity of the normalised texts (two empty texts: 1.0)."""
    return similarity(normalise_text(answer), normalise_text(reference))


SCORERS: dict[TaskType, Callable[[Any, Any], float]] = {
    TaskType.MULTILABEL: multilabel_score,
    TaskType.SPANS: span_score,
    TaskType.BOXES: box_score,
    TaskType.TRANSCRIPTION: transcription_score,
}
"""The score of each structured task type."""


def answer_scores(
    task_type: TaskType | str, answers: Sequence[Any], references: Sequence[Any]
) -> list[float]:
    """The score of each answer against the reference on the same row (see the module doc)."""
    try:
        scorer = SCORERS[TaskType(task_type)]
    except (KeyError, ValueError):
        raise InvalidInput(
            "task_type",
            f"{task_type!r} has no answer score",
            f"scores exist for {', '.join(sorted(SCORERS))}",
        ) from None
    if len(answers) != len(references):
        raise InvalidInput("answers", "need one reference per answer")
    try:
        return [scorer(a, r) for a, r in zip(answers, references, strict=True)]
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise InvalidInput(
            "answer", f"is not a {task_type} answer ({type(error).__name__}: {error})"
        ) from None


def score_rows(
    task_type: TaskType | str,
    answer_json: Sequence[str],
    item: Sequence[int],
    labels: Sequence[Any],
) -> list[float]:
    """The score of each row's answer (canonical JSON text) against ``labels[item[row]]``.

    Equal answers to one item are decoded and scored once.
    """
    first: dict[tuple[str, int], int] = {}
    rows: list[int] = []
    for row, key in enumerate(zip(answer_json, item, strict=True)):
        if key not in first:
            first[key] = len(rows)
            rows.append(row)
    try:
        answers = [json.loads(answer_json[r]) for r in rows]
    except ValueError as error:
        raise InvalidInput("answer", f"is not JSON ({error})") from None
    scores = answer_scores(task_type, answers, [labels[item[r]] for r in rows])
    return [scores[first[key]] for key in zip(answer_json, item, strict=True)]
