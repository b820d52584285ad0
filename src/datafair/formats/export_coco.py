"""COCO object-detection export, for bounding-box tasks.

One JSON file with ``info``, ``licenses`` (empty), ``categories`` (``id`` 1..n in the task's
class order, ``name``, ``supercategory``), ``images`` and ``annotations``:

* an image per labelled record: ``id`` (1.. in record order), ``file_name`` (the image's
  original relative name with its extension, see :func:`~datafair.formats.records.
  export_file_name`; a record without ``file_name`` keeps its ``image_path``), ``width``,
  ``height``, and the provenance fields ``item_cid``,
  ``confidence``, ``n_answers``, ``contributors``, ``signature_hashes``;
* an annotation per box: ``id``, ``image_id``, ``category_id``, ``bbox`` = ``[x, y, w, h]``
  (pixels from the top-left corner), ``area`` = ``w * h``, ``iscrowd`` 0, ``segmentation`` [].

A record whose label is ``None`` (no inferred label) is left out; an empty list is an image
with no objects. Width and height come from the record or, when absent, the image file.
``write_coco`` copies each image that has a ``file_name`` into ``images/<file_name>`` next to
the JSON file, so the export is self-contained (COCO's usual ``annotations`` + ``images`` layout).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PIL import Image

from datafair.core.errors import InvalidInput
from datafair.formats.records import ExportRecord, export_file_name


def image_size(record: ExportRecord) -> tuple[int, int]:
    if record.width is not None and record.height is not None:
        return record.width, record.height
    assert record.image_path is not None
    try:
        with Image.open(record.image_path) as image:
            return image.size
    except Exception as exc:  # missing or unreadable file: Pillow raises many types
        raise InvalidInput(
            f"record {record.item_cid} image_path",
            f"cannot read the image size from {record.image_path}",
            "give width and height, or a readable image file",
        ) from exc


def _coco_name(record: ExportRecord) -> str:
    if record.file_name is None:
        return str(record.image_path)
    return export_file_name(record)


def copy_images(
    records: Sequence[ExportRecord], folder: Path, *, labelled_only: bool = True
) -> None:
    """Copy each (labelled) record's image file to ``folder/<export file name>``; records
    without a ``file_name`` are not copied (their ``image_path`` is used as it is)."""
    for record in records:
        if labelled_only and record.label is None:
            continue
        if record.file_name is None or not record.image_path:
            continue
        target = folder / export_file_name(record)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(record.image_path, target)


def coco_document(
    records: Sequence[ExportRecord], classes: Sequence[str], name: str
) -> dict[str, Any]:
    """The COCO document for box-labelled ``records`` (see the module docs)."""
    category = {label: position + 1 for position, label in enumerate(classes)}
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    for record in records:
        if record.label is None:
            continue
        if not record.image_path:
            raise InvalidInput(
                f"record {record.item_cid} image_path",
                "is missing",
                "a COCO export needs each image's file path",
            )
        width, height = image_size(record)
        image_id = len(images) + 1
        images.append(
            {
                "id": image_id,
                "file_name": _coco_name(record),
                "width": width,
                "height": height,
                "item_cid": record.item_cid,
                "confidence": float(record.confidence),
                "n_answers": int(record.n_answers),
                "contributors": list(record.contributors),
                "signature_hashes": list(record.signature_hashes),
            }
        )
        for box in record.label:
            w, h = float(box["w"]), float(box["h"])
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": category[box["label"]],
                    "bbox": [float(box["x"]), float(box["y"]), w, h],
                    "area": w * h,
                    "iscrowd": 0,
                    "segmentation": [],
                }
            )
    return {
        "info": {"description": name, "version": "1.0"},
        "licenses": [],
        "categories": [
            {"id": number, "name": label, "supercategory": "object"}
            for label, number in category.items()
        ],
        "images": images,
        "annotations": annotations,
    }


def write_coco(
    records: Sequence[ExportRecord], classes: Sequence[str], name: str, path: Path
) -> Path:
    """Write the COCO JSON for box-labelled ``records`` to ``path`` (and copy the images)."""
    document = coco_document(records, classes, name)
    copy_images(records, path.parent / "images")
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path
