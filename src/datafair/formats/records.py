"""Export records: one labelled item with its provenance, checked before anything is written.

``label`` is the task's canonical answer form (see ``datafair.core.schemas``), or ``None`` for
an item without an inferred label:

==============  ==========================================================
task type       label
==============  ==========================================================
classification  a class name
multilabel      a list of class names
spans           a list of ``{"start", "end", "label"}`` (character offsets)
boxes           a list of ``{"x", "y", "w", "h", "label"}`` (pixels)
transcription   a string
preference      ``"a"`` or ``"b"``
==============  ==========================================================
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from datafair.core.canonical import canonical_json
from datafair.core.errors import InvalidInput
from datafair.core.schemas import LabelSchema, TaskType

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


@dataclass(frozen=True)
class ExportRecord:
    """One item of a labelled dataset, as exported.

    Provenance: ``item_cid`` (the item's CIDv1), ``confidence`` (0..1, of the inferred label),
    ``n_answers``, ``contributors`` (addresses of those who answered) and ``signature_hashes``
    (hex hashes of their signed submissions). Content: ``text`` for text items, ``image_path``
    (a readable file) with ``width``/``height`` in pixels for images (read from the file when not
    given), ``pair`` = ``(prompt, response_a, response_b)`` for preference items. ``meta`` holds
    the item's imported meta fields; ``file_name`` the image's original relative file name
    (COCO, YOLO and Label Studio exports name and copy the image by it).
    """

    item_cid: str
    label: Any
    confidence: float
    n_answers: int
    contributors: Sequence[str]
    signature_hashes: Sequence[str]
    text: str | None = None
    image_path: str | None = None
    width: int | None = None
    height: int | None = None
    pair: tuple[str, str, str] | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    file_name: str | None = None


_IMAGE_SUFFIX = {"PNG": ".png", "JPEG": ".jpg"}


def export_file_name(record: ExportRecord) -> str:
    """The image's file name in an export: its original relative name when it is a safe one
    (``file_name``, else ``meta["file_name"]``), else ``<item CID><.png|.jpg>``."""
    original = record.file_name or record.meta.get("file_name")
    if isinstance(original, str) and _safe_relative(original):
        return original
    suffix = _IMAGE_SUFFIX.get(str(record.meta.get("format", "")).upper(), "")
    if not suffix and record.image_path:
        suffix = Path(record.image_path).suffix
    return record.item_cid + suffix


def _safe_relative(name: str) -> bool:
    path = PurePosixPath(name)
    return (
        bool(name)
        and "\\" not in name
        and not path.is_absolute()
        and all(part not in ("", ".", "..") for part in path.parts)
        and Path(name).suffix.lower() in {".png", ".jpg", ".jpeg"}
    )


def check_name(name: str) -> str:
    """``name`` if it is usable as a file name stem; ``InvalidInput`` otherwise."""
    if not _NAME.match(name):
        raise InvalidInput(
            "name",
            f"{name!r} cannot be used as an export file name",
            "use letters, digits, '.', '_' or '-' (at most 128, starting with a letter or digit)",
        )
    return name


def _fail(record: ExportRecord, problem: str) -> InvalidInput:
    return InvalidInput(f"record {record.item_cid} label", problem)


def _class(record: ExportRecord, value: Any, classes: frozenset[str]) -> None:
    if not isinstance(value, str) or value not in classes:
        raise _fail(record, f"{value!r} is not one of the task's classes")


def _number(record: ExportRecord, entry: dict[str, Any], key: str, integer: bool) -> None:
    value = entry.get(key)
    kinds = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or not math.isfinite(value):
        raise _fail(record, f"{key} must be {'an integer' if integer else 'a number'}")


def _entries(
    record: ExportRecord, keys: tuple[str, ...], integer: bool, classes: frozenset[str]
) -> None:
    if not isinstance(record.label, list):
        raise _fail(record, "must be a list")
    for entry in record.label:
        if not isinstance(entry, dict):
            raise _fail(record, "each entry must be an object")
        for key in keys:
            _number(record, entry, key, integer)
        _class(record, entry.get("label"), classes)


def check_records(
    records: Sequence[ExportRecord], task_type: TaskType, classes: Sequence[str]
) -> LabelSchema:
    """Check every record's label shape and provenance; return the task's label schema."""
    schema = LabelSchema(TaskType(task_type), tuple(classes))
    names = frozenset(schema.classes)
    for record in records:
        if not isinstance(record.n_answers, int) or record.n_answers < 0:
            raise InvalidInput(f"record {record.item_cid} n_answers", "must be an integer >= 0")
        if not 0.0 <= float(record.confidence) <= 1.0:
            raise InvalidInput(f"record {record.item_cid} confidence", "must be between 0 and 1")
        for name in ("contributors", "signature_hashes"):
            values = getattr(record, name)
            if isinstance(values, str) or not all(isinstance(value, str) for value in values):
                raise InvalidInput(f"record {record.item_cid} {name}", "must be a list of strings")
        try:
            canonical_json(record.meta)
        except (TypeError, ValueError) as exc:
            raise InvalidInput(
                f"record {record.item_cid} meta", f"is not JSON data ({exc})"
            ) from exc
        label = record.label
        if label is None:
            continue
        if schema.task_type is TaskType.CLASSIFICATION:
            _class(record, label, names)
        elif schema.task_type is TaskType.MULTILABEL:
            if not isinstance(label, list):
                raise _fail(record, "must be a list of classes")
            for value in label:
                _class(record, value, names)
        elif schema.task_type is TaskType.SPANS:
            _entries(record, ("start", "end"), True, names)
        elif schema.task_type is TaskType.BOXES:
            _entries(record, ("x", "y", "w", "h"), False, names)
        elif schema.task_type is TaskType.TRANSCRIPTION:
            if not isinstance(label, str):
                raise _fail(record, "must be a string")
        elif label not in ("a", "b"):
            raise _fail(record, f"{label!r} is not 'a' or 'b'")
    return schema


def preference_columns(record: ExportRecord) -> tuple[str | None, str | None, str | None]:
    """``(prompt, chosen, rejected)`` of a preference record (``None`` where unknown)."""
    if record.pair is None:
        return None, None, None
    prompt, response_a, response_b = record.pair
    if record.label == "a":
        return prompt, response_a, response_b
    if record.label == "b":
        return prompt, response_b, response_a
    return prompt, None, None
