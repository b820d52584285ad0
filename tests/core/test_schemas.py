"""Answer validation and canonical forms for every task type."""

from __future__ import annotations

import pytest

from datafair.core.errors import InvalidInput
from datafair.core.schemas import ItemContext, ItemKind, LabelSchema, TaskType

TEXT = ItemContext(ItemKind.TEXT, text_length=20)
IMAGE = ItemContext(ItemKind.IMAGE, width=100, height=50)
PAIR = ItemContext(ItemKind.PAIR)
CLS = LabelSchema(TaskType.CLASSIFICATION, ("cat", "dog"))
MULTI = LabelSchema(TaskType.MULTILABEL, ("red", "green", "blue"))
SPANS = LabelSchema(TaskType.SPANS, ("PER", "LOC"))
BOXES = LabelSchema(TaskType.BOXES, ("car",))
OCR = LabelSchema(TaskType.TRANSCRIPTION)
PREF = LabelSchema(TaskType.PREFERENCE)


def test_classification_accepts_a_class() -> None:
    assert CLS.validate("dog", TEXT) == "dog"
    assert CLS.validate("cat", IMAGE) == "cat"


def test_multilabel_is_ordered_by_schema() -> None:
    assert MULTI.validate(["blue", "red"], IMAGE) == ["red", "blue"]
    assert MULTI.validate([], TEXT) == []


def test_spans_are_sorted() -> None:
    answer = [{"start": 10, "end": 12, "label": "LOC"}, {"start": 0, "end": 4, "label": "PER"}]
    assert SPANS.validate(answer, TEXT) == [
        {"start": 0, "end": 4, "label": "PER"},
        {"start": 10, "end": 12, "label": "LOC"},
    ]


def test_boxes_are_rounded_and_sorted() -> None:
    answer = [
        {"x": 10, "y": 20.004, "w": 5, "h": 5, "label": "car"},
        {"x": 0, "y": 0, "w": 100, "h": 50, "label": "car"},
    ]
    assert BOXES.validate(answer, IMAGE) == [
        {"x": 0.0, "y": 0.0, "w": 100.0, "h": 50.0, "label": "car"},
        {"x": 10.0, "y": 20.0, "w": 5.0, "h": 5.0, "label": "car"},
    ]


def test_transcription_is_normalised() -> None:
    assert OCR.validate("  Cafe\u0301 ", IMAGE) == "Café"


def test_preference_accepts_a_or_b() -> None:
    assert PREF.validate("b", PAIR) == "b"


@pytest.mark.parametrize(
    "schema,answer,item,match",
    [
        (CLS, "bird", TEXT, "unknown class 'bird'"),
        (CLS, 1, TEXT, "unknown class"),
        (MULTI, "red", TEXT, "must be a list"),
        (MULTI, ["red", "red"], TEXT, "twice"),
        (MULTI, ["pink"], TEXT, "unknown class 'pink'"),
        (SPANS, [{"start": 15, "end": 25, "label": "PER"}], TEXT, "out of range"),
        (SPANS, [{"start": 5, "end": 5, "label": "PER"}], TEXT, "out of range"),
        (SPANS, [{"start": -1, "end": 2, "label": "PER"}], TEXT, "out of range"),
        (SPANS, [{"start": 0, "end": 2.5, "label": "PER"}], TEXT, "integer"),
        (SPANS, [{"start": 0, "end": 2, "label": "ORG"}], TEXT, "unknown class 'ORG'"),
        (
            SPANS,
            [{"start": 0, "end": 5, "label": "PER"}, {"start": 4, "end": 8, "label": "LOC"}],
            TEXT,
            "overlap",
        ),
        (SPANS, ["0-4"], TEXT, "object"),
        (BOXES, [{"x": 90, "y": 0, "w": 20, "h": 10, "label": "car"}], IMAGE, "outside"),
        (BOXES, [{"x": -1, "y": 0, "w": 5, "h": 5, "label": "car"}], IMAGE, "outside"),
        (BOXES, [{"x": 0, "y": 0, "w": 0, "h": 5, "label": "car"}], IMAGE, "no area"),
        (BOXES, [{"x": 0, "y": 0, "w": "5", "h": 5, "label": "car"}], IMAGE, "finite number"),
        (BOXES, [{"x": 0, "y": 0, "w": float("nan"), "h": 5, "label": "car"}], IMAGE, "finite"),
        (BOXES, [{"x": 0, "y": 0, "w": 5, "h": 5, "label": "bus"}], IMAGE, "unknown class"),
        (OCR, "   ", IMAGE, "blank"),
        (OCR, 42, IMAGE, "must be text"),
        (PREF, "c", PAIR, "unknown choice"),
        (BOXES, [], TEXT, "cannot be labelled"),
        (SPANS, [], IMAGE, "cannot be labelled"),
        (PREF, "a", TEXT, "cannot be labelled"),
    ],
)
def test_bad_answers_name_the_problem(
    schema: LabelSchema, answer: object, item: ItemContext, match: str
) -> None:
    with pytest.raises(InvalidInput, match=match):
        schema.validate(answer, item)


@pytest.mark.parametrize(
    "task_type,classes,match",
    [
        (TaskType.CLASSIFICATION, ("only",), "at least two"),
        (TaskType.SPANS, (), "at least one"),
        (TaskType.MULTILABEL, ("a", "a"), "duplicates"),
        (TaskType.BOXES, (" car",), "not a valid class"),
        (TaskType.PREFERENCE, ("x", "y"), "no classes"),
    ],
)
def test_bad_schemas_are_refused(task_type: TaskType, classes: tuple[str, ...], match: str) -> None:
    with pytest.raises(InvalidInput, match=match):
        LabelSchema(task_type, classes)


def test_preference_choices() -> None:
    assert PREF.choices == ("a", "b")
    assert CLS.choices == ("cat", "dog")
