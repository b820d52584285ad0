"""Prior answers: stored with their dataset on import, gold for a task, nothing on bad input."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.conftest import sqlite_database

from datafair.core.errors import InvalidInput
from datafair.core.schemas import LabelSchema, TaskType
from datafair.core.task import DatasetCard
from datafair.formats import PriorOptions
from datafair.services.datasets import import_dataset, list_datasets
from datafair.services.prior_answers import gold_from_prior, prior_answers, prior_counts
from datafair.store.blobs import BlobStore
from datafair.store.db import Database
from datafair.store.prior_models import PriorAnswer


@pytest.fixture
def sqlite_session(sqlite_template: Path, tmp_path: Path) -> Iterator[Session]:
    database: Database = sqlite_database(sqlite_template, tmp_path)
    with database.session() as opened:
        yield opened
    database.dispose()


def _coco(tmp_path: Path, bbox: list[float]) -> Path:
    Image.new("RGB", (64, 48)).save(tmp_path / "street.png")
    path = tmp_path / "instances.json"
    path.write_text(
        json.dumps(
            {
                "images": [{"id": 1, "file_name": "street.png"}],
                "annotations": [{"id": 5, "image_id": 1, "category_id": 1, "bbox": bbox}],
                "categories": [{"id": 1, "name": "car"}],
            }
        )
    )
    return path


def test_coco_gold_becomes_a_boxes_tasks_gold(sqlite_session: Session, tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    report = import_dataset(
        sqlite_session,
        blobs,
        _coco(tmp_path, [1, 2, 10.004, 5]),
        DatasetCard(title="c"),
        options=PriorOptions(coco_role="gold"),
    )
    assert report.prior == {"gold boxes": 1} and report.prior_new == 1
    (stored,) = prior_answers(sqlite_session, report.manifest_cid)
    assert stored.answer == [{"x": 1, "y": 2, "w": 10.0, "h": 5, "label": "car"}]
    assert stored.visible and stored.contributor == "coco"
    gold = gold_from_prior(
        sqlite_session, report.manifest_cid, LabelSchema(TaskType.BOXES, ("car", "bus"))
    )
    assert list(gold.values()) == [[{"x": 1.0, "y": 2.0, "w": 10.0, "h": 5.0, "label": "car"}]]
    with pytest.raises(InvalidInput, match=r"^gold instances.json images\[0\]: .*unknown class"):
        gold_from_prior(sqlite_session, report.manifest_cid, LabelSchema(TaskType.BOXES, ("bus",)))
    again = import_dataset(
        sqlite_session, blobs, tmp_path / "instances.json", DatasetCard(title="c")
    )
    assert again.already_imported and again.prior_new == 0
    assert prior_counts(sqlite_session, report.manifest_cid) == {"gold boxes": 1}


def test_a_box_outside_its_image_stores_nothing(sqlite_session: Session, tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    with pytest.raises(InvalidInput, match=r"annotations\[0\] \(id 5\): box .* is outside"):
        import_dataset(
            sqlite_session, blobs, _coco(tmp_path, [60, 2, 10, 5]), DatasetCard(title="c")
        )
    assert list_datasets(sqlite_session) == []
    assert sqlite_session.scalar(select(func.count()).select_from(PriorAnswer)) == 0
    assert not any(path.is_file() for path in (tmp_path / "blobs").rglob("*"))
