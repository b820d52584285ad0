"""Label Studio export: tasks with the consensus as annotations, ready for Label Studio's import.

Writes ``<name>.labelstudio.json`` (a JSON list of tasks) and ``<name>.labelstudio.xml`` (a
labelling config that shows them). Each labelled record becomes one task:

* ``data``: ``text`` (text items), ``image`` (``images/<file_name>``, the image copied next to
  the JSON, as Label Studio's local-files import expects), or ``prompt``/``response_a``/
  ``response_b`` (pairs);
* ``annotations``: one annotation whose ``result`` holds the consensus label in Label Studio's
  result form (:func:`~datafair.formats.labelstudio_results.results_for`; boxes in percent of
  the image size), ``ground_truth`` false;
* ``meta``: the provenance (``item_cid``, ``confidence``, ``n_answers``, ``contributors``,
  ``signature_hashes``) and the item's imported meta fields.

Records whose label is ``None`` are exported without annotations.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from datafair.core.schemas import ItemKind, TaskType
from datafair.formats.export_coco import copy_images, image_size
from datafair.formats.labelstudio_results import labelling_config, results_for
from datafair.formats.records import ExportRecord, export_file_name


def _kind(record: ExportRecord) -> ItemKind:
    if record.pair is not None:
        return ItemKind.PAIR
    return ItemKind.IMAGE if record.image_path else ItemKind.TEXT


def labelstudio_task(record: ExportRecord, task_type: TaskType, position: int) -> dict[str, Any]:
    """One Label Studio task for ``record`` (see the module docs)."""
    kind = _kind(record)
    data: dict[str, Any]
    width = height = None
    if kind is ItemKind.PAIR:
        assert record.pair is not None
        prompt, response_a, response_b = record.pair
        data = {"prompt": prompt, "response_a": response_a, "response_b": response_b}
        to_name = "response_a"
    elif kind is ItemKind.IMAGE:
        image = f"images/{export_file_name(record)}" if record.file_name else record.image_path
        data = {"image": image}
        to_name = "image"
        width, height = image_size(record)
    else:
        data = {"text": record.text}
        to_name = "text"
    meta = dict(record.meta) | {
        "item_cid": record.item_cid,
        "confidence": float(record.confidence),
        "n_answers": int(record.n_answers),
        "contributors": list(record.contributors),
        "signature_hashes": list(record.signature_hashes),
    }
    task: dict[str, Any] = {"id": position, "data": data, "meta": meta, "annotations": []}
    if record.label is not None:
        results = results_for(
            task_type, record.label, to_name=to_name, width=width, height=height, text=record.text
        )
        task["annotations"].append(
            {"result": results, "ground_truth": False, "was_cancelled": False}
        )
    return task


def write_labelstudio(
    records: Sequence[ExportRecord], task_type: TaskType, classes: Sequence[str], path: Path
) -> list[Path]:
    """Write the tasks JSON at ``path``, its labelling config beside it, and the images."""
    tasks = [
        labelstudio_task(record, task_type, position)
        for position, record in enumerate(records, start=1)
    ]
    kind = _kind(records[0]) if records else ItemKind.TEXT
    config = path.with_name(path.name.removesuffix(".json") + ".xml")
    copy_images(records, path.parent / "images", labelled_only=False)
    for target, content in (
        (path, json.dumps(tasks, ensure_ascii=False, indent=1) + "\n"),
        (config, labelling_config(task_type, classes, kind)),
    ):
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_text(content, encoding="utf-8")
        os.replace(tmp, target)
    return [path, config]
