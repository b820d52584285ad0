"""Group commit: concurrent single submissions share transactions, each keeps its own result."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from datafair.core.errors import InvalidInput
from datafair.services.contributions import Intake
from datafair.services.intake import GroupCommit
from datafair.store.db import Database
from datafair.store.models import Submission


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
    intake = GroupCommit(db.session, max_batch=7)
    results: dict[int, Intake | Exception] = {}
    start = threading.Barrier(len(entries))

    def send(index: int) -> None:
        start.wait()
        try:
            results[index] = intake.submit(entries[index])
        except Exception as error:  # pragma: no cover - asserted below
            results[index] = error

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(entries))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(results) == len(entries)
    failed = [i for i, r in results.items() if isinstance(r, Intake) and r.error is not None]
    assert failed == [bad_index]
    assert isinstance(results[bad_index].error, InvalidInput)  # type: ignore[union-attr]
    ids = [r.stored_id for i, r in results.items() if i != bad_index]  # type: ignore[union-attr]
    assert len(set(ids)) == len(entries) - 1
    again = intake.submit(entries[0])
    assert again.duplicate and again.stored_id == results[0].stored_id  # type: ignore[union-attr]
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Submission)) == len(entries) - 1


def test_a_database_failure_reaches_every_caller_of_the_batch(make_task, contributors) -> None:
    task = make_task(n=1)

    def broken() -> object:
        raise RuntimeError("database down")

    intake = GroupCommit(broken)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="database down"):
        intake.submit(contributors[0].sign(task.info, task.items[0], "pos", nonce=1))
    with pytest.raises(RuntimeError, match="database down"):  # the lead was handed back
        intake.submit(contributors[1].sign(task.info, task.items[0], "pos", nonce=1))
