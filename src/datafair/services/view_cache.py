"""Task views computed from every answer, reused until the store has new answers.

The task board's effective hourly pay (a median over every timed answer) and the quality
dashboard (a full inference) read every submission of a task. A server answers the same view
many times between two new answers, so it keeps the last result of each view per task and
database, stamped with the store's **version**: the highest submission, review and settlement
ids (primary keys, so each is one index probe). Submissions, reviews and settlements are
append-only, so an unchanged stamp means the inputs of every view are unchanged, and the cached
result is exactly what a fresh computation would return.

``max_stale_s`` lets a caller accept a result computed from an older stamp for that many
seconds (the dashboard does, to stay fast while answers stream in; it shows when its figures
were computed). Results must be immutable (frozen dataclasses): every caller shares them.

Inputs: an open ``Session``, a view name, a task key, and the function computing the view.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datafair.store.models import Review, Submission
from datafair.store.settlement_models import Settlement

T = TypeVar("T")
MAX_ENTRIES = 256

Version = tuple[int, int, int]


@dataclass(frozen=True)
class Cached:
    """A view's value, the store version it was computed from, and when (``time.time()``)."""

    value: Any
    version: Version
    computed_at: float


# One cache per engine: a server has one; tests' engines (one schema each) never share.
_caches: weakref.WeakKeyDictionary[Any, OrderedDict[Hashable, Cached]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def store_version(session: Session) -> Version:
    """The highest submission, review and settlement ids (0 when there are none)."""
    row = session.execute(
        select(
            select(func.coalesce(func.max(Submission.id), 0)).scalar_subquery(),
            select(func.coalesce(func.max(Review.id), 0)).scalar_subquery(),
            select(func.coalesce(func.max(Settlement.id), 0)).scalar_subquery(),
        )
    ).one()
    return (int(row[0]), int(row[1]), int(row[2]))


def cached_view(
    session: Session,
    view: str,
    task: Hashable,
    compute: Callable[[], T],
    *,
    max_stale_s: float = 0.0,
    clock: Callable[[], float] = time.time,
) -> tuple[T, float]:
    """``compute()``'s value for ``(view, task)`` and when it was computed.

    Recomputes when the store version changed since the cached value, unless the cached value
    is younger than ``max_stale_s`` seconds.
    """
    engine = session.get_bind()
    key = (view, task)
    version = store_version(session)
    now = clock()
    with _lock:
        entries = _caches.setdefault(engine, OrderedDict())
        entry = entries.get(key)
        if entry is not None and (
            entry.version == version or now - entry.computed_at < max_stale_s
        ):
            entries.move_to_end(key)
            return entry.value, entry.computed_at
    value = compute()
    with _lock:
        entries[key] = Cached(value, version, now)
        entries.move_to_end(key)
        while len(entries) > MAX_ENTRIES:
            entries.popitem(last=False)
    return value, now


def clear() -> None:
    """Forget every cached view (tests; a server never needs it)."""
    with _lock:
        _caches.clear()
