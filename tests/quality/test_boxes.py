"""Bounding boxes: IoU clustering and skill-weighted fusion."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from datafair.core.errors import InvalidInput
from datafair.quality import BoxAggregator
from datafair.quality.boxes import iou


def _crowd(seed: int = 0) -> tuple[list[int], list[int], list[list[dict[str, Any]]], list[Any]]:
    rng = np.random.default_rng(seed)
    truth = []
    for _ in range(120):
        boxes = []
        for k in range(int(rng.integers(0, 4))):  # objects in separate grid cells
            boxes.append(
                {
                    "x": 200.0 * k + float(rng.uniform(0, 50)),
                    "y": float(rng.uniform(0, 300)),
                    "w": float(rng.uniform(40, 120)),
                    "h": float(rng.uniform(40, 120)),
                    "label": str(rng.choice(["car", "dog"])),
                }
            )
        truth.append(boxes)
    items, workers, answers = [], [], []
    for item, boxes in enumerate(truth):
        for w in rng.choice(10, 5, replace=False):
            if w >= 7:  # spammer: random boxes
                answer = [
                    {
                        "x": float(rng.uniform(0, 600)),
                        "y": float(rng.uniform(0, 400)),
                        "w": 50.0,
                        "h": 50.0,
                        "label": "car",
                    }
                    for _ in range(int(rng.integers(0, 3)))
                ]
            else:
                answer = [
                    {**b, "x": b["x"] + rng.normal(0, 2), "y": b["y"] + rng.normal(0, 2)}
                    for b in boxes
                    if rng.random() < 0.9
                ]
            items.append(item)
            workers.append(int(w))
            answers.append(answer)
    return items, workers, answers, truth


def _as_array(box: dict[str, Any]) -> np.ndarray:
    return np.array([box["x"], box["y"], box["w"], box["h"]])


def test_iou_values() -> None:
    box = np.array([0.0, 0.0, 10.0, 10.0])
    others = np.array([[0.0, 0.0, 10.0, 10.0], [5.0, 0.0, 10.0, 10.0], [20.0, 20.0, 5.0, 5.0]])
    np.testing.assert_allclose(iou(box, others), [1.0, 50 / 150, 0.0])


def test_recovers_boxes_and_flags_random_boxers() -> None:
    items, workers, answers, truth = _crowd()
    est = BoxAggregator().fit(items, workers, answers)
    hits = found = expected = 0
    for boxes, true in zip(est.labels_, truth, strict=True):
        found += len(boxes)
        expected += len(true)
        for t in true:
            hits += any(
                b["label"] == t["label"] and iou(_as_array(b), _as_array(t)[None])[0] > 0.75
                for b in boxes
            )
    assert hits / expected > 0.95 and hits / found > 0.95
    assert est.is_spammer_.tolist() == [False] * 7 + [True] * 3
    assert all(len(s) == len(b) for s, b in zip(est.supports_, est.labels_, strict=True))


def test_fused_box_is_the_mean_and_a_lone_box_is_dropped() -> None:
    a = {"x": 10.0, "y": 10.0, "w": 20.0, "h": 20.0, "label": "cat"}
    b = {"x": 12.0, "y": 10.0, "w": 20.0, "h": 20.0, "label": "cat"}
    lone = {"x": 300.0, "y": 300.0, "w": 20.0, "h": 20.0, "label": "cat"}
    est = BoxAggregator(n_rounds=1).fit(["img"] * 3, ["u", "v", "w"], [[a], [b], [lone]])
    assert est.labels_ == [[{"x": 11.0, "y": 10.0, "w": 20.0, "h": 20.0, "label": "cat"}]]
    assert est.supports_ == [[pytest.approx(2 / 3)]]


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ({"x": 1}, "expected a list of boxes"),
        ([{"x": 0, "y": 0, "w": 5, "label": "a"}], "needs x, y, w, h and label"),
        ([{"x": 0, "y": 0, "w": 0, "h": 5, "label": "a"}], "w, h > 0"),
        ([{"x": "left", "y": 0, "w": 5, "h": 5, "label": "a"}], "must be numbers"),
        ([{"x": float("nan"), "y": 0, "w": 5, "h": 5, "label": "a"}], "finite"),
    ],
)
def test_bad_box_answers(answer: Any, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        BoxAggregator().fit(["x"], ["w"], [answer])


def test_declared_classes() -> None:
    box = [{"x": 0, "y": 0, "w": 5, "h": 5, "label": "cat"}]
    with pytest.raises(InvalidInput, match=r"label: 'cat' not among the classes \[dog\]"):
        BoxAggregator().fit(["x"], ["a"], [box], classes=["dog"])
    with pytest.raises(InvalidInput, match="classes: declared classes repeat"):
        BoxAggregator().fit(["x"], ["a"], [box], classes=["cat", "cat"])
