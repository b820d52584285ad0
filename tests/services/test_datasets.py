"""Dataset import through the service: stored items, manifest CID, duplicates, all-or-nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datafair.core.errors import InvalidInput, NotFound
from datafair.core.task import DatasetCard
from datafair.crypto.cid import compute_cid
from datafair.services.datasets import (
    get_dataset,
    import_dataset,
    list_datasets,
    manifest_bytes,
)
from datafair.store.blobs import BlobStore
from datafair.store.models import Dataset, Item

CARD = DatasetCard(title="reviews", license="CC0-1.0", languages=("en",))


def _count(session: Session, model: type) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_csv_import_stores_items_and_manifest(session: Session, tmp_path: Path) -> None:
    source = tmp_path / "reviews.csv"
    source.write_text("text\ngood\nbad\ngood\n", encoding="utf-8")
    blobs = BlobStore(tmp_path / "blobs")
    report = import_dataset(session, blobs, source, CARD)
    assert report.items == 2 and report.new_items == 2
    assert report.duplicates == [("reviews.csv:4", "reviews.csv:2")]
    cids = [compute_cid(b"good"), compute_cid(b"bad")]
    card = DatasetCard(title="reviews", license="CC0-1.0", languages=("en",), modalities=("text",))
    assert blobs.get(report.manifest_cid) == manifest_bytes(card, cids)
    assert report.manifest_cid == compute_cid(manifest_bytes(card, cids))
    info = get_dataset(session, report.manifest_cid)
    assert info.items == 2 and info.card["modalities"] == ["text"]
    assert [d.manifest_cid for d in list_datasets(session)] == [report.manifest_cid]


def test_reimport_is_reported_and_stores_nothing(session: Session, tmp_path: Path) -> None:
    source = tmp_path / "a.jsonl"
    source.write_text('{"text": "one"}\n{"text": "two"}\n', encoding="utf-8")
    blobs = BlobStore(tmp_path / "blobs")
    first = import_dataset(session, blobs, source, CARD)
    again = import_dataset(session, blobs, source, CARD)
    assert again.already_imported and again.manifest_cid == first.manifest_cid
    assert _count(session, Dataset) == 1 and _count(session, Item) == 2


def test_images_go_to_blobs(session: Session, tmp_path: Path) -> None:
    folder = tmp_path / "images"
    folder.mkdir()
    Image.new("RGB", (8, 6), "red").save(folder / "red.png")
    blobs = BlobStore(tmp_path / "blobs")
    report = import_dataset(session, blobs, folder, CARD)
    cid = compute_cid((folder / "red.png").read_bytes())
    assert blobs.has(cid)
    item = session.get(Item, cid)
    assert item is not None and (item.width, item.height) == (8, 6)
    assert item.size == (folder / "red.png").stat().st_size
    assert report.counts == {"image": 1}


def test_a_corrupt_image_after_good_ones_stores_nothing(session: Session, tmp_path: Path) -> None:
    folder = tmp_path / "images"
    folder.mkdir()
    for name, colour in (("a.png", "red"), ("b.png", "blue")):
        Image.new("RGB", (8, 6), colour).save(folder / name)
    (folder / "c.png").write_bytes((folder / "a.png").read_bytes()[:40])  # truncated
    blobs = BlobStore(tmp_path / "blobs")
    with pytest.raises(InvalidInput, match=r"images/c\.png"):
        import_dataset(session, blobs, folder, CARD)
    assert _count(session, Item) == 0 and _count(session, Dataset) == 0
    assert [p for p in blobs.root.rglob("*") if p.is_file()] == []  # no blob, no staging left


def test_bad_row_stores_nothing(session: Session, tmp_path: Path) -> None:
    source = tmp_path / "bad.jsonl"
    source.write_text('{"text": "fine"}\n{not json}\n', encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"bad\.jsonl:2"):
        import_dataset(session, BlobStore(tmp_path / "blobs"), source, CARD)
    assert _count(session, Item) == 0 and _count(session, Dataset) == 0


def test_unknown_dataset(session: Session) -> None:
    with pytest.raises(NotFound, match="not stored"):
        get_dataset(session, compute_cid(b"nothing"))
