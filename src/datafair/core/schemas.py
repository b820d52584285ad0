"""Label schemas: what an answer of each task type looks like, and its validation.

Every answer is validated against its task's schema and the item it is about, then turned into
its *canonical form* (the value that is hashed, signed and stored):

=================  ======================================================  ====================
task type          canonical answer                                        item kinds
=================  ======================================================  ====================
classification     one class name                                          text, image
multilabel         list of class names, in the schema's class order        text, image
spans              list of {"start", "end", "label"}, sorted, disjoint     text
boxes              list of {"x", "y", "w", "h", "label"}, sorted           image
transcription      NFC-normalised, stripped, non-empty text                image, text
preference         "a" or "b" (which of two responses is better)           pair
collection         {"format": ...}: the contributed item's format          text, image, pair
=================  ======================================================  ====================

A *collection* task asks contributors for new items rather than labels: the item is the
contribution, its "answer" the canonical descriptor ``{"format": F}`` with ``F`` one of
:data:`datafair.core.collection.FORMATS` (see that module for the content of each format).

Span offsets are character offsets into the item text, ``end`` exclusive. Box coordinates are
pixels from the top-left corner; a box must lie inside the image and have a positive area.
"""

from __future__ import annotations

import itertools
import math
import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from datafair.core.errors import InvalidInput

MAX_TRANSCRIPTION_CHARS = 20_000
MAX_CLASSES = 1_000


class TaskType(StrEnum):
    """The kinds of labelling work datafair supports."""

    CLASSIFICATION = "classification"
    MULTILABEL = "multilabel"
    SPANS = "spans"
    BOXES = "boxes"
    TRANSCRIPTION = "transcription"
    PREFERENCE = "preference"
    COLLECTION = "collection"


CATEGORICAL_TASK_TYPES = frozenset({TaskType.CLASSIFICATION, TaskType.PREFERENCE})
"""Task types whose answer is one class: the categorical aggregators and peer prediction fit."""


class ItemKind(StrEnum):
    """What an item is: a text, an image, or a prompt with two responses to compare."""

    TEXT = "text"
    IMAGE = "image"
    PAIR = "pair"


ITEM_KINDS_FOR: dict[TaskType, frozenset[ItemKind]] = {
    TaskType.CLASSIFICATION: frozenset({ItemKind.TEXT, ItemKind.IMAGE}),
    TaskType.MULTILABEL: frozenset({ItemKind.TEXT, ItemKind.IMAGE}),
    TaskType.SPANS: frozenset({ItemKind.TEXT}),
    TaskType.BOXES: frozenset({ItemKind.IMAGE}),
    TaskType.TRANSCRIPTION: frozenset({ItemKind.IMAGE, ItemKind.TEXT}),
    TaskType.PREFERENCE: frozenset({ItemKind.PAIR}),
    TaskType.COLLECTION: frozenset({ItemKind.TEXT, ItemKind.IMAGE, ItemKind.PAIR}),
}

NEEDS_CLASSES = frozenset(
    {TaskType.CLASSIFICATION, TaskType.MULTILABEL, TaskType.SPANS, TaskType.BOXES}
)
PREFERENCE_CHOICES = ("a", "b")


