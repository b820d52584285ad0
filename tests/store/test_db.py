"""Engines and sessions: SQLite pragmas, PostgreSQL schemas, opening from settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from datafair.settings import Settings
from datafair.store.db import Database, begin_read, make_engine
from datafair.store.migrations import current_revision, head_revision


def test_sqlite_connections_use_wal_foreign_keys_busy_timeout_and_full_sync(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as connection:
        pragma = lambda name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()  # noqa: E731
        assert pragma("journal_mode") == "wal"
        assert pragma("foreign_keys") == 1
        assert pragma("busy_timeout") == 30_000
        assert pragma("synchronous") == 2  # FULL
    engine.dispose()


def test_sqlite_transactions_take_the_write_lock_up_front(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    first, second = make_engine(url), make_engine(url)
    with second.connect() as connection:  # this pooled connection will not wait for locks
        connection.exec_driver_sql("PRAGMA busy_timeout=0")
    with first.begin() as holder:
        holder.exec_driver_sql("SELECT 1")  # a read, yet the transaction holds the write lock
        with pytest.raises(OperationalError, match="locked"), second.connect() as blocked:
            blocked.exec_driver_sql("SELECT 1")
    with second.connect() as connection:
        assert connection.exec_driver_sql("SELECT 1").scalar() == 1
    first.dispose()
    second.dispose()


def test_sqlite_synchronous_normal_is_a_setting(tmp_path: Path):
    database = Database.open(Settings(home=tmp_path / "home", sqlite_synchronous="normal"))
    with database.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    database.dispose()
    with pytest.raises(ValueError, match="full or normal"):
        make_engine(f"sqlite:///{tmp_path / 'y.db'}", synchronous="off")


def test_a_read_only_transaction_does_not_wait_for_the_writer(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    first, second = make_engine(url), make_engine(url)
    with second.connect() as connection:  # this pooled connection will not wait for locks
        connection.exec_driver_sql("PRAGMA busy_timeout=0")
    with first.begin() as holder:
        holder.exec_driver_sql("CREATE TABLE t (x INTEGER)")  # uncommitted, under the lock
        with Session(second) as session:
            begin_read(session)
            # a snapshot from before the writer's change, read without its lock
            tables = session.execute(text("SELECT count(*) FROM sqlite_master")).scalar()
            assert tables == 0
            session.rollback()
            with pytest.raises(OperationalError, match="locked"):
                session.execute(text("SELECT 1"))  # the next transaction is a writer's again
    first.dispose()
    second.dispose()


def test_open_creates_the_home_and_migrates_the_default_sqlite_database(tmp_path: Path):
    settings = Settings(home=tmp_path / "home")
    database = Database.open(settings)
    assert (tmp_path / "home" / "datafair.db").is_file()
    assert settings.blobs_dir.is_dir()
    assert database.dialect == "sqlite"
    assert current_revision(database.engine) == head_revision()
    database.dispose()


def test_a_schema_is_refused_on_sqlite(tmp_path: Path):
    with pytest.raises(ValueError, match="PostgreSQL"):
        make_engine(f"sqlite:///{tmp_path / 'x.db'}", schema="s")


def test_an_unsafe_schema_name_is_refused():
    with pytest.raises(ValueError, match="invalid schema"):
        make_engine("postgresql+psycopg://root@127.0.0.1:5432/test", schema='x"; drop')


@pytest.mark.postgres
def test_a_postgres_schema_holds_the_tables_of_its_database(pg_db: Database, postgres_schema):
    with pg_db.engine.connect() as connection:
        assert connection.execute(text("SELECT current_schema()")).scalar() == postgres_schema
        tables = set(
            connection.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = :s"),
                {"s": postgres_schema},
            ).scalars()
        )
    assert {"items", "tasks", "task_items", "submissions", "alembic_version"} <= tables


def test_retry_transaction_reruns_conflicts_then_commits(tmp_path: Path) -> None:
    from sqlalchemy.exc import IntegrityError

    from datafair.store.db import retry_transaction

    database = Database.from_url(f"sqlite:///{tmp_path / 'retry.db'}")
    calls: list[int] = []

    def work() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise IntegrityError("INSERT", {}, Exception("duplicate"))
        return "stored"

    with database.session() as session:
        assert retry_transaction(session, work, attempts=3) == "stored"
        assert len(calls) == 3
        calls.clear()
        with pytest.raises(IntegrityError):
            retry_transaction(session, work, attempts=2)
        assert len(calls) == 2

        def broken() -> None:
            raise ValueError("not a conflict")

        with pytest.raises(ValueError, match="not a conflict"):
            retry_transaction(session, broken, attempts=3)
    database.dispose()


def test_only_a_relaxed_transaction_commits_without_fsync(tmp_path: Path):
    from datafair.store.db import RELAXED_SYNC

    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    levels, raw = [], set()
    for options in ({RELAXED_SYNC: True}, {}, {RELAXED_SYNC: True}, {}):
        with engine.connect() as connection, connection.execution_options(**options).begin():
            levels.append(connection.exec_driver_sql("PRAGMA synchronous").scalar())
            timeout = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
            raw.add(id(connection.connection.driver_connection))
    # NORMAL (1) only where asked, FULL (2) on the same pooled connection afterwards
    assert levels == [1, 2, 1, 2] and len(raw) == 1 and timeout == 30_000
    engine.dispose()


@pytest.mark.postgres
def test_a_postgres_connection_killed_while_idle_is_replaced(
    pg_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datafair.store import db as db_module

    def backend(session: Session) -> int:
        return int(session.execute(text("SELECT pg_backend_pid()")).scalar_one())

    with pg_db.session() as session:
        first = backend(session)
        session.rollback()
        assert backend(session) == first  # used a moment ago: handed out again, untested
        session.rollback()
    killer = make_engine(pg_db.engine.url.render_as_string(hide_password=False))
    with killer.connect() as connection:  # another connection, as a server restart would
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
    killer.dispose()
    monkeypatch.setattr(db_module, "PING_AFTER_IDLE_S", 0.0)  # every pooled connection is "idle"
    with pg_db.session() as session:
        replacement = backend(session)  # the test found the dead connection and replaced it
    assert replacement != first


@pytest.mark.postgres
def test_a_postgres_read_transaction_costs_no_begin(pg_db: Database) -> None:
    with pg_db.session() as session:
        begin_read(session)
        assert session.execute(text("SELECT 1")).scalar() == 1
        status = session.connection().connection.driver_connection.info.transaction_status
        assert status.name == "IDLE"  # autocommit: no transaction was opened on the server
        session.rollback()
        session.execute(text("SELECT 1"))  # the next transaction is an ordinary one
        status = session.connection().connection.driver_connection.info.transaction_status
        assert status.name == "INTRANS"
        session.rollback()
