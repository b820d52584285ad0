"""Group commit: concurrent single submissions share transactions, each keeps its own result."""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import replace

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datafair.core.errors import Forbidden, InvalidInput, Unauthenticated
from datafair.services.contributions import Intake
from datafair.services.intake import GroupCommit, ReturnTimes
from datafair.store.api_models import ApiSession
from datafair.store.db import Database
from datafair.store.models import Submission


class CountingSessions:
    """A session factory that counts the batches (one session each)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.opened = 0

    def __call__(self) -> Session:
        self.opened += 1
        return self.db.session()


def test_concurrent_submissions_are_stored_once_each_with_their_own_result(
    db: Database, make_task, contributors
) -> None:
    task = make_task(n=6, overlap=8)
    entries = [
        contributor.sign(task.info, item, "pos", nonce=position)
        for contributor in contributors[:8]
        for position, item in enumerate(task.items)
    ]
    bad_index = 5
    entries[bad_index] = replace(entries[bad_index], answer="maybe")
    sessions = CountingSessions(db)
    intake = GroupCommit(sessions, max_batch=7)

    async def send_all() -> list[Intake]:
        return list(await asyncio.gather(*(intake.submit(entry) for entry in entries)))

    try:
        results = asyncio.run(send_all())
        failed = [i for i, r in enumerate(results) if r.error is not None]
        assert failed == [bad_index]
        assert isinstance(results[bad_index].error, InvalidInput)
        ids = [r.stored_id for i, r in enumerate(results) if i != bad_index]
        assert len(set(ids)) == len(entries) - 1
        # all 48 were queued before the writer's first turn: batches of at most 7
        assert sessions.opened == -(-len(entries) // 7)
        again = asyncio.run(intake.submit(entries[0]))
        assert again.duplicate and again.stored_id == results[0].stored_id
    finally:
        intake.close()
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Submission)) == len(entries) - 1


def test_permits_and_tokens_refuse_their_own_entry_only(
    db: Database, make_task, contributors
) -> None:
    task = make_task(n=2)
    entries = [contributors[n].sign(task.info, task.items[0], "pos", nonce=1) for n in range(4)]
    token = "a-signed-in-token"
    with db.session() as session:
        far = 10**15  # Unix ms, long after the test
        hashed = hashlib.sha256(token.encode()).digest()
        session.add(
            ApiSession(
                token_hash=hashed,
                address=contributors[2].address,
                chain_id=1,
                created_at=0,
                expires_at=far,
            )
        )
        session.commit()
    seen: list[str | None] = []

    def refuse(address: str | None) -> None:
        seen.append(address)
        raise Forbidden("account: may not submit answers for another account")

    def allow(address: str | None) -> None:
        seen.append(address)

    intake = GroupCommit(db.session)

    async def send_all() -> list[Intake]:
        return list(
            await asyncio.gather(
                intake.submit(entries[0], None, refuse),
                intake.submit(entries[1], "no-such-token", allow),
                intake.submit(entries[2], token, allow),
                intake.submit(entries[3]),
            )
        )

    try:
        forbidden, unknown, allowed, unchecked = asyncio.run(send_all())
    finally:
        intake.close()
    assert seen == [None, contributors[2].address]  # an unknown token never reaches its permit
    assert isinstance(forbidden.error, Forbidden) and forbidden.stored_id is None
    assert isinstance(unknown.error, Unauthenticated) and unknown.stored_id is None
    assert allowed.error is None and unchecked.error is None
    with db.session() as session:
        stored = set(session.scalars(select(Submission.contributor)).all())
    assert stored == {entries[2].contributor, entries[3].contributor}


def test_a_database_failure_reaches_every_caller_of_the_batch(make_task, contributors) -> None:
    task = make_task(n=1)

    def broken() -> Session:
        raise RuntimeError("database down")

    intake = GroupCommit(broken)
    entry = contributors[0].sign(task.info, task.items[0], "pos", nonce=1)
    other = contributors[1].sign(task.info, task.items[0], "pos", nonce=1)

    async def send_both() -> list[Intake | BaseException]:
        return list(
            await asyncio.gather(intake.submit(entry), intake.submit(other), return_exceptions=True)
        )

    try:
        outcomes = asyncio.run(send_both())
        assert all(isinstance(o, RuntimeError) and "database down" in str(o) for o in outcomes)
        with pytest.raises(RuntimeError, match="database down"):  # the writer is still usable
            asyncio.run(intake.submit(entry))
    finally:
        intake.close()


class SlowSessions(CountingSessions):
    """Sessions that take ``delay_s`` to open, as a database round trip would."""

    def __init__(self, db: Database, delay_s: float) -> None:
        super().__init__(db)
        self.delay_s = delay_s

    def __call__(self) -> Session:
        time.sleep(self.delay_s)
        return super().__call__()


@pytest.mark.parametrize("sibling_wait_s", [0.0, 0.5])
def test_clients_that_answer_back_to_back_share_batches(
    db: Database, make_task, contributors, sibling_wait_s: float
) -> None:
    task = make_task(n=10, overlap=8)
    rounds, clients = 10, 4
    sessions = SlowSessions(db, delay_s=0.01)
    intake = GroupCommit(sessions, sibling_wait_s=sibling_wait_s)

    async def client(number: int) -> None:
        for position, item in enumerate(task.items[:rounds]):
            entry = contributors[number].sign(task.info, item, "pos", nonce=position)
            await asyncio.sleep(0.002 * number)  # the network and the client, before each send
            assert (await intake.submit(entry)).error is None

    async def all_clients() -> None:
        await asyncio.gather(*(client(n) for n in range(clients)))

    try:
        asyncio.run(all_clients())
    finally:
        intake.close()
    if sibling_wait_s:  # each batch waits (at most one store's time) for the others to return
        assert sessions.opened <= rounds + 2
    else:  # one caller goes alone, the others after it: twice as many transactions
        assert sessions.opened >= 2 * rounds - 2
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Submission)) == rounds * clients


def test_a_lone_caller_never_waits_for_siblings(db: Database, make_task, contributors) -> None:
    task = make_task(n=6)
    intake = GroupCommit(db.session, sibling_wait_s=5.0)

    async def one_after_another() -> None:
        for position, item in enumerate(task.items):
            entry = contributors[0].sign(task.info, item, "pos", nonce=position)
            assert (await intake.submit(entry)).error is None

    started = time.monotonic()
    try:
        asyncio.run(one_after_another())
    finally:
        intake.close()
    assert time.monotonic() - started < 5.0  # a wait would cost up to a store's time each


def test_return_times_are_a_running_mean_of_each_callers_comeback() -> None:
    returns = ReturnTimes(memory=0.5)
    returns.arrived("a", 0.0)  # never stored before: no return to measure
    assert returns.mean is None
    returns.stored(["a", None, "b"], 1.0)
    returns.arrived("a", 1.004)
    assert returns.mean == pytest.approx(0.004)
    returns.arrived("a", 1.5)  # "a" was not stored again: not a return
    returns.arrived("b", 1.012)
    assert returns.mean == pytest.approx(0.008)


def test_the_wait_follows_how_soon_callers_come_back(db: Database) -> None:
    intake = GroupCommit(db.session, sibling_wait_s=0.02)
    try:
        assert intake.sibling_wait(0.003) == 0.003  # nobody signed in: one storing time
        intake._returns.mean = 0.001  # clients that answer back to back
        assert intake.sibling_wait(0.003) == pytest.approx(0.002)
        intake._returns.mean = 0.040  # clients sending every 40 ms: never waited for
        assert intake.sibling_wait(0.003) == 0.0
    finally:
        intake.close()


def test_paced_callers_are_not_held_back(db: Database, make_task, contributors) -> None:
    task = make_task(n=12, overlap=8)
    intake = GroupCommit(db.session, sibling_wait_s=0.02)

    async def paced(number: int) -> None:
        for position, item in enumerate(task.items):
            entry = contributors[number].sign(task.info, item, "pos", nonce=position)
            assert (await intake.submit(entry, f"token {number}")).error is None
            await asyncio.sleep(0.05)  # a steady pace, far slower than a store

    async def both() -> None:
        await asyncio.gather(paced(0), paced(1))

    try:
        asyncio.run(both())
    finally:
        intake.close()
    assert intake._returns.mean is not None and intake._returns.mean > 0.02  # they came back
    assert intake.sibling_wait(0.01) == 0.0  # too late to wait for: batches take what is there
