"""Bounding boxes: cluster by IoU, keep clusters most of the crowd drew, fuse by skill.

Input columns: ``items``, ``workers``, ``answers`` where each answer is a list of
``{"x": float, "y": float, "w": float, "h": float, "label": str}`` in pixels (top-left corner,
width, height > 0); an empty list means "nothing to box".

Method, per item: boxes are taken in order of their worker's weight and each joins the
same-label cluster whose fused box it overlaps most, with IoU ≥ ``iou_threshold`` and at most
one box per worker, or starts a new cluster. A cluster is kept when the summed weight of its
workers is at least half the weight of all workers who answered the item (a skill-weighted
vote on "is there an object here"); its box is the weighted mean of its members' coordinates
(weighted box fusion, Solovyev, Wang & Gabruseva, "Weighted Boxes Fusion", Image and Vision
Computing 107, 2021). A worker's units are their boxes plus the kept clusters they missed;
a unit succeeds when the box is in a kept cluster, scored by its IoU with the fused box
computed *without* that worker. Weights are the resulting accuracies; ``n_rounds`` rounds.

Fitted: ``labels_`` (list of box lists), ``supports_`` (per fused box, the weight share of the
workers behind it), ``confidences_`` (mean support; 1.0 for an item left empty), skills with
``confusion[w]`` the 2 × 2 (miss, hit) matrix. Spam score: posterior probability that a worker's
accuracy is below 0.2 (a random boxer scores about 0).
"""

from __future__ import annotations

import math
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
from datafair.quality.skills import SPAM_THRESHOLD, beta_summary, skills_from_agreement

FloatArray = NDArray[np.float64]