@dataclass(frozen=True)
class ItemContext:
    """What validation needs to know of an item: its kind, text length, image size."""

    kind: ItemKind
    text_length: int | None = None
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True)
class LabelSchema:
    """A task type with its classes; ``validate`` checks and canonicalises one answer."""

    task_type: TaskType
    classes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.task_type in NEEDS_CLASSES:
            if len(self.classes) < (1 if self.task_type is not TaskType.CLASSIFICATION else 2):
                raise InvalidInput(
                    "classes",
                    f"a {self.task_type} task needs "
                    + (
                        "at least two classes"
                        if self.task_type is TaskType.CLASSIFICATION
                        else "at least one class"
                    ),
                    "pass --classes a,b,...",
                )
            if len(self.classes) > MAX_CLASSES:
                raise InvalidInput("classes", f"more than {MAX_CLASSES} classes")
            for name in self.classes:
                if not isinstance(name, str) or not name.strip() or name != name.strip():
                    raise InvalidInput(
                        "classes",
                        f"{name!r} is not a valid class name",
                        "use non-empty names without surrounding spaces",
                    )
            if len(set(self.classes)) != len(self.classes):
                raise InvalidInput("classes", "contain duplicates", "list each class once")
        elif self.classes and self.task_type is TaskType.PREFERENCE:
            raise InvalidInput("classes", "a preference task has no classes (answers are a or b)")
        elif self.classes and self.task_type is TaskType.COLLECTION:
            raise InvalidInput("classes", "a collection task has no classes (it collects items)")

    @property
    def choices(self) -> tuple[str, ...]:
        """The categorical values an answer may take (classes, or a/b for preference)."""
        return PREFERENCE_CHOICES if self.task_type is TaskType.PREFERENCE else self.classes

    def accepts(self, kind: ItemKind) -> bool:
        """Whether items of ``kind`` can be labelled with this schema."""
        return kind in ITEM_KINDS_FOR[self.task_type]

    def validate(self, answer: Any, item: ItemContext) -> Any:
        """Return the canonical form of ``answer`` for ``item``, or raise ``InvalidInput``."""
        if not self.accepts(item.kind):
            raise InvalidInput(
                "item", f"a {item.kind} item cannot be labelled by a {self.task_type} task"
            )
        validator = _VALIDATORS[self.task_type]
        return validator(self, answer, item)

    def to_dict(self) -> dict[str, Any]:
        return {"task_type": str(self.task_type), "classes": list(self.classes)}


def _class(schema: LabelSchema, value: Any, field: str) -> str:
    if not isinstance(value, str) or value not in schema.classes:
        shown = ", ".join(schema.classes[:10]) + (", ..." if len(schema.classes) > 10 else "")
        raise InvalidInput(field, f"unknown class {value!r}", f"use one of: {shown}")
    return value


def _classification(schema: LabelSchema, answer: Any, item: ItemContext) -> str:
    return _class(schema, answer, "answer")


def _multilabel(schema: LabelSchema, answer: Any, item: ItemContext) -> list[str]:
    if not isinstance(answer, list | tuple):
        raise InvalidInput("answer", "a multilabel answer must be a list of classes")
    chosen = {_class(schema, value, "answer") for value in answer}
    if len(chosen) != len(answer):
        raise InvalidInput("answer", "lists a class twice", "list each class once")
    return [name for name in schema.classes if name in chosen]


def _int_field(entry: dict[str, Any], key: str, where: str) -> int:
    value = entry.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{where}.{key}", f"must be an integer, got {value!r}")
    return value


def _number_field(entry: dict[str, Any], key: str, where: str) -> float:
    value = entry.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInput(f"{where}.{key}", f"must be a finite number, got {value!r}")
    return float(value)


def _entries(answer: Any, noun: str) -> list[dict[str, Any]]:
    if not isinstance(answer, list | tuple):
        raise InvalidInput("answer", f"must be a list of {noun}")
    for index, entry in enumerate(answer):
        if not isinstance(entry, dict):
            raise InvalidInput(f"answer[{index}]", f"each of the {noun} must be an object")
    return list(answer)


def _spans(schema: LabelSchema, answer: Any, item: ItemContext) -> list[dict[str, Any]]:
    length = item.text_length if item.text_length is not None else 0
    spans: list[dict[str, Any]] = []
    for index, entry in enumerate(_entries(answer, "spans")):
        where = f"answer[{index}]"
        start, end = _int_field(entry, "start", where), _int_field(entry, "end", where)
        if not 0 <= start < end <= length:
            raise InvalidInput(
                where,
                f"span {start}..{end} is out of range for a text of {length} characters",
                "need 0 <= start < end <= text length",
            )
        spans.append(
            {
                "start": start,
                "end": end,
                "label": _class(schema, entry.get("label"), f"{where}.label"),
            }
        )
    spans.sort(key=lambda span: (span["start"], span["end"]))
    for before, after in itertools.pairwise(spans):
        if after["start"] < before["end"]:
            raise InvalidInput(
                "answer",
                f"spans {before['start']}..{before['end']} and "
                f"{after['start']}..{after['end']} overlap",
                "spans must not overlap",
            )
    return spans


