"""The same task settled on SQLite and on PostgreSQL gives the same bundle, byte for byte."""

from __future__ import annotations

from pathlib import Path

import pytest
from settle_helpers import OWNER, REQUESTER, make_world, store_answered_task

from datafair.services.settlement.funding import fund_task
from datafair.services.settlement.settle import settle_task
from datafair.store.db import Database, make_engine, make_session_factory

SALT = bytes(range(32))


def _settle_on(database: Database, blob_dir: Path) -> tuple[bytes, bytes]:
    world = make_world(blob_dir)
    try:
        with database.session() as session:
            task_id = store_answered_task(session, number=3, n_items=15, seed=11)
            fund_task(
                session,
                world.escrow,
                task_id,
                10_000,
                sender=REQUESTER,
                deadline=4_000_000_000,
                token=world.token.address,
                salt=SALT,
            )
            report = settle_task(session, world.escrow, world.blobs, task_id, sender=OWNER)
        assert report.root is not None and report.bundle_cid is not None
        return report.root, world.blobs.get(report.bundle_cid)
    finally:
        world.chain.close()


@pytest.mark.postgres
def test_sqlite_and_postgresql_give_the_same_bundle(
    sqlite_template: Path, pg_db: Database, tmp_path: Path
) -> None:
    import shutil

    path = tmp_path / "datafair.db"
    shutil.copyfile(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    sqlite_db = Database(engine, make_session_factory(engine))
    try:
        root_sqlite, bundle_sqlite = _settle_on(sqlite_db, tmp_path / "blobs-sqlite")
    finally:
        sqlite_db.dispose()
    root_pg, bundle_pg = _settle_on(pg_db, tmp_path / "blobs-pg")
    assert root_sqlite == root_pg
    assert bundle_sqlite == bundle_pg