def iou(box: FloatArray, others: FloatArray) -> FloatArray:
    """Intersection over union of one ``(x, y, w, h)`` box with each row of ``others``."""
    if others.shape[0] == 0:
        return np.zeros(0)
    x1 = np.maximum(box[0], others[:, 0])
    y1 = np.maximum(box[1], others[:, 1])
    x2 = np.minimum(box[0] + box[2], others[:, 0] + others[:, 2])
    y2 = np.minimum(box[1] + box[3], others[:, 1] + others[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    union = box[2] * box[3] + others[:, 2] * others[:, 3] - inter
    result: FloatArray = inter / union
    return result


class BoxAggregator(StructuredAggregator):
    """IoU clustering with skill-weighted box fusion (see module doc)."""

    supports_: list[list[float]]

    def __init__(
        self,
        *,
        iou_threshold: float = 0.5,
        n_rounds: int = 3,
        spam_threshold: float = SPAM_THRESHOLD,
    ) -> None:
        super().__init__(spam_threshold=spam_threshold)
        self.iou_threshold = iou_threshold
        self.n_rounds = n_rounds

    def fit(
        self,
        items: ArrayLike | Sequence[Any],
        workers: ArrayLike | Sequence[Any],
        answers: Sequence[Sequence[Mapping[str, Any]]],
        *,
        classes: Sequence[str] | None = None,
    ) -> Self:
        """Infer each item's boxes from every worker's list of box dicts.

        ``classes``, when given, lists the allowed box labels; others are an error.
        """
        data = encode_structured(items, workers, answers)
        parsed = [_parse_answer(answer, row) for row, answer in enumerate(data.answers)]
        check_classes({box[4] for boxes in parsed for box in boxes}, classes)
        by_item: list[list[int]] = [[] for _ in range(data.n_items)]
        for row, item in enumerate(data.item_idx.tolist()):
            by_item[item].append(row)

        weights = np.ones(data.n_workers)
        success = np.zeros(data.n_workers)
        trials = np.zeros(data.n_workers)
        results: list[tuple[list[dict[str, Any]], list[float]]] = []
        for _ in range(max(self.n_rounds, 1)):
            success[:] = 0.0
            trials[:] = 0.0
            results = []
            for rows in by_item:
                answered = [int(data.worker_idx[r]) for r in rows]
                boxes, owners, labels = _flatten([parsed[r] for r in rows], answered)
                kept = self._item(boxes, owners, labels, answered, weights, success, trials)
                results.append(kept)
            mean, _, _ = beta_summary(success, trials)
            weights = np.maximum(mean, 1e-3)

        n_answers = np.bincount(data.worker_idx, minlength=data.n_workers).astype(np.intp)
        skills, scores = skills_from_agreement(data.workers, success, trials, n_answers, chance=0.0)
        self.items_ = data.items
        self.workers_ = data.workers
        self.labels_ = [boxes for boxes, _ in results]
        self.supports_ = [support for _, support in results]
        self.confidences_ = np.asarray(
            [float(np.mean(s)) if s else 1.0 for s in self.supports_], dtype=np.float64
        )
        self._store_skills(skills, scores)
        return self

    def _item(
        self,
        boxes: FloatArray,
        owners: NDArray[np.intp],
        labels: list[str],
        answered: list[int],
        weights: FloatArray,
        success: FloatArray,
        trials: FloatArray,
    ) -> tuple[list[dict[str, Any]], list[float]]:
        order = sorted(range(len(labels)), key=lambda j: (-weights[owners[j]], j))
        members: list[list[int]] = []
        fused: list[FloatArray] = []
        for j in order:
            best, best_iou = -1, self.iou_threshold
            for c, group in enumerate(members):
                if labels[group[0]] != labels[j] or any(owners[m] == owners[j] for m in group):
                    continue
                overlap = float(iou(fused[c], boxes[j : j + 1])[0])
                if overlap >= best_iou:
                    best, best_iou = c, overlap
            if best < 0:
                members.append([j])
                fused.append(boxes[j].copy())
            else:
                members[best].append(j)
                w = weights[owners[members[best]]]
                fused[best] = (w[:, None] * boxes[members[best]]).sum(axis=0) / w.sum()

        total = float(weights[answered].sum())
        kept_boxes: list[dict[str, Any]] = []
        supports: list[float] = []
        for c, group in enumerate(members):
            support = float(weights[owners[group]].sum()) / total
            keep = support >= 0.5
            for m in group:
                trials[owners[m]] += 1.0
                if keep:
                    success[owners[m]] += _loo_iou(boxes, owners, weights, group, m)
            if keep:
                drew = {int(owners[m]) for m in group}
                for worker in answered:
                    if worker not in drew:
                        trials[worker] += 1.0
                bx, by, bw, bh = (float(v) for v in fused[c])
                kept_boxes.append({"x": bx, "y": by, "w": bw, "h": bh, "label": labels[group[0]]})
                supports.append(support)
        return kept_boxes, supports


def _loo_iou(
    boxes: FloatArray, owners: NDArray[np.intp], weights: FloatArray, group: list[int], m: int
) -> float:
    """IoU of box ``m`` with the fusion of the other members (1.0 when alone)."""
    others = [g for g in group if g != m]
    if not others:
        return 1.0
    w = weights[owners[others]]
    fused = (w[:, None] * boxes[others]).sum(axis=0) / w.sum()
    return float(iou(fused, boxes[m : m + 1])[0])


def _flatten(
    answers: list[list[tuple[float, float, float, float, str]]], answered: list[int]
) -> tuple[FloatArray, NDArray[np.intp], list[str]]:
    coords: list[tuple[float, float, float, float]] = []
    owners: list[int] = []
    labels: list[str] = []
    for worker, boxes in zip(answered, answers, strict=True):
        for x, y, w, h, label in boxes:
            coords.append((x, y, w, h))
            owners.append(worker)
            labels.append(label)
    array = np.asarray(coords, dtype=np.float64).reshape(-1, 4)
    return array, np.asarray(owners, dtype=np.intp), labels


def _parse_answer(answer: object, row: int) -> list[tuple[float, float, float, float, str]]:
    if isinstance(answer, str | bytes) or not isinstance(answer, Sequence):
        raise InvalidInput(
            "answer",
            f"row {row}: expected a list of boxes, got {type(answer).__name__}",
            'write e.g. [{"x": 10, "y": 20, "w": 30, "h": 40, "label": "car"}], or []',
        )
    boxes = []
    for box in answer:
        if not isinstance(box, Mapping) or not {"x", "y", "w", "h", "label"} <= box.keys():
            raise InvalidInput(
                "box", f"row {row}: each box needs x, y, w, h and label", "add the missing keys"
            )
        try:
            x, y, w, h = (float(box[key]) for key in ("x", "y", "w", "h"))
        except (TypeError, ValueError):
            raise InvalidInput("box", f"row {row}: x, y, w, h must be numbers") from None
        if not all(math.isfinite(v) for v in (x, y, w, h)) or w <= 0 or h <= 0:
            raise InvalidInput(
                "box", f"row {row}: need finite coordinates and w, h > 0", "fix the box"
            )
        boxes.append((x, y, w, h, require_label(box["label"], "label")))
    return boxes
