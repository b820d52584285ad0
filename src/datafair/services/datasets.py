"""Dataset use cases: import a file or folder as a content-addressed dataset, list, show.

Inputs: an open SQLAlchemy ``Session``, a ``BlobStore`` (images and manifests are stored as
blobs; texts stay inline in the database), the path to import and a ``DatasetCard``.

The dataset's *manifest* is the canonical JSON ``{"card": ..., "items": [cid, ...],
"version": 1}``; its CID names the dataset. The same files with the same card always give the
same manifest CID, on any machine. Importing is all-or-nothing: a bad row or file raises
``InvalidInput`` naming it before anything is stored.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from datafair.core.canonical import canonical_json
from datafair.core.errors import NotFound
from datafair.core.schemas import ItemKind
from datafair.core.task import DatasetCard
from datafair.formats import ParsedDataset, parse_dataset
from datafair.services.tasks import Clock, now_ms
from datafair.store.blobs import BlobStore
from datafair.store.models import Dataset
from datafair.store.repositories import DatasetRepository, ItemRepository, NewItem

MANIFEST_VERSION = 1


@dataclass(frozen=True)
class ImportReport:
    """What an import did: the dataset's manifest CID, item counts, duplicates, skipped files."""

    manifest_cid: str
    format: str
    items: int
    new_items: int
    counts: dict[str, int]
    duplicates: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    already_imported: bool = False


@dataclass(frozen=True)
class DatasetInfo:
    """A stored dataset as users see it."""

    manifest_cid: str
    title: str
    card: dict[str, Any]
    items: int
    created_at: int
    owner: str | None = None


def manifest_bytes(card: DatasetCard, item_cids: list[str]) -> bytes:
    """The canonical manifest of a dataset: its card and its ordered item CIDs."""
    return canonical_json({"version": MANIFEST_VERSION, "card": card.to_dict(), "items": item_cids})


def _with_modalities(card: DatasetCard, parsed: ParsedDataset) -> DatasetCard:
    if card.modalities:
        return card
    return dataclasses.replace(card, modalities=tuple(parsed.modalities))


def _new_item(item: Any) -> NewItem:
    text = item.text if item.kind is not ItemKind.PAIR else item.content.decode("utf-8")
    return NewItem(
        cid=item.cid,
        kind=item.kind,
        size=item.size,
        text=text,
        width=item.width,
        height=item.height,
        meta=item.meta,
    )


def import_dataset(
    session: Session,
    blobs: BlobStore,
    path: Path,
    card: DatasetCard,
    *,
    owner: str | None = None,
    clock: Clock = time.time,
    progress: Callable[[str], None] | None = None,
) -> ImportReport:
    """Parse ``path`` (image folder, CSV, JSONL, Label Studio JSON), store it, commit.

    Returns the ``ImportReport``; importing the same content with the same card again stores
    nothing new and reports ``already_imported``.
    """
    say = progress or (lambda _message: None)
    say(f"reading {path}")
    with blobs.staged() as stage:  # image bytes go to blobs as read, kept only if all succeeds
        parsed = parse_dataset(Path(path), image_sink=stage.put)
        card = _with_modalities(card, parsed)
        item_cids = [item.cid for item in parsed.items]
        manifest = manifest_bytes(card, item_cids)
        report = ImportReport(
            manifest_cid="",
            format=parsed.format,
            items=len(item_cids),
            new_items=0,
            counts=parsed.counts,
            duplicates=parsed.duplicates,
            skipped=parsed.skipped,
        )
        manifest_cid = stage.put(manifest)
    datasets = DatasetRepository(session)
    try:
        say(f"storing {len(item_cids)} items")
        created = now_ms(clock)
        new_items = ItemRepository(session).add_many(
            (_new_item(item) for item in parsed.items), now_ms=created
        )
        if datasets.by_manifest(manifest_cid) is not None:
            session.rollback()
            return dataclasses.replace(report, manifest_cid=manifest_cid, already_imported=True)
        datasets.create(
            manifest_cid=manifest_cid,
            card=card.to_dict(),
            item_cids=item_cids,
            now_ms=created,
            owner=owner,
        )
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return dataclasses.replace(report, manifest_cid=manifest_cid, new_items=new_items)


def _info(dataset: Dataset) -> DatasetInfo:
    return DatasetInfo(
        manifest_cid=dataset.manifest_cid,
        title=dataset.title,
        card=dict(dataset.card),
        items=dataset.item_count,
        created_at=dataset.created_at,
        owner=dataset.owner,
    )


def list_datasets(session: Session) -> list[DatasetInfo]:
    """Every stored dataset, oldest first."""
    return [_info(dataset) for dataset in DatasetRepository(session).all()]


def get_dataset(session: Session, manifest_cid: str) -> DatasetInfo:
    """The dataset named by ``manifest_cid``; ``NotFound`` if it is not stored."""
    dataset = DatasetRepository(session).by_manifest(manifest_cid)
    if dataset is None:
        raise NotFound(
            f"dataset {manifest_cid}: not stored (list datasets with `datafair dataset list`)"
        )
    return _info(dataset)
