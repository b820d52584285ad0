"""Inference for settling structured tasks: multi-label, spans, boxes and transcription.

Pure, like :mod:`.bundle`, which calls it. For a structured task an epoch's inference is:

1. **Aggregator.** The task type's aggregator (:class:`~datafair.quality.MultiLabelAggregator`,
   :class:`~datafair.quality.SpanAggregator`, :class:`~datafair.quality.BoxAggregator`,
   :class:`~datafair.quality.TranscriptionAggregator`) is fitted on every submission so far, in
   the canonical columns (item index, contributor index, decoded answer) and with the task's
   declared classes. What ``method`` means (:func:`structured_aggregator`):

   * multi-label and spans aggregators put one categorical question per class or per text
     segment to the crowd; ``method`` and its ``params`` name the categorical aggregator of
     those votes, exactly as for a classification task (``spam_threshold`` is the structured
     aggregator's own, with the same meaning);
   * boxes and transcription aggregators have no categorical vote: ``method`` must be ``auto``
     and ``params`` are the aggregator's own constructor parameters (IoU threshold, rounds).

   Reviews are *not* evidence here (a reject of a structured answer says something is wrong,
   not what is right); they are only paid, by agreement (:mod:`.bundle`).
2. **Consensus labels** (:func:`consensus_labels`): one per item, in the task's canonical
   answer form (boxes rounded to 0.01 pixel and sorted like answers), as canonical JSON values;
   on a gold item the gold answer replaces the consensus, as gold is clamped for categorical
   tasks.
3. **Scores** (:func:`datafair.quality.answer_scores.score_rows`): each answer's score in
   ``[0, 1]`` against its item's label (Jaccard, span F1, box F1 at IoU ≥ 0.5, normalised
   Levenshtein similarity; :mod:`datafair.quality.answer_scores`). The score is the answer's
   ``p_correct``; an answer is *right* when it scores at least
   :data:`~datafair.quality.answer_scores.PASS_SCORE` (a gold answer below it fails gold; a
   review agrees with an accepted answer at or above it, with a rejected one below it).

Anyone can recompute step 3 from the bundle alone: the labels are published.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from datafair.core.canonical import canonical_json
from datafair.core.errors import InvalidInput
from datafair.core.schemas import TaskType
from datafair.quality import (
    BoxAggregator,
    MultiLabelAggregator,
    SpanAggregator,
    TranscriptionAggregator,
    get_aggregator,
)
from datafair.quality._structured import StructuredAggregator
from datafair.quality.answer_scores import SCORERS

STRUCTURED = frozenset(SCORERS)
"""Structured task types settlement pays (by score against the consensus)."""
VOTING = frozenset({TaskType.MULTILABEL, TaskType.SPANS})
"""Structured types whose aggregator runs a categorical aggregator (``method``) per question."""
OWN_AGGREGATOR = frozenset({TaskType.BOXES, TaskType.TRANSCRIPTION})
"""Structured types aggregated without a categorical vote (``method`` must be ``auto``)."""

_AGGREGATORS: dict[TaskType, type[StructuredAggregator]] = {
    TaskType.MULTILABEL: MultiLabelAggregator,
    TaskType.SPANS: SpanAggregator,
    TaskType.BOXES: BoxAggregator,
    TaskType.TRANSCRIPTION: TranscriptionAggregator,
}


def structured_aggregator(
    task_type: TaskType, method: str, params: Mapping[str, Any]
) -> StructuredAggregator:
    """The unfitted aggregator of a structured ``task_type`` for ``method`` and ``params``.

    ``InvalidInput`` (``quality.method`` or ``quality.params``) when they do not fit the type.
    """
    factory = _AGGREGATORS[task_type]
    try:
        if task_type in VOTING:
            get_aggregator(method, **params)  # checks the name and the parameters now
            voting: Any = factory  # (method, **params) constructors
            built: StructuredAggregator = voting(method, **params)
            return built
        if method.strip().lower() != "auto":
            raise InvalidInput(
                "quality.method",
                f"{method!r} names a categorical aggregator; a {task_type} task is aggregated "
                f"by {factory.__name__} alone",
                "settle it with the default method auto",
            )
        return factory(**params)
    except (TypeError, ValueError) as error:
        raise InvalidInput("quality.params", f"do not fit method {method!r}: {error}") from None


def fit_structured(
    model: StructuredAggregator,
    item: np.ndarray,
    contributor: np.ndarray,
    values: Sequence[Any],
    classes: Sequence[str] | None,
) -> None:
    """Fit ``model`` on the canonical columns (transcription takes no classes)."""
    if classes is None:
        model.fit(item, contributor, values)  # type: ignore[attr-defined]
    else:
        model.fit(item, contributor, values, classes=classes)  # type: ignore[attr-defined]


def _canonical_boxes(boxes: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Boxes as answers are stored: coordinates rounded to 0.01, sorted by (y, x, w, h, label)."""
    rounded = [
        {key: round(float(box[key]), 2) for key in ("x", "y", "w", "h")} | {"label": box["label"]}
        for box in boxes
    ]
    rounded.sort(key=lambda b: (b["y"], b["x"], b["w"], b["h"], b["label"]))
    return rounded


def consensus_labels(
    task_type: TaskType, labels: Sequence[Any], gold_index: Mapping[int, Any]
) -> list[Any]:
    """One canonical JSON value per item: the aggregator's label, or the gold answer."""
    out = []
    for position, label in enumerate(labels):
        if position in gold_index:
            value = gold_index[position]
        elif task_type is TaskType.BOXES:
            value = _canonical_boxes(label)
        elif task_type is TaskType.SPANS:
            value = sorted(label, key=lambda s: (s["start"], s["end"]))
        else:
            value = label
        out.append(json.loads(canonical_json(value)))
    return out
