"""Export use case: write a task's labelled dataset in a format trainers load directly.

Inputs: an open ``Session``, the ``BlobStore`` (image items are exported by path to their blob),
a task id, a format from ``datafair.formats.EXPORT_FORMATS``, an output directory and the quality
method. Rows are sorted by item CID so the same data always give byte-identical files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from datafair.core.schemas import ItemKind
from datafair.formats import ExportRecord, write_export
from datafair.services.inference import InferenceResult, infer_task
from datafair.store.blobs import BlobStore
from datafair.store.repositories import ItemRepository


def _file_name(kind: ItemKind, meta: dict[str, Any] | None) -> str | None:
    """An image's original file name from its import meta (or its CID with the extension)."""
    if kind is not ItemKind.IMAGE:
        return None
    name = (meta or {}).get("file_name")
    return name if isinstance(name, str) else ""


def export_records(
    session: Session, blobs: BlobStore, inference: InferenceResult
) -> list[ExportRecord]:
    """One ``ExportRecord`` per answered item of the task, sorted by item CID."""
    items = ItemRepository(session).get_many([label.item_cid for label in inference.items])
    records = []
    for label in sorted(inference.items, key=lambda entry: entry.item_cid):
        item = items[label.item_cid]
        kind = ItemKind(item.kind)
        pair = None
        if kind is ItemKind.PAIR and item.text is not None:
            data = json.loads(item.text)
            pair = (data["prompt"], data["a"], data["b"])
        records.append(
            ExportRecord(
                item_cid=label.item_cid,
                label=label.label,
                confidence=label.confidence,
                n_answers=label.n_answers,
                contributors=label.contributors,
                signature_hashes=label.signature_hashes,
                text=item.text if kind is ItemKind.TEXT else None,
                image_path=str(blobs.path(item.cid)) if kind is ItemKind.IMAGE else None,
                width=item.width,
                height=item.height,
                pair=pair,
                meta=dict(item.meta or {}),
                file_name=_file_name(kind, item.meta),
            )
        )
    return records


def export_task(
    session: Session,
    blobs: BlobStore,
    task_id: bytes | str,
    fmt: str,
    out_dir: Path,
    *,
    method: str = "auto",
    inference: InferenceResult | None = None,
    name: str | None = None,
) -> list[Path]:
    """Infer (unless ``inference`` is given) and write the task's labels as ``fmt``."""
    result = inference if inference is not None else infer_task(session, task_id, method=method)
    spec = result.task.spec
    return write_export(
        export_records(session, blobs, result),
        fmt,
        Path(out_dir),
        task_type=spec.task_type,
        classes=list(spec.schema.classes),
        name=name or f"task-{result.task.task_id.hex()[:12]}",
    )
