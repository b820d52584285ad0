"""``write_export``: write a labelled dataset in a format trainers load directly.

==========  =============================  ==========================================
format      files written in ``out_dir``   for
==========  =============================  ==========================================
jsonl       ``<name>.jsonl``               every task type
parquet     ``<name>.parquet``             every task type
hf          ``<name>-hf/`` (a directory)   every task type (``datasets.load_from_disk``)
coco        ``<name>.coco.json``           bounding-box tasks
conll       ``<name>.conll``, ``.cids``    entity-span tasks
==========  =============================  ==========================================

Every record is checked first, so a bad record or a format that does not fit the task raises
``InvalidInput`` before any file is written; files are written to a temporary name and moved
into place. Rows keep the order of ``records``: pass them sorted (for instance by item CID) for
byte-identical exports of the same data.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from datafair.core.errors import InvalidInput
from datafair.core.schemas import TaskType
from datafair.formats.export_coco import write_coco
from datafair.formats.export_conll import write_conll
from datafair.formats.export_hf import write_hf
from datafair.formats.export_tables import write_jsonl, write_parquet
from datafair.formats.records import ExportRecord, check_name, check_records

EXPORT_FORMATS = ("jsonl", "parquet", "hf", "coco", "conll")
_ONLY_FOR = {"coco": (TaskType.BOXES, "bounding-box"), "conll": (TaskType.SPANS, "entity-span")}


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
    if fmt not in EXPORT_FORMATS:
        raise InvalidInput(
            "format", f"unknown export format {fmt!r}", f"use one of {', '.join(EXPORT_FORMATS)}"
        )
    task_type = TaskType(task_type)
    if fmt in _ONLY_FOR and _ONLY_FOR[fmt][0] is not task_type:
        raise InvalidInput(
            "format",
            f"{fmt} is for {_ONLY_FOR[fmt][1]} tasks, this is a {task_type} task",
            "use jsonl, parquet or hf",
        )
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
    return write_conll(records, out_dir / f"{name}.conll")
