"""COCO export for bounding-box tasks."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from datafair.core.errors import InvalidInput
from datafair.core.schemas import TaskType
from datafair.formats import ExportRecord, write_export


def test_coco_document(tmp_path: Path, write_image: Callable[..., Path]) -> None:
    street = write_image(tmp_path / "street.png", "PNG", (64, 48))
    records = [
        ExportRecord(
            "bafk1",
            [
                {"x": 1, "y": 2, "w": 10, "h": 5.5, "label": "person"},
                {"x": 20, "y": 0, "w": 30, "h": 40, "label": "car"},
            ],
            0.9,
            3,
            ["0xa", "0xb", "0xc"],
            ["0x01", "0x02", "0x03"],
            image_path=str(street),
        ),
        ExportRecord("bafk2", None, 0.0, 0, [], [], image_path="unlabelled.png"),
        ExportRecord(
            "bafk3",
            [],
            0.5,
            2,
            ["0xa", "0xb"],
            ["0x04", "0x05"],
            image_path="empty.png",
            width=100,
            height=80,
        ),
    ]
    (path,) = write_export(
        records,
        "coco",
        tmp_path / "out",
        task_type=TaskType.BOXES,
        classes=["car", "person"],
        name="street",
    )
    assert path.name == "street.coco.json"
    coco = json.loads(path.read_text())
    assert coco["categories"] == [
        {"id": 1, "name": "car", "supercategory": "object"},
        {"id": 2, "name": "person", "supercategory": "object"},
    ]
    assert [
        (i["id"], i["file_name"], i["width"], i["height"], i["item_cid"]) for i in coco["images"]
    ] == [
        (1, str(street), 64, 48, "bafk1"),
        (2, "empty.png", 100, 80, "bafk3"),
    ]
    assert coco["images"][0]["contributors"] == ["0xa", "0xb", "0xc"]
    assert coco["images"][0]["signature_hashes"] == ["0x01", "0x02", "0x03"]
    assert coco["annotations"] == [
        {
            "id": 1,
            "image_id": 1,
            "category_id": 2,
            "bbox": [1.0, 2.0, 10.0, 5.5],
            "area": 55.0,
            "iscrowd": 0,
            "segmentation": [],
        },
        {
            "id": 2,
            "image_id": 1,
            "category_id": 1,
            "bbox": [20.0, 0.0, 30.0, 40.0],
            "area": 1200.0,
            "iscrowd": 0,
            "segmentation": [],
        },
    ]
    ids = {image["id"] for image in coco["images"]}
    assert all(annotation["image_id"] in ids for annotation in coco["annotations"])


def test_coco_needs_image_paths(tmp_path: Path) -> None:
    record = ExportRecord("bafk1", [], 1.0, 1, [], [])
    with pytest.raises(InvalidInput, match=r"^record bafk1 image_path: is missing"):
        write_export(
            [record], "coco", tmp_path, task_type=TaskType.BOXES, classes=["car"], name="c"
        )


def test_coco_unreadable_image_size(tmp_path: Path) -> None:
    record = ExportRecord("bafk1", [], 1.0, 1, [], [], image_path=str(tmp_path / "gone.png"))
    with pytest.raises(InvalidInput, match=r"^record bafk1 image_path: cannot read the image size"):
        write_export(
            [record], "coco", tmp_path, task_type=TaskType.BOXES, classes=["car"], name="c"
        )
