"""Which structured answers to one item are the same answer, up to the jitter of a copy.

The copy test for structured answers (:func:`datafair.quality.dependence.detect_copies`) counts
the items where two workers gave the same answer. Taken literally, "the same" is identical
canonical JSON, and a copier evades it by moving each box a pixel, a span boundary a character,
or changing a letter of a transcription. Here two answers are *near-identical* when they differ
by no more than such a copy would:

* **multi-label**: the same label set (a set has nothing to jitter);
* **spans**: the same number of spans, matched one to one with the same label and both
  boundaries within :data:`SPAN_SHIFT` characters;
* **boxes**: the same number of boxes, matched one to one with the same label at IoU ≥
  :data:`BOX_IOU` (the share of the union outside the overlap at most a fifth of what the
  PASCAL VOC match of :data:`datafair.quality.answer_scores.BOX_MATCH_IOU` allows);
* **transcription**: normalised Levenshtein similarity ≥ :data:`TEXT_SIMILARITY`
  (:func:`datafair.quality.answer_scores.transcription_score`).

Matching is greedy, closest pairs first: at these tolerances a box or span is near at most one
of the other answer's unless that answer holds two nearly coinciding ones, so the greedy
matching is complete whenever a complete one exists. On each item, answers linked by
near-identity form one class (connected components, so the classes do not depend on the order
of the rows), and :func:`near_identity_keys` gives every row its class. Honest workers who draw
the same box tightly are near-identical too: that is why the copy test judges agreement
against third parties (:mod:`datafair.quality.dependence`), not against zero.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from datafair.core.errors import InvalidInput
from datafair.core.schemas import TaskType
from datafair.quality.answer_scores import multilabel_score, transcription_score
from datafair.quality.dependence import connected_components

SPAN_SHIFT = 2
"""Characters a span boundary may move between near-identical span answers."""

BOX_IOU = 0.9
"""IoU at which two boxes of one label are the same box in near-identical answers."""

TEXT_SIMILARITY = 0.95
"""Similarity from which two transcriptions are near-identical (a letter in twenty)."""


def _spans(answer: Sequence[Mapping[str, Any]]) -> list[tuple[str, int, int]]:
    return sorted((str(s["label"]), int(s["start"]), int(s["end"])) for s in answer)


def spans_near(a: Sequence[Mapping[str, Any]], b: Sequence[Mapping[str, Any]]) -> bool:
    """Same number of spans, matched one to one: same label, boundaries within
    :data:`SPAN_SHIFT`."""
    left, right = _spans(a), _spans(b)
    if len(left) != len(right):
        return False
    pairs = sorted(
        (abs(s[1] - t[1]) + abs(s[2] - t[2]), i, j)
        for i, s in enumerate(left)
        for j, t in enumerate(right)
        if s[0] == t[0] and abs(s[1] - t[1]) <= SPAN_SHIFT and abs(s[2] - t[2]) <= SPAN_SHIFT
    )
    return _full_matching(pairs, len(left))


Box = tuple[str, float, float, float, float]


def _boxes(answer: Sequence[Mapping[str, Any]]) -> list[Box]:
    return sorted(
        (str(b["label"]), float(b["x"]), float(b["y"]), float(b["w"]), float(b["h"]))
        for b in answer
    )


def _iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes (0 when either has no area), in plain floats: the
    answers hold a few boxes each, where numpy's per-call cost dominates."""
    if a[3] <= 0 or a[4] <= 0 or b[3] <= 0 or b[4] <= 0:
        return 0.0
    width = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    height = min(a[2] + a[4], b[2] + b[4]) - max(a[2], b[2])
    if width <= 0 or height <= 0:
        return 0.0
    overlap = width * height
    return overlap / (a[3] * a[4] + b[3] * b[4] - overlap)


def boxes_near(a: Sequence[Mapping[str, Any]], b: Sequence[Mapping[str, Any]]) -> bool:
    """Same number of boxes, matched one to one: same label, IoU ≥ :data:`BOX_IOU`."""
    left, right = _boxes(a), _boxes(b)
    if len(left) != len(right):
        return False
    pairs = []
    for i, box in enumerate(left):
        for j, other in enumerate(right):
            if box[0] == other[0]:
                overlap = _iou(box, other)
                if overlap >= BOX_IOU:
                    pairs.append((-overlap, i, j))
    return _full_matching(sorted(pairs), len(left))


def _full_matching(pairs: Sequence[tuple[float, int, int]], n: int) -> bool:
    """Whether greedy one-to-one matching over ``pairs`` (best first) matches all ``n``."""
    used_a: set[int] = set()
    used_b: set[int] = set()
    for _, i, j in pairs:
        if i not in used_a and j not in used_b:
            used_a.add(i)
            used_b.add(j)
    return len(used_a) == n


NEAR: dict[TaskType, Callable[[Any, Any], bool]] = {
    TaskType.MULTILABEL: lambda a, b: multilabel_score(a, b) == 1.0,
    TaskType.SPANS: spans_near,
    TaskType.BOXES: boxes_near,
    TaskType.TRANSCRIPTION: lambda a, b: transcription_score(a, b) >= TEXT_SIMILARITY,
}
"""Near-identity of two decoded answers, per structured task type (module doc)."""


def near_identity_keys(
    task_type: TaskType | str, answer_json: Sequence[str], item: Sequence[int]
) -> NDArray[np.intp]:
    """Per row, the class of near-identical answers (module doc) it belongs to on its item:
    rows with equal keys gave the same answer up to a copy's jitter; keys are numbered from 0
    in the order of each class's first row."""
    try:
        near = NEAR[TaskType(task_type)]
    except (KeyError, ValueError):
        raise InvalidInput("task_type", f"{task_type!r} has no structured answers") from None
    # every distinct answer text of an item is a node, numbered in the order of its first row
    node_of_row = np.empty(len(answer_json), dtype=np.intp)
    nodes_of: dict[int, dict[str, int]] = {}
    n_nodes = 0
    for row, (text, at) in enumerate(zip(answer_json, item, strict=True)):
        nodes = nodes_of.setdefault(int(at), {})
        if text not in nodes:
            nodes[text] = n_nodes
            n_nodes += 1
        node_of_row[row] = nodes[text]
    near_a: list[int] = []
    near_b: list[int] = []
    for nodes in nodes_of.values():
        numbers = list(nodes.values())
        try:
            answers = [json.loads(text) for text in nodes]
            for i in range(len(answers)):
                for j in range(i):
                    if near(answers[i], answers[j]):
                        near_a.append(numbers[j])
                        near_b.append(numbers[i])
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise InvalidInput(
                "answer", f"is not a {task_type} answer ({type(error).__name__}: {error})"
            ) from None
    component = connected_components(
        n_nodes, np.asarray(near_a, dtype=np.intp), np.asarray(near_b, dtype=np.intp)
    )
    # a component is named by its lowest node, the first in row order: number them in that order
    keys: NDArray[np.intp] = np.unique(component, return_inverse=True)[1].reshape(-1)[node_of_row]
    return keys
