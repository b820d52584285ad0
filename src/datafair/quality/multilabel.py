"""Multi-label classification by per-class binary relevance.

Input columns: ``items``, ``workers``, ``answers`` where each answer is the list (set) of class
names the worker ticked; an empty list means "none apply". Every class is an independent
yes/no question put to every worker who answered the item, and each is aggregated by a
categorical aggregator (``method``, default ``"auto"``: Bayesian Dawid-Skene, so each worker gets
per-class sensitivity and specificity). This is binary relevance (Tsoumakas & Katakis,
"Multi-Label Classification: An Overview", 2007) combined with Dawid-Skene per class
(Duan, Oyama, Sato & Kurihara, "Separate or Joint? Estimation of Multiple Labels from Crowdsourced
Annotations", Expert Systems with Applications 41, 2014).

Fitted: ``classes_``; ``probas_`` (items × classes, probability that the class applies);
``labels_`` (list of class lists, those with probability ≥ 0.5, in ``classes_`` order);
``confidences_`` (mean over classes of the probability of the chosen yes/no);
skills pooled over classes — ``confusion[w]`` is the 2 × 2 (absent/present) matrix.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self

import numpy as np
from numpy.typing import ArrayLike, NDArray

from datafair.core.errors import InvalidInput
from datafair.quality._encode import as_column
from datafair.quality._structured import StructuredAggregator, encode_structured, require_label
from datafair.quality.skills import SPAM_THRESHOLD, build_skills


class MultiLabelAggregator(StructuredAggregator):
    """Per-class binary relevance over a categorical aggregator (see module doc)."""

    classes_: NDArray[Any]
    probas_: NDArray[np.float64]

    def __init__(
        self,
        method: str = "auto",
        *,
        spam_threshold: float = SPAM_THRESHOLD,
        **params: Any,
    ) -> None:
        super().__init__(spam_threshold=spam_threshold)
        self.method = method
        self.params = params

    def fit(
        self,
        items: ArrayLike | Sequence[Any],
        workers: ArrayLike | Sequence[Any],
        answers: Sequence[Sequence[str]],
        *,
        classes: Sequence[str] | None = None,
    ) -> Self:
        """Infer the set of classes of each item; ``answers[j]`` is a list of class names."""
        from datafair.quality import get_aggregator

        data = encode_structured(items, workers, answers)
        ticked = [_answer_set(answer, row) for row, answer in enumerate(data.answers)]
        if classes is not None:
            class_keys = as_column(list(classes), "classes")
            if np.unique(class_keys).shape[0] != class_keys.shape[0]:
                raise InvalidInput("classes", "declared classes repeat a value", "list each once")
            known = set(class_keys.tolist())
            for row, chosen in enumerate(ticked):
                unknown = sorted(chosen - known)
                if unknown:
                    raise InvalidInput(
                        "label",
                        f"{unknown[0]!r} in answer row {row} is not among the classes",
                        "fix the answer or declare the class",
                    )
        else:
            class_keys = np.asarray(sorted(set().union(*ticked)) if ticked else [], dtype=str)

        n_items, n_workers, k = data.n_items, data.n_workers, class_keys.shape[0]
        probas = np.zeros((n_items, k))
        counts = np.zeros((n_workers, 2, 2))
        for c, name in enumerate(class_keys.tolist()):
            present = np.fromiter((name in chosen for chosen in ticked), bool, len(ticked))
            est = get_aggregator(self.method, **self.params).fit(
                data.item_idx, data.worker_idx, present.astype(np.int64), classes=[0, 1]
            )
            probas[est.items_, c] = est.probas_[:, 1]
            counts[est.workers_] += est.confusion_counts_

        n_answers = np.bincount(data.worker_idx, minlength=n_workers).astype(np.intp)
        skills, scores = build_skills(data.workers, counts, n_answers)
        chosen_mask = probas >= 0.5
        self.items_ = data.items
        self.classes_ = class_keys
        self.workers_ = data.workers
        self.probas_ = probas
        self.labels_ = [class_keys[row].tolist() for row in chosen_mask]
        sure = np.where(chosen_mask, probas, 1.0 - probas)
        self.confidences_ = sure.mean(axis=1) if k else np.ones(n_items)
        self._store_skills(skills, scores)
        return self


def _answer_set(answer: object, row: int) -> set[str]:
    if isinstance(answer, str) or not isinstance(answer, Sequence | set | frozenset):
        raise InvalidInput(
            "answer",
            f"row {row}: expected a list of class names, got {type(answer).__name__}",
            'write e.g. ["cat", "dog"], or [] for none',
        )
    return {require_label(value, "label") for value in answer}
