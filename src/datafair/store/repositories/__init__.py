"""Repositories: the store's queries, one small class per aggregate, over a SQLAlchemy session.

Inputs: an open ``Session``; callers own the transaction (repositories never commit). Bulk
paths (item import, submissions) use Core ``insert``/``update`` with many parameter sets rather
than the ORM unit of work. Times are Unix milliseconds.

One module per aggregate: :mod:`.accounts`, :mod:`.items`, :mod:`.datasets`, :mod:`.tasks`
(with the items' capacity counters), :mod:`.assignment`, :mod:`.submissions`, :mod:`.reviews`,
:mod:`.settlement` and :mod:`.reputation`. The classes are re-exported here, so
``from datafair.store.repositories import TaskRepository`` works as before.
"""

from __future__ import annotations

from datafair.store.repositories._common import BIG_CHUNK, CHUNK, chunked
from datafair.store.repositories.accounts import AccountRepository
from datafair.store.repositories.assignment import AssignmentRepository
from datafair.store.repositories.datasets import DatasetRepository
from datafair.store.repositories.items import ItemRepository, NewItem, item_context
from datafair.store.repositories.reputation import ReputationRepository
from datafair.store.repositories.reviews import ReviewRepository
from datafair.store.repositories.settlement import SettlementRepository
from datafair.store.repositories.submissions import SubmissionColumns, SubmissionRepository
from datafair.store.repositories.tasks import Slot, TaskRepository

__all__ = [
    "BIG_CHUNK",
    "CHUNK",
    "AccountRepository",
    "AssignmentRepository",
    "DatasetRepository",
    "ItemRepository",
    "NewItem",
    "ReputationRepository",
    "ReviewRepository",
    "SettlementRepository",
    "Slot",
    "SubmissionColumns",
    "SubmissionRepository",
    "TaskRepository",
    "chunked",
    "item_context",
]
