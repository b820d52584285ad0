"""Datasets: a card and the ordered list of item CIDs it holds.

Inputs: an open ``Session``; callers own the transaction (repositories never commit).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from datafair.core.errors import Conflict, InvalidInput, NotFound
from datafair.store.models import (
    Dataset,
    DatasetItem,
)
from datafair.store.repositories._common import (
    bulk_insert,
)
from datafair.store.repositories.items import ItemRepository


class DatasetRepository:
    """Datasets: a card, a manifest CID and an ordered list of item CIDs."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def create(
        self,
        *,
        manifest_cid: str,
        card: Mapping[str, Any],
        item_cids: Sequence[str],
        now_ms: int,
        owner: str | None = None,
    ) -> Dataset:
        """Store a dataset over already stored items, in the given order.

        ``Conflict`` if the manifest is already stored, ``InvalidInput`` if the list is empty or
        repeats a CID, ``NotFound`` if an item is not stored.
        """
        if not item_cids:
            raise InvalidInput("items", "the dataset is empty", "import at least one item")
        if len(set(item_cids)) != len(item_cids):
            raise InvalidInput("items", "a CID appears twice", "list each item once")
        if self.by_manifest(manifest_cid) is not None:
            raise Conflict(f"dataset {manifest_cid}: already stored")
        dataset = Dataset(
            manifest_cid=manifest_cid,
            title=str(card.get("title", "")),
            card=dict(card),
            owner=owner,
            item_count=len(item_cids),
            created_at=now_ms,
        )
        self.session.add(dataset)
        self.session.flush()
        rows = [
            {"dataset_id": dataset.id, "position": position, "item_cid": cid}
            for position, cid in enumerate(item_cids)
        ]
        try:
            with self.session.begin_nested():
                bulk_insert(self.session, DatasetItem, rows)
        except IntegrityError:
            # the foreign key refused an item that is not stored; name it
            missing = set(item_cids) - ItemRepository(self.session).existing(item_cids)
            first = sorted(missing)[0] if missing else "?"
            raise NotFound(f"item {first}: not stored (store items before the dataset)") from None
        return dataset

    def by_manifest(self, manifest_cid: str) -> Dataset | None:
        return self.session.scalar(select(Dataset).where(Dataset.manifest_cid == manifest_cid))

    def get(self, dataset_id: int) -> Dataset | None:
        return self.session.get(Dataset, dataset_id)

    def all(self) -> list[Dataset]:
        return list(self.session.scalars(select(Dataset).order_by(Dataset.id)))

    def item_cids(self, dataset_id: int) -> list[str]:
        """The dataset's item CIDs in order."""
        return list(
            self.session.scalars(
                select(DatasetItem.item_cid)
                .where(DatasetItem.dataset_id == dataset_id)
                .order_by(DatasetItem.position)
            )
        )
