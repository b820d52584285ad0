"""Hugging Face ``datasets`` export: ``Dataset.save_to_disk``, loadable by ``load_from_disk``.

The columns are those of the Parquet export (see ``datafair.formats.export_tables``), with
these feature types: classification labels are ``ClassLabel(names=classes)`` and multilabel
labels a list of that ``ClassLabel`` (an unlabelled item is ``None``); preference labels, spans
and boxes keep their string / struct forms. When any record has an image, an ``image`` column
of type ``Image`` holds the image bytes themselves, so the saved dataset does not depend on the
files staying where they were. ``datasets`` is imported on first use (it is slow to import).

Per task type, the columns trainers of that type read are added:

* boxes: ``width``, ``height`` and ``objects`` =
  ``{"bbox": List(Value("float32"), length=4), "category": ClassLabel}`` per image (COCO
  ``[x, y, w, h]`` pixels), the layout of the Hub's object-detection datasets;
* spans: ``tokens`` (whitespace tokens) and ``ner_tags`` (a list of ``ClassLabel`` over
  ``O``, ``B-<class>``, ``I-<class>``), the token-classification layout (as CoNLL-2003);
* transcription of images: ``text`` is the transcription, so ``image`` + ``text`` are the
  image–text pairs OCR / captioning trainers read;
* preference: ``prompt``, ``chosen``, ``rejected`` (already in every export of the type).
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from datafair.core.schemas import TaskType
from datafair.formats.export_coco import image_size
from datafair.formats.export_conll import bio_tags
from datafair.formats.export_tables import columns
from datafair.formats.records import ExportRecord


def _features(task_type: TaskType, classes: Sequence[str], with_image: bool) -> Any:
    import datasets

    string = datasets.Value("string")
    label: Any
    if task_type is TaskType.CLASSIFICATION:
        label = datasets.ClassLabel(names=list(classes))
    elif task_type is TaskType.MULTILABEL:
        label = datasets.List(datasets.ClassLabel(names=list(classes)))
    elif task_type is TaskType.SPANS:
        label = datasets.List(
            {"start": datasets.Value("int64"), "end": datasets.Value("int64"), "label": string}
        )
    elif task_type is TaskType.BOXES:
        number = datasets.Value("float64")
        label = datasets.List({"x": number, "y": number, "w": number, "h": number, "label": string})
    else:
        label = string
    types: dict[str, Any] = {
        "item_cid": string,
        "text": string,
        "image_path": string,
        "prompt": string,
        "chosen": string,
        "rejected": string,
        "label": label,
        "confidence": datasets.Value("float64"),
        "n_answers": datasets.Value("int64"),
        "contributors": datasets.List(string),
        "signature_hashes": datasets.List(string),
        "meta": string,
    }
    if with_image:
        types["image"] = datasets.Image()
    types["width"] = datasets.Value("int64")
    types["height"] = datasets.Value("int64")
    types["objects"] = datasets.List(
        {
            "bbox": datasets.List(datasets.Value("float32"), length=4),
            "category": datasets.ClassLabel(names=list(classes) or ["none"]),
        }
    )
    types["tokens"] = datasets.List(string)
    types["ner_tags"] = datasets.List(datasets.ClassLabel(names=bio_names(classes)))
    return types


def bio_names(classes: Sequence[str]) -> list[str]:
    """The token-classification tag names: ``O``, then ``B-c`` and ``I-c`` per class."""
    names = ["O"]
    for name in classes:
        tag = "_".join(name.split())
        names += [f"B-{tag}", f"I-{tag}"]
    return names


def _add_type_columns(
    table: dict[str, list[Any]],
    records: Sequence[ExportRecord],
    task_type: TaskType,
    classes: Sequence[str],
) -> None:
    index = {name: position for position, name in enumerate(classes)}
    if task_type is TaskType.BOXES:
        sizes = [image_size(record) if record.image_path else (None, None) for record in records]
        table["width"] = [size[0] for size in sizes]
        table["height"] = [size[1] for size in sizes]
        table["objects"] = [
            None
            if record.label is None
            else [
                {
                    "bbox": [float(box[key]) for key in ("x", "y", "w", "h")],
                    "category": index[box["label"]],
                }
                for box in record.label
            ]
            for record in records
        ]
    elif task_type is TaskType.SPANS:
        tag_index = {name: position for position, name in enumerate(bio_names(classes))}
        tokens: list[list[str] | None] = []
        tags: list[list[int] | None] = []
        for record in records:
            if record.label is None or record.text is None:
                tokens.append(None)
                tags.append(None)
                continue
            tagged = bio_tags(record.text, record.label)
            tokens.append([token for token, _ in tagged])
            tags.append([tag_index[tag] for _, tag in tagged])
        table["tokens"], table["ner_tags"] = tokens, tags


def write_hf(
    records: Sequence[ExportRecord], task_type: TaskType, classes: Sequence[str], path: Path
) -> Path:
    """Save the records as a Hugging Face dataset directory at ``path`` (replaced if present)."""
    import datasets

    table = columns(records, task_type)
    index = {name: position for position, name in enumerate(classes)}
    if task_type is TaskType.CLASSIFICATION:
        table["label"] = [None if value is None else index[value] for value in table["label"]]
    elif task_type is TaskType.MULTILABEL:
        table["label"] = [
            None if value is None else [index[name] for name in value] for value in table["label"]
        ]
    _add_type_columns(table, records, task_type, classes)
    with_image = any(record.image_path for record in records)
    if with_image:
        table["image"] = [
            {"bytes": Path(record.image_path).read_bytes(), "path": None}
            if record.image_path
            else None
            for record in records
        ]
    types = _features(task_type, classes, with_image)
    features = datasets.Features({name: types[name] for name in table})
    dataset = datasets.Dataset.from_dict(table, features=features)
    tmp = path.with_name(path.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    quiet = datasets.are_progress_bars_disabled()
    datasets.disable_progress_bars()
    try:
        dataset.save_to_disk(str(tmp))
    finally:
        if not quiet:
            datasets.enable_progress_bars()
    if path.exists():
        shutil.rmtree(path)
    tmp.rename(path)
    return path
