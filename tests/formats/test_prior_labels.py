"""Labels that come with items: Label Studio annotations, ground truth and predictions, COCO
boxes; and the records they are refused for."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from datafair.core.errors import InvalidInput
from datafair.formats import PriorOptions, detect_format, parse_dataset

TEXT = "Alice flew to Paris"


def _ls(tmp_path: Path, tasks: list[dict[str, Any]]) -> Path:
    path = tmp_path / "tasks.json"
    path.write_text(json.dumps(tasks))
    return path


def _span(start: int, end: int, label: str, text: str | None = None) -> dict[str, Any]:
    value = {"start": start, "end": end, "labels": [label]}
    if text is not None:
        value["text"] = text
    return {"from_name": "label", "to_name": "text", "type": "labels", "value": value}


def test_labelstudio_annotations_gold_predictions_and_meta(tmp_path: Path) -> None:
    tasks = [
        {
            "id": 7,
            "data": {"text": TEXT},
            "meta": {"batch": "b1"},
            "annotations": [
                {
                    "completed_by": {"email": "ann@example.org"},
                    "result": [_span(14, 19, "LOC", "Paris"), _span(0, 5, "PER", "Alice")],
                },
                {"completed_by": 2, "ground_truth": True, "result": [_span(0, 5, "PER")]},
                {"completed_by": 3, "was_cancelled": True, "result": []},
            ],
            "predictions": [
                {
                    "model_version": "ner-v1",
                    "result": [
                        {
                            "type": "choices",
                            "from_name": "sentiment",
                            "to_name": "text",
                            "value": {"choices": ["pos"]},
                        }
                    ],
                }
            ],
        }
    ]
    parsed = parse_dataset(_ls(tmp_path, tasks))
    (item,) = parsed.items
    assert item.meta["labelstudio_meta"] == {"batch": "b1"} and item.meta["labelstudio_id"] == 7
    found = {(p.role, p.contributor, p.task_type): p.answer for p in parsed.prior}
    assert found == {
        ("annotation", "labelstudio:ann@example.org", "spans"): [
            {"start": 0, "end": 5, "label": "PER"},
            {"start": 14, "end": 19, "label": "LOC"},
        ],
        ("gold", "labelstudio:2", "spans"): [{"start": 0, "end": 5, "label": "PER"}],
        ("prediction", "model:ner-v1", "classification"): "pos",
    }
    assert parsed.cid_of_source()[parsed.prior[0].item_source] == item.cid
    named = parse_dataset(
        _ls(tmp_path, tasks), options=PriorOptions(annotator="carol", ground_truth="annotation")
    )
    assert {(p.role, p.contributor) for p in named.prior} == {
        ("annotation", "carol"),
        ("prediction", "model:ner-v1"),
    }


def test_labelstudio_boxes_transcription_pairwise_and_multilabel(
    tmp_path: Path, write_image: Callable[..., Path]
) -> None:
    write_image(tmp_path / "images" / "street.png", "PNG", (200, 100))
    box = {
        "type": "rectanglelabels",
        "from_name": "label",
        "to_name": "image",
        "original_width": 200,
        "original_height": 100,
        "value": {"x": 10, "y": 20, "width": 25, "height": 50, "rectanglelabels": ["car"]},
    }
    text = {"type": "textarea", "from_name": "t", "to_name": "image", "value": {"text": ["EXIT"]}}
    tags = {
        "type": "choices",
        "from_name": "c",
        "to_name": "image",
        "value": {"choices": ["a", "b"]},
    }
    pair = {"type": "pairwise", "from_name": "p", "to_name": "x", "value": {"selected": "right"}}
    tasks = [
        {"data": {"image": "images/street.png"}, "annotations": [{"result": [box, text, tags]}]},
        {
            "data": {"prompt": "hi", "response_a": "hello", "response_b": "go away"},
            "annotations": [{"result": [pair]}],
        },
    ]
    parsed = parse_dataset(_ls(tmp_path, tasks))
    answers = {p.task_type: p.answer for p in parsed.prior}
    assert answers == {
        "boxes": [{"x": 20.0, "y": 20.0, "w": 50.0, "h": 50.0, "label": "car"}],
        "transcription": "EXIT",
        "multilabel": ["a", "b"],
        "preference": "b",
    }


def test_labelstudio_boxes_on_the_edge_stay_inside(
    tmp_path: Path, write_image: Callable[..., Path]
) -> None:
    write_image(tmp_path / "a.png", "PNG", (3, 7))
    third = 100 / 3
    value = {"x": 2 * third, "y": 0, "width": third, "height": 100, "rectanglelabels": ["c"]}
    tasks = [{"data": {"image": "a.png"}, "annotations": [{"result": [
        {"type": "rectanglelabels", "value": value}
    ]}]}]  # fmt: skip
    (prior,) = parse_dataset(_ls(tmp_path, tasks)).prior
    assert prior.answer == [{"x": 2.0, "y": 0.0, "w": 1.0, "h": 7.0, "label": "c"}]


def test_labelstudio_refusals_name_the_record(tmp_path: Path) -> None:
    polygon = {"type": "polygonlabels", "value": {"points": [[0, 0]], "polygonlabels": ["x"]}}
    tasks = [{"data": {"text": TEXT}, "annotations": [{"result": [polygon]}]}]
    with pytest.raises(
        InvalidInput,
        match=r"^tasks.json\[0\].annotations\[0\].result\[0\]: result type 'polygonlabels' "
        r"has no datafair equivalent",
    ):
        parse_dataset(_ls(tmp_path, tasks))
    skipped = parse_dataset(_ls(tmp_path, tasks), options=PriorOptions(skip_unsupported=True))
    assert skipped.unsupported == [("tasks.json[0].annotations[0].result[0]", "polygonlabels")]
    assert skipped.prior == []
    wrong = [{"data": {"text": TEXT}, "annotations": [{"result": [_span(0, 5, "PER", "Paris")]}]}]
    with pytest.raises(
        InvalidInput, match=r"^tasks.json\[0\].annotations\[0\].result\[0\]: span 0..5 is 'Alice'"
    ):
        parse_dataset(_ls(tmp_path, wrong))
    outside = [{"data": {"text": TEXT}, "annotations": [{"result": [_span(10, 99, "PER")]}]}]
    with pytest.raises(InvalidInput, match=r"annotations\[0\].*out of range"):
        parse_dataset(_ls(tmp_path, outside))


def _coco(tmp_path: Path, write_image: Callable[..., Path], **changes: Any) -> Path:
    write_image(tmp_path / "images" / "street.png", "PNG", (64, 48))
    write_image(tmp_path / "images" / "empty.jpg", "JPEG", (32, 32))
    document: dict[str, Any] = {
        "images": [
            {"id": 1, "file_name": "street.png", "width": 64, "height": 48},
            {"id": 2, "file_name": "empty.jpg"},
        ],
        "annotations": [
            {"id": 10, "image_id": 1, "category_id": 3, "bbox": [1, 2, 10, 5.5]},
            {"id": 11, "image_id": 1, "category_id": 4, "bbox": [20, 0, 30, 40]},
        ],
        "categories": [{"id": 3, "name": "person"}, {"id": 4, "name": "car"}],
    }
    document.update(changes)
    path = tmp_path / "instances.json"
    path.write_text(json.dumps(document))
    return path


def test_coco_import(tmp_path: Path, write_image: Callable[..., Path]) -> None:
    path = _coco(tmp_path, write_image)
    assert detect_format(path) == "coco"
    parsed = parse_dataset(path)
    assert parsed.format == "coco"
    assert [(i.meta["file_name"], i.width, i.height) for i in parsed.items] == [
        ("street.png", 64, 48),
        ("empty.jpg", 32, 32),
    ]
    cids = parsed.cid_of_source()
    by_item = {cids[p.item_source]: (p.role, p.contributor, p.answer) for p in parsed.prior}
    assert by_item[parsed.items[0].cid] == (
        "annotation",
        "coco",
        [
            {"x": 20.0, "y": 0.0, "w": 30.0, "h": 40.0, "label": "car"},
            {"x": 1.0, "y": 2.0, "w": 10.0, "h": 5.5, "label": "person"},
        ],
    )
    assert by_item[parsed.items[1].cid] == ("annotation", "coco", [])
    gold = parse_dataset(path, options=PriorOptions(coco_role="gold", annotator="lab"))
    assert {(p.role, p.contributor) for p in gold.prior} == {("gold", "lab")}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"annotations": [{"id": 10, "image_id": 1, "category_id": 3, "bbox": [60, 2, 10, 5]}]},
            r"^instances.json annotations\[0\] \(id 10\): box \(60.0, 2.0, 10.0, 5.0\) is "
            r"outside the 64x48 image \(street.png\)",
        ),
        (
            {"annotations": [{"id": 12, "image_id": 9, "category_id": 3, "bbox": [1, 1, 2, 2]}]},
            r"^instances.json annotations\[0\] \(id 12\): image_id 9 is not an image of the file",
        ),
        (
            {"annotations": [{"id": 13, "image_id": 1, "category_id": 8, "bbox": [1, 1, 2, 2]}]},
            r"annotations\[0\] \(id 13\): category_id 8 has no category",
        ),
        (
            {"images": [{"id": 1, "file_name": "street.png", "width": 10, "height": 48}]},
            r"^instances.json images\[0\]: declares 10x48 but street.png is 64x48",
        ),
        (
            {"images": [{"id": 1, "file_name": "../outside.png"}]},
            r"images\[0\] file_name",
        ),
    ],
)
def test_coco_refusals_name_the_record(
    tmp_path: Path, write_image: Callable[..., Path], changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_dataset(_coco(tmp_path, write_image, **changes))
