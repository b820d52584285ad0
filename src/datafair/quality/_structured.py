"""Shared input handling for the structured task types (multi-label, spans, boxes, text, pairs).

Each takes ``items``, ``workers`` and ``answers`` columns of equal length; a repeated
(item, worker) pair keeps its last answer, as for categorical answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from datafair.core.errors import InvalidInput
from datafair.quality._encode import as_column, keep_last, unique_codes
from datafair.quality.skills import SPAM_THRESHOLD, WorkerSkill

IntArray = NDArray[np.intp]


@dataclass(frozen=True, eq=False)
class StructuredAnswers:
    """Deduplicated answers with sorted item and worker keys and integer codes."""

    items: NDArray[Any]
    workers: NDArray[Any]
    item_idx: IntArray
    worker_idx: IntArray
    answers: list[Any]

    @property
    def n_items(self) -> int:
        return int(self.items.shape[0])

    @property
    def n_workers(self) -> int:
        return int(self.workers.shape[0])


def encode_structured(
    items: ArrayLike | Sequence[Any],
    workers: ArrayLike | Sequence[Any],
    answers: Sequence[Any],
) -> StructuredAnswers:
    """Validate the item and worker columns, pair them with ``answers`` and keep last answers."""
    item_col = as_column(items, "item")
    worker_col = as_column(workers, "worker")
    answer_list = list(answers)
    if not item_col.shape[0] == worker_col.shape[0] == len(answer_list):
        raise InvalidInput(
            "answers",
            f"columns differ in length (items {item_col.shape[0]}, workers "
            f"{worker_col.shape[0]}, answers {len(answer_list)})",
            "pass one item, worker and answer per row",
        )
    item_keys, item_idx = unique_codes(item_col, "item")
    worker_keys, worker_idx = unique_codes(worker_col, "worker")
    keep = keep_last(item_idx, worker_idx, worker_keys.shape[0])
    return StructuredAnswers(
        items=item_keys,
        workers=worker_keys,
        item_idx=item_idx[keep],
        worker_idx=worker_idx[keep],
        answers=[answer_list[int(i)] for i in keep],
    )


class StructuredAggregator:
    """Fitted attributes common to the structured aggregators.

    ``items_``, ``labels_`` (a list aligned with ``items_``, answers in the task's own form),
    ``confidences_`` (float per item), ``workers_``, ``skills_``, ``spam_scores_``,
    ``is_spammer_`` (``spam_scores_ > spam_threshold``).
    """

    items_: NDArray[Any]
    labels_: list[Any]
    confidences_: NDArray[np.float64]
    workers_: NDArray[Any]
    skills_: list[WorkerSkill]
    spam_scores_: NDArray[np.float64]
    is_spammer_: NDArray[np.bool_]

    def __init__(self, *, spam_threshold: float = SPAM_THRESHOLD) -> None:
        self.spam_threshold = spam_threshold

    def _store_skills(self, skills: list[WorkerSkill], scores: NDArray[np.float64]) -> None:
        self.skills_ = skills
        self.spam_scores_ = scores
        self.is_spammer_ = scores > self.spam_threshold

    def get_params(self) -> dict[str, Any]:
        """Constructor parameters, as scikit-learn estimators report them."""
        return {name: value for name, value in vars(self).items() if not name.endswith("_")}


def require_label(value: object, field: str) -> str:
    """A non-blank class name."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(field, f"expected a non-blank class name, got {value!r}")
    return value


def check_classes(used: set[str], classes: Sequence[str] | None) -> None:
    """Reject labels outside the declared ``classes`` (when declared)."""
    if classes is None:
        return
    declared = [require_label(name, "classes") for name in classes]
    if len(set(declared)) != len(declared):
        raise InvalidInput("classes", "declared classes repeat a value", "list each once")
    unknown = sorted(used - set(declared))
    if unknown:
        raise InvalidInput(
            "label",
            f"{unknown[0]!r} not among the classes [{', '.join(declared)}]",
            "fix the answer or declare the class",
        )
