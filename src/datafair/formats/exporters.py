"""``write_export``: write a labelled dataset in a format trainers load directly.

===========  ==========================================  ======================================
format       files written in ``out_dir``                for
===========  ==========================================  ======================================
jsonl        ``<name>.jsonl``                            every task type
parquet      ``<name>.parquet``                          every task type
hf           ``<name>-hf/`` (a directory)                every task type (``load_from_disk``)
coco         ``<name>.coco.json``, ``images/``           bounding-box tasks
yolo         ``<name>-yolo/`` (images, labels, yaml)     bounding-box tasks
conll        ``<name>.conll``, ``.cids``                 entity-span tasks
labelstudio  ``<name>.labelstudio.json``, ``.xml``       every task type (Label Studio import)
===========  ==========================================  ======================================

Every record is checked first, so a bad record or a format that does not fit the task raises
``InvalidInput`` (naming the formats that fit) before any file is written; files are written to
a temporary name and moved into place. Rows keep the order of ``records``: pass them sorted (for
instance by item CID) for byte-identical exports of the same data.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from datafair.core.errors import InvalidInput
from datafair.core.schemas import TaskType
from datafair.formats.export_coco import write_coco
from datafair.formats.export_conll import write_conll
from datafair.formats.export_hf import write_hf
from datafair.formats.export_labelstudio import write_labelstudio
from datafair.formats.export_tables import write_jsonl, write_parquet
from datafair.formats.export_yolo import write_yolo
from datafair.formats.records import ExportRecord, check_name, check_records

EXPORT_FORMATS = ("jsonl", "parquet", "hf", "coco", "yolo", "conll", "labelstudio")
_EVERY_TYPE = ("jsonl", "parquet", "hf", "labelstudio")
FORMATS_FOR: dict[TaskType, tuple[str, ...]] = {
    task_type: tuple(
        fmt
        for fmt in EXPORT_FORMATS
        if fmt in _EVERY_TYPE
        or (fmt in ("coco", "yolo") and task_type is TaskType.BOXES)
        or (fmt == "conll" and task_type is TaskType.SPANS)
    )
    for task_type in TaskType
}
"""The export formats that fit each task type."""


def check_format(fmt: str, task_type: TaskType) -> None:
    """``InvalidInput`` naming the formats that fit unless ``fmt`` fits ``task_type``."""
    if fmt not in EXPORT_FORMATS:
        raise InvalidInput(
            "format", f"unknown export format {fmt!r}", f"use one of {', '.join(EXPORT_FORMATS)}"
        )
    task_type = TaskType(task_type)
    if fmt not in FORMATS_FOR[task_type]:
        raise InvalidInput(
            "format",
            f"{fmt} does not fit a {task_type} task",
            f"use one of {', '.join(FORMATS_FOR[task_type])}",
        )


def write_export(
    records: Iterable[ExportRecord],
    fmt: str,
    out_dir: Path,
    *,
    task_type: TaskType,
    classes: Sequence[str],
    name: str,
) -> list[Path]:
    """Write ``records`` of a ``task_type`` task as ``fmt`` into ``out_dir``; return the paths."""
    check_format(fmt, task_type)
    task_type = TaskType(task_type)
    check_name(name)
    records = list(records)
    classes = list(check_records(records, task_type, classes).classes)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if fmt == "jsonl":
        return [write_jsonl(records, task_type, out_dir / f"{name}.jsonl")]
    if fmt == "parquet":
        return [write_parquet(records, task_type, classes, out_dir / f"{name}.parquet")]
    if fmt == "hf":
        return [write_hf(records, task_type, classes, out_dir / f"{name}-hf")]
    if fmt == "coco":
        return [write_coco(records, classes, name, out_dir / f"{name}.coco.json")]
    if fmt == "yolo":
        return [write_yolo(records, classes, out_dir / f"{name}-yolo")]
    if fmt == "labelstudio":
        return write_labelstudio(records, task_type, classes, out_dir / f"{name}.labelstudio.json")
    return write_conll(records, out_dir / f"{name}.conll")
