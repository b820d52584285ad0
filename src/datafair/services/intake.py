"""Group commit of single submissions: concurrent requests share one transaction.

Inputs: a session factory (each batch opens its own session); the submissions arrive one per
calling thread (a server's request handlers).

A submission alone costs a transaction: a write lock, a dozen statements and, on SQLite, an
fsync. When several arrive together, :class:`GroupCommit` stores them with one call of
:func:`datafair.services.contributions.submit_signed` (one transaction per chunk): the first
caller to find no batch running becomes the leader, takes every waiting submission (at most
``max_batch``), stores them, hands each caller its own result, and passes the lead to the
oldest caller still waiting, if any. A caller returns only once its submission's transaction
committed (or was refused), exactly as with a direct call, so nothing acknowledged is lost, and
each entry keeps its own result (one bad entry never fails the others). With one caller at a
time it is a direct call.

The batching is the "group commit" of database logs (Gawlick & Kinkade, IMS FastPath, 1985;
PostgreSQL's ``commit_delay``), without any delay: it only merges what is already waiting.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from datafair.services.contributions import Intake, submit_signed
from datafair.services.submissions import SubmissionInput


@dataclass
class _Waiter:
    entry: SubmissionInput
    wake: threading.Event = field(default_factory=threading.Event)
    lead: bool = False
    done: bool = False
    result: Intake | None = None
    failure: BaseException | None = None


class GroupCommit:
    """Store single submissions, merging the ones that wait at the same time (see module)."""

    def __init__(self, sessions: Callable[[], Session], *, max_batch: int = 256) -> None:
        self._sessions = sessions
        self._max_batch = max_batch
        self._lock = threading.Lock()
        self._pending: list[_Waiter] = []
        self._leading = False

    def submit(self, entry: SubmissionInput) -> Intake:
        """Store ``entry`` (with whatever waits alongside); its own result, or its error."""
        waiter = _Waiter(entry)
        with self._lock:
            self._pending.append(waiter)
            if not self._leading:
                self._leading = True
                waiter.lead = True
        while not waiter.done:
            if waiter.lead:
                waiter.lead = False
                self._run_batch()
                continue
            waiter.wake.wait()
            waiter.wake.clear()
        if waiter.failure is not None:
            raise waiter.failure
        assert waiter.result is not None
        return waiter.result

    def _run_batch(self) -> None:
        with self._lock:
            batch = self._pending[: self._max_batch]
            del self._pending[: self._max_batch]
        try:
            with self._sessions() as session:
                results = submit_signed(session, [waiter.entry for waiter in batch])
            for waiter, result in zip(batch, results, strict=True):
                waiter.result = Intake(0, result.stored_id, result.duplicate, result.error)
        except BaseException as failure:  # the database failed: every caller of the batch sees it
            for waiter in batch:
                waiter.failure = failure
        finally:
            with self._lock:
                for waiter in batch:
                    waiter.done = True
                    waiter.wake.set()
                if self._pending:
                    successor = self._pending[0]
                    successor.lead = True
                    successor.wake.set()
                else:
                    self._leading = False
