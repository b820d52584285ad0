"""JSONL and Parquet exports round-trip with provenance columns and fixed label types."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datafair.core.schemas import TaskType
from datafair.formats import ExportRecord, write_export

ALICE = "0x" + "a1" * 20
BOB = "0x" + "b2" * 20


def record(cid: str, label: object, **extra: object) -> ExportRecord:
    return ExportRecord(
        item_cid=cid,
        label=label,
        confidence=0.75,
        n_answers=2,
        contributors=[ALICE, BOB],
        signature_hashes=["0x" + "11" * 32, "0x" + "22" * 32],
        **extra,  # type: ignore[arg-type]
    )


def test_jsonl_round_trip_keeps_order_and_provenance(tmp_path: Path) -> None:
    records = [
        record("bafkzz", "pos", text="good", meta={"id": "7", "lang": "en"}),
        record("bafkaa", None, text="meh"),
    ]
    (path,) = write_export(
        records,
        "jsonl",
        tmp_path / "out",
        task_type=TaskType.CLASSIFICATION,
        classes=["neg", "pos"],
        name="reviews",
    )
    assert path == tmp_path / "out" / "reviews.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [list(row) for row in rows] == [
        [
            "item_cid",
            "text",
            "image_path",
            "label",
            "confidence",
            "n_answers",
            "contributors",
            "signature_hashes",
            "meta",
        ]
    ] * 2
    assert rows[0] == {
        "item_cid": "bafkzz",
        "text": "good",
        "image_path": None,
        "label": "pos",
        "confidence": 0.75,
        "n_answers": 2,
        "contributors": [ALICE, BOB],
        "signature_hashes": ["0x" + "11" * 32, "0x" + "22" * 32],
        "meta": {"id": "7", "lang": "en"},
    }
    assert rows[1]["item_cid"] == "bafkaa" and rows[1]["label"] is None


def test_jsonl_is_deterministic(tmp_path: Path) -> None:
    records = [record("c1", ["a", "b"], text="x"), record("c2", [], text="y")]
    kwargs = {"task_type": TaskType.MULTILABEL, "classes": ["a", "b"], "name": "m"}
    (first,) = write_export(records, "jsonl", tmp_path / "1", **kwargs)  # type: ignore[arg-type]
    (second,) = write_export(records, "jsonl", tmp_path / "2", **kwargs)  # type: ignore[arg-type]
    assert first.read_bytes() == second.read_bytes()


def test_preference_rows_carry_prompt_chosen_rejected(tmp_path: Path) -> None:
    records = [
        record("c1", "b", pair=("Capital of France?", "Lyon", "Paris")),
        record("c2", "a", pair=("2+2?", "4", "5")),
    ]
    (path,) = write_export(
        records, "jsonl", tmp_path, task_type=TaskType.PREFERENCE, classes=[], name="prefs"
    )
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(r["prompt"], r["chosen"], r["rejected"], r["label"]) for r in rows] == [
        ("Capital of France?", "Paris", "Lyon", "b"),
        ("2+2?", "4", "5", "a"),
    ]


@pytest.mark.parametrize(
    ("task_type", "classes", "label", "arrow_type"),
    [
        (TaskType.CLASSIFICATION, ["cat", "dog"], "dog", pa.string()),
        (TaskType.MULTILABEL, ["cat", "dog"], ["cat", "dog"], pa.list_(pa.string())),
        (
            TaskType.SPANS,
            ["PER"],
            [{"start": 0, "end": 3, "label": "PER"}],
            pa.list_(
                pa.struct([("start", pa.int64()), ("end", pa.int64()), ("label", pa.string())])
            ),
        ),
        (
            TaskType.BOXES,
            ["car"],
            [{"x": 1, "y": 2.5, "w": 3, "h": 4, "label": "car"}],
            pa.list_(
                pa.struct(
                    [
                        ("x", pa.float64()),
                        ("y", pa.float64()),
                        ("w", pa.float64()),
                        ("h", pa.float64()),
                        ("label", pa.string()),
                    ]
                )
            ),
        ),
        (TaskType.TRANSCRIPTION, [], "hello", pa.string()),
    ],
)
def test_parquet_round_trip(
    tmp_path: Path, task_type: TaskType, classes: list[str], label: object, arrow_type: pa.DataType
) -> None:
    records = [record("c1", label, text="Ann went", meta={"k": [1, 2]}), record("c2", None)]
    (path,) = write_export(
        records, "parquet", tmp_path, task_type=task_type, classes=classes, name="data"
    )
    table = pq.read_table(path)
    assert table.schema.field("label").type == arrow_type
    assert table.column_names == [
        "item_cid",
        "text",
        "image_path",
        "label",
        "confidence",
        "n_answers",
        "contributors",
        "signature_hashes",
        "meta",
    ]
    rows = table.to_pylist()
    expected = label
    if task_type is TaskType.BOXES:
        expected = [{"x": 1.0, "y": 2.5, "w": 3.0, "h": 4.0, "label": "car"}]
    assert rows[0]["label"] == expected
    assert rows[0]["contributors"] == [ALICE, BOB]
    assert rows[0]["signature_hashes"] == ["0x" + "11" * 32, "0x" + "22" * 32]
    assert (rows[0]["confidence"], rows[0]["n_answers"]) == (0.75, 2)
    assert json.loads(rows[0]["meta"]) == {"k": [1, 2]}
    assert rows[1]["label"] is None
    metadata = json.loads(table.schema.metadata[b"datafair"])
    assert metadata == {"task_type": str(task_type), "classes": classes}


def test_parquet_preference_columns(tmp_path: Path) -> None:
    records = [record("c1", "b", pair=("q", "first", "second")), record("c2", None)]
    (path,) = write_export(
        records, "parquet", tmp_path, task_type=TaskType.PREFERENCE, classes=[], name="p"
    )
    table = pq.read_table(path)
    assert table.column_names[:6] == [
        "item_cid",
        "text",
        "image_path",
        "prompt",
        "chosen",
        "rejected",
    ]
    assert table.select(["prompt", "chosen", "rejected", "label"]).to_pylist() == [
        {"prompt": "q", "chosen": "second", "rejected": "first", "label": "b"},
        {"prompt": None, "chosen": None, "rejected": None, "label": None},
    ]
