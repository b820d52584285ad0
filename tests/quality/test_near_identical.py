"""Near-identical structured answers: what a copy's jitter leaves the same, and what it does not."""

from __future__ import annotations

import json

import pytest

from datafair.core.errors import InvalidInput
from datafair.quality.near_identical import (
    BOX_IOU,
    SPAN_SHIFT,
    boxes_near,
    near_identity_keys,
    spans_near,
)


def _box(x: float, y: float, w: float, h: float, label: str = "car") -> dict[str, object]:
    return {"x": x, "y": y, "w": w, "h": h, "label": label}


def test_boxes_are_near_when_every_box_has_a_twin_of_its_label() -> None:
    source = [_box(10, 10, 40, 30), _box(60, 40, 20, 20, "person")]
    moved = [_box(60.5, 40, 20, 20.5, "person"), _box(10.5, 10.5, 40, 30)]
    assert boxes_near(source, moved) and boxes_near(moved, source)
    assert boxes_near([], [])
    # one box moved by a fifth of its width: IoU 0.67
    assert not boxes_near(source, [_box(18, 10, 40, 30), source[1]])
    assert not boxes_near(source, [source[0], _box(60, 40, 20, 20, "car")])  # other label
    assert not boxes_near(source, source[:1])  # a box missing
    assert not boxes_near([_box(10, 10, 40, 30)] * 2, [_box(10, 10, 40, 30), _box(70, 50, 5, 5)])


def test_the_box_threshold_is_the_documented_iou() -> None:
    # a 100-wide box shifted by d overlaps (100 - d) / (100 + d)
    shift = 100 * (1 - BOX_IOU) / (1 + BOX_IOU)
    assert boxes_near([_box(0, 0, 100, 10)], [_box(shift * 0.99, 0, 100, 10)])
    assert not boxes_near([_box(0, 0, 100, 10)], [_box(shift * 1.01, 0, 100, 10)])


def test_spans_are_near_when_boundaries_move_by_at_most_the_shift() -> None:
    span = {"start": 10, "end": 20, "label": "PER"}
    near = {"start": 10 + SPAN_SHIFT, "end": 20 - SPAN_SHIFT, "label": "PER"}
    far = {"start": 10 + SPAN_SHIFT + 1, "end": 20, "label": "PER"}
    assert spans_near([span], [near])
    assert not spans_near([span], [far])
    assert not spans_near([span], [{**span, "label": "ORG"}])
    assert not spans_near([span], [span, near])
    assert spans_near([], [])


def _keys(task_type: str, answers: list[object], items: list[int] | None = None) -> list[int]:
    texts = [json.dumps(a) for a in answers]
    return near_identity_keys(task_type, texts, items or [0] * len(texts)).tolist()


def test_keys_join_near_answers_on_one_item_only() -> None:
    a, b, c = [_box(10, 10, 40, 30)], [_box(10.5, 10, 40, 30)], [_box(30, 30, 40, 30)]
    keys = _keys("boxes", [a, b, c, a], [0, 0, 0, 1])
    assert keys[0] == keys[1] != keys[2]
    assert keys[3] not in keys[:3]  # the same boxes on another item are another answer


def test_keys_do_not_depend_on_the_order_of_the_rows() -> None:
    # b is near a and c, which are not near each other: all three are one class either way
    a, b, c = [_box(10, 10, 40, 30)], [_box(11.5, 10, 40, 30)], [_box(13, 10, 40, 30)]
    assert not boxes_near(a, c) and boxes_near(a, b) and boxes_near(b, c)
    for order in ([a, b, c], [a, c, b], [c, a, b]):
        assert len(set(_keys("boxes", order))) == 1


@pytest.mark.parametrize(
    ("task_type", "same", "other"),
    [
        ("multilabel", (["a", "b"], ["b", "a"]), ["a"]),
        (
            "transcription",
            ("The quick brown fox jumps over it", "the quick brown fox jumps over it."),
            "a lazy dog",
        ),
    ],
)
def test_sets_must_be_equal_and_texts_nearly_so(
    task_type: str, same: tuple[object, object], other: object
) -> None:
    keys = _keys(task_type, [same[0], same[1], other])
    assert keys[0] == keys[1] != keys[2]


def test_a_malformed_answer_is_refused_naming_the_type() -> None:
    with pytest.raises(InvalidInput, match="boxes answer"):
        near_identity_keys("boxes", [json.dumps([{"x": 1}]), json.dumps([])], [0, 0])
    with pytest.raises(InvalidInput, match="task_type"):
        near_identity_keys("classification", ["1"], [0])