def _round(value: float) -> float:
    return round(value, 2)


def _boxes(schema: LabelSchema, answer: Any, item: ItemContext) -> list[dict[str, Any]]:
    width, height = item.width or 0, item.height or 0
    boxes: list[dict[str, Any]] = []
    for index, entry in enumerate(_entries(answer, "boxes")):
        where = f"answer[{index}]"
        x, y = _number_field(entry, "x", where), _number_field(entry, "y", where)
        w, h = _number_field(entry, "w", where), _number_field(entry, "h", where)
        if w <= 0 or h <= 0:
            raise InvalidInput(where, f"box {w}x{h} has no area", "width and height must be > 0")
        if x < 0 or y < 0 or x + w > width or y + h > height:
            raise InvalidInput(
                where,
                f"box ({x}, {y}, {w}, {h}) is outside the {width}x{height} image",
                "need 0 <= x, 0 <= y, x + w <= width, y + h <= height",
            )
        boxes.append(
            {
                "x": _round(x),
                "y": _round(y),
                "w": _round(w),
                "h": _round(h),
                "label": _class(schema, entry.get("label"), f"{where}.label"),
            }
        )
    boxes.sort(key=lambda box: (box["y"], box["x"], box["w"], box["h"], box["label"]))
    return boxes


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _transcription(schema: LabelSchema, answer: Any, item: ItemContext) -> str:
    if not isinstance(answer, str):
        raise InvalidInput("answer", "a transcription must be text")
    text = unicodedata.normalize("NFC", answer).strip()
    if not text:
        raise InvalidInput("answer", "the transcription is blank", "type the text you see")
    if len(text) > MAX_TRANSCRIPTION_CHARS:
        raise InvalidInput("answer", f"longer than {MAX_TRANSCRIPTION_CHARS} characters")
    control = _CONTROL.search(text)
    if control is not None:  # the importers' contract (datafair.formats.items.check_text)
        raise InvalidInput(
            "answer",
            f"contains the control character U+{ord(control.group()):04X}",
            "remove NUL and other control characters (tab and line breaks are fine)",
        )
    return text


def _preference(schema: LabelSchema, answer: Any, item: ItemContext) -> str:
    if answer not in PREFERENCE_CHOICES:
        raise InvalidInput("answer", f"unknown choice {answer!r}", "answer 'a' or 'b'")
    return str(answer)


COLLECTION_FORMATS = ("text", "image", "instruction", "preference")
"""What a collection task's items may be (see :mod:`datafair.core.collection`)."""
KIND_OF_FORMAT: dict[str, ItemKind] = {
    "text": ItemKind.TEXT,
    "image": ItemKind.IMAGE,
    "instruction": ItemKind.TEXT,
    "preference": ItemKind.PAIR,
}


def _collection(schema: LabelSchema, answer: Any, item: ItemContext) -> dict[str, str]:
    fmt = answer.get("format") if isinstance(answer, dict) else None
    if fmt not in COLLECTION_FORMATS or set(answer) != {"format"}:
        raise InvalidInput(
            "answer", f"{answer!r} is not a collection descriptor", 'use {"format": F}'
        )
    if KIND_OF_FORMAT[fmt] is not item.kind:
        raise InvalidInput("answer", f"a {item.kind} item is not of format {fmt}")
    return {"format": str(fmt)}


_VALIDATORS = {
    TaskType.CLASSIFICATION: _classification,
    TaskType.MULTILABEL: _multilabel,
    TaskType.SPANS: _spans,
    TaskType.BOXES: _boxes,
    TaskType.TRANSCRIPTION: _transcription,
    TaskType.PREFERENCE: _preference,
    TaskType.COLLECTION: _collection,
}
