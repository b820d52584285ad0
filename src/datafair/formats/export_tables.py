"""JSONL and Parquet exports: one row per record, provenance columns included.

Columns, in this order (the same for every row of a task type):

``item_cid``, ``text`` (for a transcription of an image: the transcription, so ``image_path`` +
``text`` are image–text pairs), ``image_path``, then for preference tasks ``prompt``, ``chosen``,
``rejected`` (from the record's pair and its "a"/"b" label, ready for DPO-style trainers), then
``label``, ``confidence``, ``n_answers``, ``contributors``, ``signature_hashes``, ``meta``.

JSONL writes ``meta`` as a JSON object; Parquet (and the Hugging Face export) as a canonical
JSON string, so the schema does not depend on the meta keys. Parquet label types: a string
(classification, transcription, preference), a list of strings (multilabel), a list of
``struct<start: int64, end: int64, label: string>`` (spans) or of
``struct<x, y, w, h: double, label: string>`` (boxes). The Parquet schema metadata key
``datafair`` holds the task type and classes as JSON. Rows keep the order of the records.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from datafair.core.canonical import canonical_json
from datafair.core.schemas import TaskType
from datafair.formats.records import ExportRecord, preference_columns

_SPAN = pa.struct([("start", pa.int64()), ("end", pa.int64()), ("label", pa.string())])
_BOX = pa.struct(
    [
        ("x", pa.float64()),
        ("y", pa.float64()),
        ("w", pa.float64()),
        ("h", pa.float64()),
        ("label", pa.string()),
    ]
)
LABEL_TYPES: dict[TaskType, pa.DataType] = {
    TaskType.CLASSIFICATION: pa.string(),
    TaskType.MULTILABEL: pa.list_(pa.string()),
    TaskType.SPANS: pa.list_(_SPAN),
    TaskType.BOXES: pa.list_(_BOX),
    TaskType.TRANSCRIPTION: pa.string(),
    TaskType.PREFERENCE: pa.string(),
}


def column_names(task_type: TaskType) -> list[str]:
    """The export's columns for ``task_type``, in order."""
    pair = ["prompt", "chosen", "rejected"] if task_type is TaskType.PREFERENCE else []
    return [
        "item_cid",
        "text",
        "image_path",
        *pair,
        "label",
        "confidence",
        "n_answers",
        "contributors",
        "signature_hashes",
        "meta",
    ]


def label_value(label: Any, task_type: TaskType) -> Any:
    """The label with fixed keys and types (spans: int offsets; boxes: float pixels)."""
    if label is None:
        return None
    if task_type is TaskType.SPANS:
        return [{"start": s["start"], "end": s["end"], "label": s["label"]} for s in label]
    if task_type is TaskType.BOXES:
        return [
            {
                "x": float(b["x"]),
                "y": float(b["y"]),
                "w": float(b["w"]),
                "h": float(b["h"]),
                "label": b["label"],
            }
            for b in label
        ]
    if task_type is TaskType.MULTILABEL:
        return list(label)
    return label


def rows(records: Sequence[ExportRecord], task_type: TaskType) -> list[dict[str, Any]]:
    """One dict per record with the export's columns (``meta`` still a dict)."""
    out = []
    for record in records:
        text = record.text
        if task_type is TaskType.TRANSCRIPTION and text is None and record.image_path:
            text = record.label  # image–text pairs: the image and its transcription
        row: dict[str, Any] = {
            "item_cid": record.item_cid,
            "text": text,
            "image_path": record.image_path,
        }
        if task_type is TaskType.PREFERENCE:
            row["prompt"], row["chosen"], row["rejected"] = preference_columns(record)
        row["label"] = label_value(record.label, task_type)
        row["confidence"] = float(record.confidence)
        row["n_answers"] = int(record.n_answers)
        row["contributors"] = list(record.contributors)
        row["signature_hashes"] = list(record.signature_hashes)
        row["meta"] = record.meta
        out.append(row)
    return out


def columns(records: Sequence[ExportRecord], task_type: TaskType) -> dict[str, list[Any]]:
    """The export as column lists, ``meta`` as canonical JSON strings."""
    table: dict[str, list[Any]] = {name: [] for name in column_names(task_type)}
    for row in rows(records, task_type):
        row["meta"] = canonical_json(row["meta"]).decode("utf-8")
        for name, value in row.items():
            table[name].append(value)
    return table


def _replace(tmp: Path, target: Path) -> Path:
    os.replace(tmp, target)
    return target


def write_jsonl(records: Sequence[ExportRecord], task_type: TaskType, path: Path) -> Path:
    """Write one JSON object per line (UTF-8, keys in column order)."""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8", newline="\n") as handle:
        for row in rows(records, task_type):
            handle.write(
                json.dumps(row, ensure_ascii=False, allow_nan=False, separators=(",", ":")) + "\n"
            )
    return _replace(tmp, path)


def arrow_schema(task_type: TaskType, classes: Sequence[str]) -> pa.Schema:
    """The Parquet schema for ``task_type``; metadata ``datafair`` = task type and classes."""
    types: dict[str, pa.DataType] = {
        "item_cid": pa.string(),
        "text": pa.string(),
        "image_path": pa.string(),
        "prompt": pa.string(),
        "chosen": pa.string(),
        "rejected": pa.string(),
        "label": LABEL_TYPES[task_type],
        "confidence": pa.float64(),
        "n_answers": pa.int64(),
        "contributors": pa.list_(pa.string()),
        "signature_hashes": pa.list_(pa.string()),
        "meta": pa.string(),
    }
    metadata = {"datafair": canonical_json({"task_type": str(task_type), "classes": list(classes)})}
    return pa.schema(
        [pa.field(name, types[name]) for name in column_names(task_type)], metadata=metadata
    )


def write_parquet(
    records: Sequence[ExportRecord], task_type: TaskType, classes: Sequence[str], path: Path
) -> Path:
    """Write the records as one Parquet file (pyarrow, zstd)."""
    schema = arrow_schema(task_type, classes)
    table = pa.Table.from_pydict(columns(records, task_type), schema=schema)
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp, compression="zstd")
    return _replace(tmp, path)
