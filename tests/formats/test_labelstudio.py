"""Label Studio tasks exports: text and image tasks, image references, refused URLs."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from datafair.core.errors import InvalidInput
from datafair.core.schemas import ItemKind
from datafair.formats.labelstudio import parse_labelstudio

from .conftest import image_bytes


def export(path: Path, tasks: Any) -> Path:
    path.write_text(json.dumps(tasks))
    return path


def test_text_tasks(tmp_path: Path) -> None:
    path = export(
        tmp_path / "tasks.json",
        [
            {"id": 101, "data": {"text": "first review", "stars": 4}, "annotations": []},
            {"id": 102, "data": {"text": "second review"}},
            {"id": 103, "data": {"text": "first review"}},
        ],
    )
    dataset = parse_labelstudio(path)
    assert dataset.format == "labelstudio"
    assert [item.text for item in dataset.items] == ["first review", "second review"]
    first = dataset.items[0]
    assert first.kind is ItemKind.TEXT
    assert first.meta == {"stars": 4, "labelstudio_id": 101}
    assert first.source == "tasks.json[0]"
    assert dataset.duplicates == [("tasks.json[2]", "tasks.json[0]")]


def test_image_references(tmp_path: Path, write_image: Callable[..., Path]) -> None:
    write_image(tmp_path / "images" / "a.png", "PNG", (12, 9))
    write_image(tmp_path / "local" / "b.jpg", "JPEG", (20, 10), (9, 9, 9))
    write_image(tmp_path / "upload" / "3" / "c.png", "PNG", (4, 4), (0, 0, 255))
    embedded = image_bytes("PNG", (3, 2), (0, 255, 0))
    path = export(
        tmp_path / "tasks.json",
        [
            {"id": 1, "data": {"image": "images/a.png"}},
            {"id": 2, "data": {"image": "/data/local-files/?d=local/b.jpg"}},
            {"id": 3, "data": {"image": "/data/upload/3/c.png"}},
            {
                "id": 4,
                "data": {"image": "data:image/png;base64," + base64.b64encode(embedded).decode()},
            },
            {"id": 5, "data": {"image": (tmp_path / "images" / "a.png").as_uri()}},
        ],
    )
    dataset = parse_labelstudio(path)
    sizes = [(item.meta["file_name"], item.width, item.height) for item in dataset.items]
    assert sizes == [
        ("images/a.png", 12, 9),
        ("local/b.jpg", 20, 10),
        ("upload/3/c.png", 4, 4),
        ("embedded", 3, 2),
    ]
    assert dataset.items[0].content == (tmp_path / "images" / "a.png").read_bytes()
    assert dataset.items[1].meta["format"] == "JPEG"
    assert dataset.items[3].content == embedded
    assert dataset.duplicates == [("tasks.json[4]", "tasks.json[0]")]
    assert dataset.modalities == ("image",)


def test_pair_tasks(tmp_path: Path) -> None:
    path = export(
        tmp_path / "p.json",
        [{"data": {"prompt": "q", "response_a": "a", "response_b": "b"}}],
    )
    (item,) = parse_labelstudio(path).items
    assert item.pair == ("q", "a", "b")


@pytest.mark.parametrize(
    ("image", "message"),
    [
        ("https://example.com/cat.png", r"is a remote URL .*download the images first"),
        ("http://example.com/cat.png", r"is a remote URL"),
        ("s3://bucket/cat.png", r"is a remote URL"),
        ("images/missing.png", r"file images/missing\.png not found"),
        ("../outside.png", r"points outside the folder"),
        ("ftp://host/cat.png", r"unsupported URL scheme 'ftp'"),
        ("data:image/png,rawbytes", r"data URL without base64"),
    ],
)
def test_bad_image_references(tmp_path: Path, image: str, message: str) -> None:
    (tmp_path / "outside.png").write_bytes(image_bytes("PNG"))
    folder = tmp_path / "export"
    folder.mkdir()
    path = export(folder / "tasks.json", [{"data": {"text": "ok"}}, {"data": {"image": image}}])
    with pytest.raises(InvalidInput, match=r"^tasks\.json\[1\] image: .*" + message):
        parse_labelstudio(path)


def test_unreadable_referenced_image(tmp_path: Path) -> None:
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    path = export(tmp_path / "t.json", [{"data": {"image": "broken.png"}}])
    with pytest.raises(InvalidInput, match=r"^t\.json\[0\]: is not a readable image"):
        parse_labelstudio(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"data": {"text": "x"}}', r"^t\.json: is not a Label Studio tasks export"),
        ('[{"data": {"text": "x"}}', r"^t\.json:1: is not valid JSON"),
        ('[{"text": "x"}]', r"^t\.json\[0\]: has no data object"),
        (
            '[{"data": {"review": "x"}}]',
            r"^t\.json\[0\]: has no text or image in data \(fields: review\)",
        ),
        ('[{"data": {"text": ""}}]', r"^t\.json\[0\]: the text is blank"),
        ("[]", r"^t\.json: contains no items"),
    ],
)
def test_bad_exports(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "t.json"
    path.write_text(content)
    with pytest.raises(InvalidInput, match=message):
        parse_labelstudio(path)
