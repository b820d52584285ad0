"""COCO object-detection files: images and their boxes come in as a dataset with prior labels.

Reads a COCO JSON object with ``images`` (``id``, ``file_name``, optional ``width``/``height``),
``annotations`` (``id``, ``image_id``, ``category_id``, ``bbox`` = ``[x, y, w, h]`` pixels) and
``categories`` (``id``, ``name``). Each image file is looked up next to the JSON file, then in
an ``images/`` folder beside it (the layout datafair's own COCO export writes), and must stay
inside that folder (see :func:`datafair.formats.labelstudio.load_image_reference`).

Every image becomes an image item (``meta``: ``file_name``, ``format``, ``coco_id``); the boxes
of each image become one prior ``boxes`` label (role ``annotation`` of the contributor
``PriorOptions.annotator`` or ``coco``, or ``gold`` with ``PriorOptions.coco_role``), in
datafair's canonical form; an image without annotations is labelled "no objects" (``[]``).

Refused, naming the record: an annotation whose ``image_id`` is no image of the file, a
``category_id`` with no category, a box outside its image or without area, an image whose
declared size differs from the file's. Sources are ``file.json images[i]`` and
``file.json annotations[i]``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from datafair.core.errors import InvalidInput
from datafair.core.schemas import ItemContext, ItemKind, LabelSchema, TaskType
from datafair.formats.images import read_image
from datafair.formats.items import (
    ImageSink,
    ItemCollector,
    ParsedDataset,
    PriorLabel,
    PriorOptions,
)
from datafair.formats.labelstudio import load_image_reference

_FIX = "fix the COCO file (or export it again) and import it again"


def looks_like_coco(document: Any) -> bool:
    """Whether a parsed JSON document is a COCO detection file."""
    return isinstance(document, dict) and "images" in document and "annotations" in document


def _records(document: dict[str, Any], key: str, name: str) -> list[dict[str, Any]]:
    records = document.get(key, [])
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise InvalidInput(f"{name} {key}", "must be a list of objects", _FIX)
    return records


def _image_file(name: str, base: Path, where: str) -> tuple[bytes, str]:
    try:
        return load_image_reference(name, base, where)
    except InvalidInput:
        if not (base / "images").is_dir():
            raise
        return load_image_reference(name, base / "images", where)


def parse_coco(
    path: Path, image_sink: ImageSink | None = None, options: PriorOptions | None = None
) -> ParsedDataset:
    """Read a COCO detection file and its images (see the module docs)."""
    options = options or PriorOptions()
    name = path.name
    try:
        document = json.loads(path.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(name, f"is not valid JSON ({exc})", _FIX) from exc
    if not looks_like_coco(document):
        raise InvalidInput(name, "is not a COCO file (needs images and annotations)", _FIX)
    categories: dict[Any, str] = {}
    for index, category in enumerate(_records(document, "categories", name)):
        label = category.get("name")
        if not isinstance(label, str) or not label.strip():
            raise InvalidInput(f"{name} categories[{index}]", "needs a name", _FIX)
        categories[category.get("id")] = label.strip()
    collector = ItemCollector(path, "coco", image_sink)
    images: dict[Any, tuple[str, int, int, str]] = {}  # id → (source, width, height, file)
    for index, image in enumerate(_records(document, "images", name)):
        where = f"{name} images[{index}]"
        file_name = image.get("file_name")
        if not isinstance(file_name, str) or not file_name.strip():
            raise InvalidInput(f"{where} file_name", "must be the image's file name", _FIX)
        if image.get("id") in images:
            raise InvalidInput(f"{where} id", f"{image.get('id')!r} is used twice", _FIX)
        content, relative = _image_file(file_name, path.parent, f"{where} file_name")
        width, height, meta = read_image(content, where)
        declared = (image.get("width"), image.get("height"))
        if declared != (None, None) and declared != (width, height):
            raise InvalidInput(
                where,
                f"declares {declared[0]}x{declared[1]} but {file_name} is {width}x{height}",
                _FIX,
            )
        meta |= {"file_name": file_name, "coco_id": image.get("id")}
        collector.add(ItemKind.IMAGE, content, None, width, height, meta, where)
        images[image.get("id")] = (where, width, height, relative)
    boxes: dict[Any, list[dict[str, Any]]] = {key: [] for key in images}
    for index, annotation in enumerate(_records(document, "annotations", name)):
        where = f"{name} annotations[{index}] (id {annotation.get('id')})"
        image_id = annotation.get("image_id")
        if image_id not in images:
            raise InvalidInput(where, f"image_id {image_id!r} is not an image of the file", _FIX)
        category_id = annotation.get("category_id")
        if category_id not in categories:
            raise InvalidInput(where, f"category_id {category_id!r} has no category", _FIX)
        bbox = annotation.get("bbox")
        if not isinstance(bbox, list) or len(bbox) != 4:
            raise InvalidInput(where, "bbox must be [x, y, width, height]", _FIX)
        x, y, w, h = bbox
        box = {"x": x, "y": y, "w": w, "h": h, "label": categories[category_id]}
        _, width, height, file_name = images[image_id]
        try:
            LabelSchema(TaskType.BOXES, (box["label"],)).validate(
                [box], ItemContext(ItemKind.IMAGE, width=width, height=height)
            )
        except InvalidInput as error:
            raise InvalidInput(where, f"{error.problem} ({file_name})", error.fix) from None
        boxes[image_id].append(box)
    contributor = options.annotator or "coco"
    for image_id, found in boxes.items():
        source, width, height, _ = images[image_id]
        labels = tuple(sorted({box["label"] for box in found})) or ("none",)
        answer = LabelSchema(TaskType.BOXES, labels).validate(
            found, ItemContext(ItemKind.IMAGE, width=width, height=height)
        )
        collector.prior.append(
            PriorLabel(source, options.coco_role, contributor, str(TaskType.BOXES), answer, source)
        )
    return collector.finish()
