"""Hugging Face export: ``datasets.load_from_disk`` reads it back (offline, see conftest)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from datafair.core.schemas import TaskType
from datafair.formats import ExportRecord, write_export

datasets = pytest.importorskip("datasets")


def test_classification_with_images_loads_back(
    tmp_path: Path, write_image: Callable[..., Path]
) -> None:
    cat = write_image(tmp_path / "cat.png", "PNG", (6, 4), (10, 200, 30))
    records = [
        ExportRecord(
            "bafk1",
            "dog",
            0.8,
            3,
            ["0xa", "0xb", "0xc"],
            ["0x1", "0x2", "0x3"],
            image_path=str(cat),
            meta={"file_name": "cat.png"},
        ),
        ExportRecord("bafk2", None, 0.0, 0, [], [], text="a text item"),
        ExportRecord("bafk3", "cat", 1.0, 2, ["0xa", "0xb"], ["0x4", "0x5"], image_path=str(cat)),
    ]
    (path,) = write_export(
        records,
        "hf",
        tmp_path / "out",
        task_type=TaskType.CLASSIFICATION,
        classes=["cat", "dog"],
        name="pets",
    )
    assert path == tmp_path / "out" / "pets-hf"
    cat.unlink()  # the image bytes live inside the saved dataset
    loaded = datasets.load_from_disk(str(path))
    assert loaded.features["label"].names == ["cat", "dog"]
    assert loaded["label"] == [1, None, 0]
    assert loaded["item_cid"] == ["bafk1", "bafk2", "bafk3"]
    assert loaded["contributors"][0] == ["0xa", "0xb", "0xc"]
    assert loaded["signature_hashes"][2] == ["0x4", "0x5"]
    assert loaded["n_answers"] == [3, 0, 2]
    assert json.loads(loaded["meta"][0]) == {"file_name": "cat.png"}
    first = loaded[0]["image"]
    assert first.size == (6, 4) and first.getpixel((0, 0)) == (10, 200, 30)
    assert loaded[1]["image"] is None


def test_multilabel_and_spans_load_back(tmp_path: Path) -> None:
    records = [ExportRecord("bafk1", ["b", "c"], 0.6, 2, ["0xa"], ["0x1"], text="x")]
    (path,) = write_export(
        records, "hf", tmp_path, task_type=TaskType.MULTILABEL, classes=["a", "b", "c"], name="ml"
    )
    loaded = datasets.load_from_disk(str(path))
    assert loaded["label"] == [[1, 2]]
    assert loaded.features["label"].feature.names == ["a", "b", "c"]

    spans = [{"start": 0, "end": 3, "label": "PER"}]
    records = [ExportRecord("bafk2", spans, 1.0, 3, ["0xa"], ["0x1"], text="Ann ran")]
    (path,) = write_export(
        records, "hf", tmp_path, task_type=TaskType.SPANS, classes=["PER"], name="ml"
    )  # same name: the previous export is replaced
    loaded = datasets.load_from_disk(str(path))
    assert loaded[0]["label"] == spans and loaded[0]["text"] == "Ann ran"
    assert "image" not in loaded.column_names
