"""Group commit of single submissions: concurrent requests share one transaction.

Inputs: a session factory (each batch opens its own session); submissions arrive one per
request handler, as coroutines on the server's event loop.

A submission alone costs a transaction: a write lock, a dozen statements and, on SQLite, an
fsync. :class:`GroupCommit` queues each submission on the event loop and stores whatever waits
with one call of :func:`datafair.services.contributions.submit_signed` (one transaction per
chunk) on its own writer thread: while one batch is being stored, the loop keeps reading
requests, and the next batch takes all of them. A handler's ``await`` returns only once its
submission's transaction committed (or was refused), exactly as with a direct call, so nothing
acknowledged is lost, and each entry keeps its own result (one bad entry never fails the
others). With one request at a time it is a direct call: there is never a wait for more.

Each submission may carry its caller's sign-in token and a *permit*: on the writer thread, one
query in the read-only snapshot where the batch's signatures are checked finds the signed-in
address of every token of the batch, and each permit is called with its caller's address
(``None`` without a token) before anything else is checked, so the sign-in check costs neither
its own transaction nor its own thread hop. An unknown, expired or revoked token, or a permit
that raises, refuses that entry alone (its error is its result; it is not stored).

The batching is the "group commit" of database logs (Gawlick & Kinkade, IMS FastPath, 1985).
It adds no delay for a lone caller: a batch takes what is already waiting. Only when the last
cycle had more callers than now wait (clients that send their next answer as soon as they get
a reply: after a batch of 3 is stored, the one that came meanwhile would otherwise go alone and
the 3 after it, a batch of 1 then of 3 forever) does the next batch wait for those callers to
come back, like PostgreSQL's ``commit_delay`` with ``commit_siblings``. It waits only for
callers who do come back that fast: for at most twice their mean return time (how soon a
signed-in caller sends again once its last submission was stored, :class:`ReturnTimes`), and
not at all when that exceeds :data:`SIBLING_WAIT_S` (callers sending at a steady pace); with
no signed-in caller, for at most the last batch's storing time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy.orm import Session

from datafair.core.errors import DatafairError
from datafair.services.auth import session_addresses, signed_in_address
from datafair.services.contributions import Intake, submit_signed
from datafair.services.submissions import SubmissionInput

SIBLING_WAIT_S = 0.02
"""The longest a batch waits for the callers of the previous one to come back (see module)."""
RETURN_MEMORY = 0.2
"""Weight of the newest return time in their running mean (:class:`ReturnTimes`)."""

Permit = Callable[[str | None], None]
"""Whether the caller signed in as this address (``None``: anonymous) may submit the entry;
raises a :class:`~datafair.core.errors.DatafairError` to refuse."""


@dataclass
class _Waiter:
    entry: SubmissionInput
    token: str | None
    permit: Permit | None
    future: asyncio.Future[Intake]


class ReturnTimes:
    """How soon signed-in callers send their next submission once the last one was stored: an
    exponentially weighted mean over every return seen (a caller is known by its token)."""

    def __init__(self, *, memory: float = RETURN_MEMORY, remembered: int = 4096) -> None:
        self.mean: float | None = None
        self._memory = memory
        self._remembered = remembered
        self._stored_at: dict[str, float] = {}

    def stored(self, tokens: list[str | None], now: float) -> None:
        """The submissions of callers ``tokens`` were stored at ``now``."""
        if len(self._stored_at) > self._remembered:  # callers who never came back
            self._stored_at.clear()
        for token in tokens:
            if token is not None:
                self._stored_at[token] = now

    def arrived(self, token: str | None, now: float) -> None:
        """Caller ``token`` sent a submission at ``now``."""
        stored_at = self._stored_at.pop(token, None) if token is not None else None
        if stored_at is None:
            return
        gap = now - stored_at
        self.mean = gap if self.mean is None else self.mean + self._memory * (gap - self.mean)


class GroupCommit:
    """Store single submissions, merging the ones that wait at the same time (see module)."""

    def __init__(
        self,
        sessions: Callable[[], Session],
        *,
        max_batch: int = 256,
        sibling_wait_s: float = SIBLING_WAIT_S,
    ) -> None:
        self._sessions = sessions
        self._max_batch = max_batch
        self._sibling_wait_s = sibling_wait_s
        self._pending: list[_Waiter] = []
        self._returns = ReturnTimes()
        self._arrival: asyncio.Future[None] | None = None
        self._drainer: asyncio.Task[None] | None = None
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="intake")

    async def submit(
        self, entry: SubmissionInput, token: str | None = None, permit: Permit | None = None
    ) -> Intake:
        """Store ``entry`` (with whatever waits alongside) if ``permit`` allows the holder of
        ``token``; its own result, or the database's error."""
        loop = asyncio.get_running_loop()
        waiter = _Waiter(entry, token, permit, loop.create_future())
        self._returns.arrived(token, loop.time())
        self._pending.append(waiter)
        if self._arrival is not None and not self._arrival.done():
            self._arrival.set_result(None)
        if self._drainer is None:
            self._drainer = loop.create_task(self._drain())
        return await asyncio.shield(waiter.future)

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        callers, wait_s = 0, 0.0
        try:
            while True:
                if callers > len(self._pending):
                    await self._siblings(min(callers, self._max_batch), wait_s)
                if not self._pending:
                    return
                batch = self._pending[: self._max_batch]
                del self._pending[: self._max_batch]
                started = loop.time()
                try:
                    results = await loop.run_in_executor(self._writer, self._store, batch)
                except Exception as failure:  # the database failed: every caller sees it
                    for waiter in batch:
                        waiter.future.set_exception(failure)
                    continue
                for waiter, result in zip(batch, results, strict=True):
                    waiter.future.set_result(result)
                self._returns.stored([w.token for w in batch], loop.time())
                # the callers of this cycle: the batch's and those who arrived meanwhile
                callers = len(batch) + len(self._pending)
                wait_s = self.sibling_wait(loop.time() - started)
        finally:
            self._drainer = None

    def sibling_wait(self, stored_s: float) -> float:
        """How long the next batch may wait for the last one's callers, after a batch that
        took ``stored_s`` to store: twice the callers' mean return time when that is within
        :data:`SIBLING_WAIT_S` (callers who come back later, such as ones sending at a steady
        rate, are not waited for), and the storing time, within the same bound, when no caller
        signed in."""
        mean = self._returns.mean
        if mean is None:
            return min(self._sibling_wait_s, stored_s)
        return 2 * mean if 2 * mean <= self._sibling_wait_s else 0.0

    async def _siblings(self, callers: int, wait_s: float) -> None:
        """Wait until ``callers`` entries are pending, for at most ``wait_s`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_s
        while len(self._pending) < callers:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            self._arrival = arrival = loop.create_future()
            timer = loop.call_later(remaining, _settle, arrival)
            try:
                await arrival
            finally:
                timer.cancel()
                self._arrival = None

    def _store(self, batch: list[_Waiter]) -> list[Intake]:
        """On the writer thread: one ``submit_signed`` whose read snapshot checks the permits
        first."""

        def screen(session: Session, indices: range) -> dict[int, DatafairError]:
            return self._refused(session, {n: batch[n] for n in indices})

        with self._sessions() as session:
            stored = submit_signed(session, [w.entry for w in batch], screen=screen)
        return [Intake(0, r.stored_id, r.duplicate, r.error) for r in stored]

    @staticmethod
    def _refused(session: Session, waiters: dict[int, _Waiter]) -> dict[int, DatafairError]:
        """The entries (by index) whose caller's token or permit refuses them, read in the
        session's current (read-only) transaction."""
        checked = {n: w for n, w in waiters.items() if w.permit is not None}
        signed_in = session_addresses(session, (w.token for w in checked.values() if w.token))
        refused: dict[int, DatafairError] = {}
        for position, waiter in checked.items():
            assert waiter.permit is not None
            try:
                waiter.permit(signed_in_address(signed_in, waiter.token) if waiter.token else None)
            except DatafairError as error:
                refused[position] = error
        return refused

    def close(self) -> None:
        """Stop the writer thread once the batches queued on it are stored."""
        self._writer.shutdown(wait=True)


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
