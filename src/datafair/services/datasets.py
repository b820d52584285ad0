"""Dataset use cases: import a file or folder as a content-addressed dataset, list, show.

Inputs: an open SQLAlchemy ``Session``, a ``BlobStore`` (images and manifests are stored as
blobs; texts stay inline in the database), the path to import and a ``DatasetCard``.

The dataset's *manifest* is the canonical JSON ``{"card": ..., "items": [cid, ...],
"version": 1}``; its CID names the dataset. The same files with the same card always give the
same manifest CID, on any machine. Importing is all-or-nothing: a bad row or file raises
``InvalidInput`` naming it before anything is stored, and a dataset becomes visible only
complete (see ``import_dataset``); what a killed import leaves is removed by the next one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import pickle
import socket
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from sqlalchemy.orm import Session

from datafair.core.canonical import canonical_json
from datafair.core.errors import NotFound
from datafair.core.schemas import ItemKind
from datafair.core.task import DatasetCard
from datafair.crypto.cid import cid_from_digest
from datafair.formats import ParsedDataset, PriorOptions, parse_dataset
from datafair.formats.items import check_text
from datafair.services.prior_answers import store_prior_labels
from datafair.services.tasks import Clock, now_ms
from datafair.store.blobs import BlobStore, _running
from datafair.store.db import RELAXED_SYNC
from datafair.store.models import Dataset
from datafair.store.repositories import DatasetRepository, ItemRepository, NewItem, chunked

MANIFEST_VERSION = 1
IMPORT_BATCH = 250
"""Rows per transaction of an import: small enough that a waiting writer waits milliseconds."""
IMPORT_PAUSE_S = 0.002
"""Pause of an import after each committed batch: the gap in which waiting writers, which try
for the lock every millisecond (:func:`datafair.store.db.poll_begin_immediate`), take it."""
STALE_IMPORT_MS = 10 * 60 * 1000
"""A pending dataset whose heartbeat is this old belongs to an import that died."""


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
    prior: dict[str, int] = field(default_factory=dict)
    prior_new: int = 0
    unsupported: list[tuple[str, str]] = field(default_factory=list)


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


def manifest_chunks(card: DatasetCard, cid_chunks: Iterable[list[str]]) -> Iterator[bytes]:
    """``manifest_bytes`` in pieces, from the item CIDs in consecutive lists (streaming)."""
    yield b'{"card":' + canonical_json(card.to_dict()) + b',"items":['
    first = True
    for cids in cid_chunks:
        if cids:
            yield (b"" if first else b",") + ",".join(f'"{cid}"' for cid in cids).encode()
            first = False
    yield b'],"version":' + str(MANIFEST_VERSION).encode() + b"}"


def _manifest_cid(chunks: Iterable[bytes]) -> str:
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    return cid_from_digest(digest.digest())


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


class _Spool:
    """The items of a streamed parse, kept in an anonymous temporary file until stored."""

    def __init__(self, file: IO[bytes]) -> None:
        self.file = file

    def put(self, batch: list[Any]) -> None:
        pickle.dump([_new_item(item) for item in batch], self.file, pickle.HIGHEST_PROTOCOL)

    def batches(self) -> Iterator[list[NewItem]]:
        self.file.seek(0)
        while True:
            try:
                yield pickle.load(self.file)
            except EOFError:
                return


def _pending_tag() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def clean_stale_imports(session: Session, clock: Clock = time.time) -> int:
    """Remove the pending datasets of imports that were killed; how many were removed.

    A pending dataset is stale when its import's process no longer runs on this machine, or
    when its heartbeat is older than ``STALE_IMPORT_MS`` (an import on another machine).
    Each is removed in short transactions, so nothing is locked for long.
    """
    datasets = DatasetRepository(session)
    stale = set(datasets.stale_pending(now_ms(clock) - STALE_IMPORT_MS))
    host = socket.gethostname()
    for dataset_id, tag in datasets.pending_tags():
        where, _, pid = tag.rpartition(":")
        if where == host and pid.isdigit() and not _running(int(pid)):
            stale.add(dataset_id)
    session.commit()
    for dataset_id in sorted(stale):
        _drop_pending(session, dataset_id)
    return len(stale)


def _batch_transaction(session: Session) -> None:
    """Begin an import batch's transaction: on SQLite without fsync at commit
    (:data:`~datafair.store.db.RELAXED_SYNC`). A power cut may undo such batches, never what
    others committed; the transaction that switches the dataset in commits with fsync, making
    every batch before it durable, and an import undone in part is cleaned like a killed one."""
    session.connection(execution_options={RELAXED_SYNC: True})


def _drop_pending(session: Session, dataset_id: int) -> None:
    datasets = DatasetRepository(session)
    below = datasets.max_position(dataset_id) + 1
    session.commit()
    while below > 0:
        datasets.drop_members(dataset_id, below, IMPORT_BATCH)
        session.commit()
        below -= IMPORT_BATCH
    datasets.drop(dataset_id)
    session.commit()


def import_dataset(
    session: Session,
    blobs: BlobStore,
    path: Path,
    card: DatasetCard,
    *,
    owner: str | None = None,
    clock: Clock = time.time,
    progress: Callable[[str], None] | None = None,
    options: PriorOptions | None = None,
) -> ImportReport:
    """Parse ``path`` (image folder, CSV, JSONL, Label Studio JSON, COCO JSON), store it, commit.

    Labels that come with the items (Label Studio annotations and predictions, COCO boxes) are
    stored as prior answers (:mod:`datafair.services.prior_answers`), kept as ``options`` say;
    the report counts them by role and task type. Returns the ``ImportReport``; importing the
    same content with the same card again stores nothing new (but labels not stored yet) and
    reports ``already_imported``.

    The whole input is read and checked first (items spooled to an anonymous temporary file,
    only digests kept in memory), then stored in transactions of ``IMPORT_BATCH`` rows: items
    (content-addressed, unused until a dataset lists them), then the members of a pending
    dataset, then one short transaction switches the dataset in. Other writers (``task next``,
    ``task submit``) wait at most one batch: the import pauses ``IMPORT_PAUSE_S`` after each.
    On SQLite the batches commit without fsync (:func:`_batch_transaction`); the switch commits
    with it. The manifest blob is written after the switch.
    """
    say = progress or (lambda _message: None)
    for name in ("title", "description", "license", "source"):
        check_text(getattr(card, name), name)
    for language in card.languages:
        check_text(language, "languages")
    clean_stale_imports(session, clock)
    say(f"reading {path}")
    blobs.root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=blobs.root) as file:  # unlinked: a kill leaves nothing
        spool = _Spool(file)
        with blobs.staged() as stage:  # image bytes go to blobs as read, kept only if all succeeds
            parsed = parse_dataset(
                Path(path), image_sink=stage.put, options=options, item_sink=spool.put
            )
        return _store(session, blobs, parsed, spool, card, owner, clock, say, options)


def _store(
    session: Session,
    blobs: BlobStore,
    parsed: ParsedDataset,
    spool: _Spool,
    card: DatasetCard,
    owner: str | None,
    clock: Clock,
    say: Callable[[str], None],
    options: PriorOptions | None,
) -> ImportReport:
    card = _with_modalities(card, parsed)
    manifest_cid = _manifest_cid(manifest_chunks(card, parsed.iter_item_cids()))
    report = ImportReport(
        manifest_cid=manifest_cid,
        format=parsed.format,
        items=len(parsed),
        new_items=0,
        counts=parsed.counts,
        duplicates=parsed.duplicates,
        skipped=parsed.skipped,
        prior=dict(Counter(f"{label.role} {label.task_type}" for label in parsed.prior)),
        unsupported=parsed.unsupported,
    )
    datasets = DatasetRepository(session)
    show = options.show_predictions if options is not None else False
    created = now_ms(clock)

    def store_prior() -> int:
        return store_prior_labels(
            session,
            manifest_cid,
            parsed.prior,
            parsed.cid_of_source(),
            show_predictions=show,
            now_ms=created,
        )

    def put_manifest() -> None:
        blobs.put_stream(manifest_chunks(card, parsed.iter_item_cids()))

    try:
        if datasets.by_manifest(manifest_cid) is not None:
            prior_new = store_prior()
            session.commit()
            put_manifest()  # idempotent: restores a manifest a kill may have left unwritten
            return dataclasses.replace(report, already_imported=True, prior_new=prior_new)
        session.commit()
        say(f"storing {len(parsed)} items")
        items = ItemRepository(session)
        new_items = 0
        for batch in spool.batches():
            for part in chunked(batch, IMPORT_BATCH):
                _batch_transaction(session)
                new_items += items.add_many(part, now_ms=created)
                session.commit()
                time.sleep(IMPORT_PAUSE_S)
        pending = datasets.create_pending(
            card=card.to_dict(), now_ms=now_ms(clock), owner=owner, tag=_pending_tag()
        )
        session.commit()
    except BaseException:
        session.rollback()
        raise
    try:
        position = 0
        for cids in parsed.iter_item_cids(IMPORT_BATCH):
            _batch_transaction(session)
            datasets.add_members(pending, position, cids)
            datasets.heartbeat(pending, now_ms(clock))
            session.commit()
            time.sleep(IMPORT_PAUSE_S)
            position += len(cids)
        if datasets.by_manifest(manifest_cid) is not None:  # a concurrent import finished first
            prior_new = store_prior()
            session.commit()
            _drop_pending(session, pending)
            return dataclasses.replace(report, already_imported=True, prior_new=prior_new)
        datasets.switch_in(pending, manifest_cid, card.title[:300], position, created)
        prior_new = store_prior()
        session.commit()
    except BaseException:
        session.rollback()
        with contextlib.suppress(Exception):
            _drop_pending(session, pending)
        raise
    put_manifest()
    return dataclasses.replace(report, new_items=new_items, prior_new=prior_new)


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
