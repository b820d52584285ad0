"""COCO object-detection export, for bounding-box tasks.

One JSON file with ``info``, ``licenses`` (empty), ``categories`` (``id`` 1..n in the task's
class order, ``name``, ``supercategory``), ``images`` and ``annotations``:

* an image per labelled record: ``id`` (1.. in record order), ``file_name`` (the record's
  ``image_path``), ``width``, ``height``, and the provenance fields ``item_cid``,
  ``confidence``, ``n_answers``, ``contributors``, ``signature_hashes``;
* an annotation per box: ``id``, ``image_id``, ``category_id``, ``bbox`` = ``[x, y, w, h]``
  (pixels from the top-left corner), ``area`` = ``w * h``, ``iscrowd`` 0, ``segmentation`` [].

A record whose label is ``None`` (no inferred label) is left out; an empty list is an image
with no objects. Width and height come from the record or, when absent, the image file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PIL import Image

from datafair.core.errors import InvalidInput
from datafair.formats.records import ExportRecord


def _size(record: ExportRecord) -> tuple[int, int]:
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
        width, height = _size(record)
        image_id = len(images) + 1
        images.append(
            {
                "id": image_id,
                "file_name": record.image_path,
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
    """Write the COCO JSON for box-labelled ``records`` to ``path``."""
    document = coco_document(records, classes, name)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path
