"""Datasets: a card and the ordered list of item CIDs it holds.

Inputs: an open ``Session``; callers own the transaction (repositories never commit).

A large import fills a *pending* dataset in many short transactions (``create_pending``,
``add_members``, ``heartbeat``) and switches it in with one short transaction at the end
(``switch_in``). A pending dataset's ``manifest_cid`` is ``pending-<random hex>``, which no
lookup by a real CID can match, and ``all`` leaves it out, so it is never visible or usable
half-filled; its ``title`` holds the ``host:pid`` of the importing process until the switch and
``created_at`` is its heartbeat, so ``pending_tags`` and ``stale_pending`` find the ones a
killed import left behind, and ``drop_members``/``drop`` remove them.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete, func, select, update
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

PENDING_PREFIX = "pending-"


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
        if manifest_cid.startswith(PENDING_PREFIX):
            return None
        return self.session.scalar(select(Dataset).where(Dataset.manifest_cid == manifest_cid))

    def create_pending(
        self, *, card: Mapping[str, Any], now_ms: int, owner: str | None, tag: str
    ) -> int:
        """A new, empty pending dataset of the importing process ``tag``; its id."""
        dataset = Dataset(
            manifest_cid=PENDING_PREFIX + uuid.uuid4().hex,
            title=tag[:300],
            card=dict(card),
            owner=owner,
            item_count=0,
            created_at=now_ms,
        )
        self.session.add(dataset)
        self.session.flush()
        return dataset.id

    def add_members(self, dataset_id: int, start: int, item_cids: Sequence[str]) -> None:
        """Append stored items at positions ``start, start + 1, ...`` of a pending dataset."""
        rows = [
            {"dataset_id": dataset_id, "position": start + offset, "item_cid": cid}
            for offset, cid in enumerate(item_cids)
        ]
        bulk_insert(self.session, DatasetItem, rows)

    def heartbeat(self, dataset_id: int, now_ms: int) -> None:
        """Mark a pending dataset as still being filled at ``now_ms``."""
        self.session.execute(
            update(Dataset).where(Dataset.id == dataset_id).values(created_at=now_ms)
        )

    def switch_in(
        self, dataset_id: int, manifest_cid: str, title: str, item_count: int, now_ms: int
    ) -> None:
        """Make the pending dataset ``dataset_id`` the complete dataset ``manifest_cid``."""
        self.session.execute(
            update(Dataset)
            .where(Dataset.id == dataset_id)
            .values(
                manifest_cid=manifest_cid, title=title, item_count=item_count, created_at=now_ms
            )
        )

    def pending_tags(self) -> list[tuple[int, str]]:
        """``(id, host:pid)`` of every pending dataset."""
        rows = self.session.execute(
            select(Dataset.id, Dataset.title).where(Dataset.manifest_cid.startswith(PENDING_PREFIX))
        )
        return [(dataset_id, tag) for dataset_id, tag in rows]

    def max_position(self, dataset_id: int) -> int:
        """The last member position of a dataset (-1 when it has none)."""
        value = self.session.scalar(
            select(func.max(DatasetItem.position)).where(DatasetItem.dataset_id == dataset_id)
        )
        return -1 if value is None else int(value)

    def stale_pending(self, before_ms: int) -> list[int]:
        """Ids of pending datasets whose last heartbeat is older than ``before_ms``."""
        return list(
            self.session.scalars(
                select(Dataset.id).where(
                    Dataset.manifest_cid.startswith(PENDING_PREFIX),
                    Dataset.created_at < before_ms,
                )
            )
        )

    def drop_members(self, dataset_id: int, below: int, size: int) -> int:
        """Delete the members at positions ``[below - size, below)``; how many there were."""
        result = self.session.execute(
            delete(DatasetItem).where(
                DatasetItem.dataset_id == dataset_id,
                DatasetItem.position >= below - size,
                DatasetItem.position < below,
            )
        )
        return int(getattr(result, "rowcount", 0))

    def drop(self, dataset_id: int) -> None:
        """Delete a dataset and its remaining members (drop large ones with ``drop_members``)."""
        self.session.execute(delete(DatasetItem).where(DatasetItem.dataset_id == dataset_id))
        self.session.execute(delete(Dataset).where(Dataset.id == dataset_id))

    def get(self, dataset_id: int) -> Dataset | None:
        return self.session.get(Dataset, dataset_id)

    def all(self) -> list[Dataset]:
        """Every complete dataset (pending ones left out), oldest first."""
        return list(
            self.session.scalars(
                select(Dataset)
                .where(~Dataset.manifest_cid.startswith(PENDING_PREFIX))
                .order_by(Dataset.id)
            )
        )

    def item_cids(self, dataset_id: int) -> list[str]:
        """The dataset's item CIDs in order."""
        return list(
            self.session.scalars(
                select(DatasetItem.item_cid)
                .where(DatasetItem.dataset_id == dataset_id)
                .order_by(DatasetItem.position)
            )
        )
