"""YOLO (Ultralytics / Darknet) detection export, for bounding-box tasks.

Writes the folder ``<name>-yolo/``:

* ``images/<file_name>``: each labelled record's image, by its original relative name
  (:func:`~datafair.formats.records.export_file_name`);
* ``labels/<file_name stem>.txt``: one line per box, ``class x_center y_center width height``
  with the class index (0-based, the task's class order) and coordinates normalised to the image
  size (0..1, six decimals); an empty file for an image without objects;
* ``data.yaml``: ``path``, ``train``/``val`` (both ``images``), ``nc`` and ``names``, as
  Ultralytics reads them; ``provenance.jsonl``: one line per image with the item CID,
  confidence, number of answers, contributors and signature hashes.

Records whose label is ``None`` are left out. Image sizes come from the record or the file.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from datafair.core.errors import InvalidInput
from datafair.formats.export_coco import image_size
from datafair.formats.records import ExportRecord, export_file_name


def yolo_lines(record: ExportRecord, classes: Sequence[str], width: int, height: int) -> list[str]:
    """The label file lines of one box-labelled record of a ``width`` × ``height`` image."""
    index = {name: position for position, name in enumerate(classes)}
    lines = []
    for box in record.label or []:
        x, y, w, h = (float(box[key]) for key in ("x", "y", "w", "h"))
        centre_x, centre_y = (x + w / 2) / width, (y + h / 2) / height
        lines.append(
            f"{index[box['label']]} {centre_x:.6f} {centre_y:.6f} {w / width:.6f} {h / height:.6f}"
        )
    return lines


def _yaml_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid YAML scalar


def write_yolo(records: Sequence[ExportRecord], classes: Sequence[str], folder: Path) -> Path:
    """Write the YOLO folder (see the module docs) at ``folder``, replacing it; return it."""
    tmp = folder.with_name(folder.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    (tmp / "images").mkdir(parents=True)
    (tmp / "labels").mkdir()
    provenance = []
    for record in records:
        if record.label is None:
            continue
        if not record.image_path:
            raise InvalidInput(
                f"record {record.item_cid} image_path",
                "is missing",
                "a YOLO export needs each image's file",
            )
        width, height = image_size(record)
        name = export_file_name(record)
        image = tmp / "images" / name
        image.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(record.image_path, image)
        label = tmp / "labels" / PurePosixPath(name).with_suffix(".txt")
        label.parent.mkdir(parents=True, exist_ok=True)
        lines = yolo_lines(record, classes, width, height)
        label.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        provenance.append(
            {
                "file_name": name,
                "item_cid": record.item_cid,
                "confidence": float(record.confidence),
                "n_answers": int(record.n_answers),
                "contributors": list(record.contributors),
                "signature_hashes": list(record.signature_hashes),
            }
        )
    names = "".join(
        f"  {position}: {_yaml_string(label)}\n" for position, label in enumerate(classes)
    )
    (tmp / "data.yaml").write_text(
        f"path: .\ntrain: images\nval: images\nnc: {len(classes)}\nnames:\n{names}",
        encoding="utf-8",
    )
    (tmp / "provenance.jsonl").write_text(
        "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in provenance), encoding="utf-8"
    )
    if folder.exists():
        shutil.rmtree(folder)
    tmp.rename(folder)
    return folder
