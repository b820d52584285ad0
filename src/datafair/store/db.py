"""Database engines and sessions, on SQLite (embedded default) or PostgreSQL.

Inputs: a SQLAlchemy URL (``sqlite:///PATH`` or ``postgresql+psycopg://USER@HOST/DB``), usually
``Settings.resolved_database_url``.

SQLite connections run in WAL mode with foreign keys on, a busy timeout, and
``synchronous=FULL`` by default (a committed transaction survives a crash of the process or the
machine). ``synchronous="normal"`` (setting ``sqlite_synchronous``) skips the fsync of each
commit: in WAL mode a committed transaction still survives any crash or ``kill -9`` of the
process, but a power loss or an operating-system crash may lose the last ones. An import's
batches, made durable by its final commit, always commit without fsync.
Every SQLite transaction that writes starts with ``BEGIN IMMEDIATE``: it takes the write lock up
front, so two writers wait for each other (up to the busy timeout) instead of one failing when it
upgrades a read lock, and a read-then-write in one transaction sees no concurrent change. The wait
polls for the lock every millisecond (:func:`poll_begin_immediate`), so a short transaction gets in
at the first gap a long batched writer leaves. A transaction that only reads may say so with
:func:`begin_read` (a plain, deferred ``BEGIN``): in WAL mode it reads a snapshot without waiting
for the writer, so a request's sign-in lookup or a batch's signature checks never queue behind
another batch's commit and fsync.

A SQLite database file is created private (0600) before SQLite first opens it, and every new
connection sets the database and its ``-wal``/``-shm`` files to 0600 (files written by older
versions included), whatever the umask: the store holds gold answers and their salts
(:mod:`datafair.store.private`).

PostgreSQL runs at READ COMMITTED; the store's concurrency guarantees come from conditional
updates, row locks taken in a fixed order and constraints, not from the isolation level.
``schema`` puts every table of the connection in one PostgreSQL schema (via ``search_path``),
which the tests use to isolate each test.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from datafair.core.errors import InvalidInput
from datafair.settings import Settings
from datafair.store.private import HOME_FIX, private_file, sqlite_companions, tighten

SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_BEGIN_POLL_S = 0.001
RELAXED_SYNC = "datafair_relaxed_sync"
"""Execution option: this SQLite transaction commits without fsync (see poll_begin_immediate)."""
PING_AFTER_IDLE_S = 1.0
"""A pooled PostgreSQL connection idle this long is tested before use (:func:`_ping_after_idle`)."""
_IDLE_SINCE = "datafair_idle_since"
READ_ONLY = "datafair_read_only"  # execution option: the transaction only reads (begin_read)
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def make_engine(
    url: str, *, schema: str | None = None, echo: bool = False, synchronous: str = "full"
) -> Engine:
    """An engine for ``url`` with datafair's connection settings.

    ``schema`` (PostgreSQL only): the schema every connection uses as its ``search_path``;
    ``synchronous`` (SQLite only): ``"full"`` or ``"normal"`` (see the module docstring).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if schema is not None:
            raise ValueError("schema is only supported on PostgreSQL")
        path = _sqlite_file(parsed.database)
        if path is not None:
            private_file(path, "database_url")
        if synchronous not in ("full", "normal"):
            raise ValueError(f"synchronous must be full or normal, not {synchronous!r}")
        # a server's request threads each hold a connection: keep them open between uses
        pooling = {"pool_size": 20, "max_overflow": 20} if path is not None else {}
        engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False}, **pooling)
        _configure_sqlite(engine, path, synchronous.upper())
        return engine
    engine = create_engine(url, echo=echo, pool_size=10, max_overflow=20)
    _ping_after_idle(engine)
    if schema is not None:
        if not _SCHEMA_NAME.match(schema):
            raise ValueError(f"invalid schema name {schema!r}")
        _use_schema(engine, schema)
    return engine


def _ping_after_idle(engine: Engine) -> None:
    """Test a pooled PostgreSQL connection before handing it out, if it sat in the pool for
    :data:`PING_AFTER_IDLE_S` or more (SQLAlchemy's "pessimistic" disconnect handling, as
    ``pool_pre_ping`` does on every checkout, without a round trip for a connection used a
    moment ago: a request's transactions check a connection out several times in a row). A
    connection that fails the test is replaced; one that dies while briefly idle fails its
    statement, which invalidates the pool, and a write is retried by :func:`retry_transaction`.
    """

    @event.listens_for(engine, "connect")
    def _connected(dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkin")
    def _checked_in(dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        idle_since = record.info.get(_IDLE_SINCE)
        if idle_since is not None and time.monotonic() - idle_since < PING_AFTER_IDLE_S:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as failure:  # whatever the driver raises: this connection is gone
            raise DisconnectionError(f"pooled connection failed its test: {failure}") from failure


def _sqlite_file(database: str | None) -> Path | None:
    """The file of a SQLite URL's database; ``None`` in memory or for a ``file:`` URI."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _configure_sqlite(engine: Engine, path: Path | None, synchronous: str) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.close()
        if path is not None:
            tighten(sqlite_companions(path))

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        options = connection.get_execution_options()
        if options.get(READ_ONLY, False):
            connection.exec_driver_sql("BEGIN")
            return
        relaxed = bool(options.get(RELAXED_SYNC, False))
        raw = connection.connection.driver_connection
        timeout_ms = int(raw.execute("PRAGMA busy_timeout").fetchone()[0])
        raw.execute(f"PRAGMA synchronous={'NORMAL' if relaxed else synchronous}")
        raw.execute("PRAGMA busy_timeout=0")
        try:
            if not poll_begin_immediate(raw, timeout_ms):
                # the last try, through SQLAlchemy: "database is locked" is its OperationalError
                connection.exec_driver_sql("BEGIN IMMEDIATE")
        finally:
            raw.execute(f"PRAGMA busy_timeout={timeout_ms}")


def poll_begin_immediate(dbapi_connection: Any, timeout_ms: int) -> bool:
    """Try ``BEGIN IMMEDIATE`` on a sqlite3 connection (its busy timeout set to 0) every
    ``SQLITE_BEGIN_POLL_S`` for up to ``timeout_ms`` (the connection's busy timeout); whether it
    began (``False``: still locked at the deadline).

    SQLite's own busy handler sleeps longer and longer between tries (up to 100 ms), so a
    short writer (``task next``, ``task submit``) waiting behind a long writer that commits
    in batches would sleep through the gaps between the batches; polling takes the first gap.
    Statements inside the transaction keep the busy timeout.

    Before each ``BEGIN`` the engine sets ``synchronous``: ``FULL`` (the commit's WAL frames,
    and every earlier one, on disk before the commit returns), or ``NORMAL`` for a transaction
    begun with the execution option :data:`RELAXED_SYNC` (no fsync: a power cut may undo it,
    never corrupt). Only work that a later FULL commit completes may ask for it (an import's
    batches before the commit that switches the dataset in). The level is set before every
    transaction, so a pooled connection never carries it to another.
    """
    deadline = time.monotonic() + timeout_ms / 1000
    while time.monotonic() < deadline:
        try:
            dbapi_connection.execute("BEGIN IMMEDIATE")
            return True
        except sqlite3.OperationalError as error:
            if "locked" not in str(error):
                raise
        time.sleep(SQLITE_BEGIN_POLL_S)
    return False


def begin_read(session: Session) -> None:
    """Start the session's next transaction as a read-only one: on SQLite a deferred ``BEGIN``
    (a WAL snapshot, no write lock), on PostgreSQL autocommit statements (at READ COMMITTED each
    statement of a transaction reads its own snapshot anyway, so a reader's ``BEGIN`` and
    ``ROLLBACK`` would be two round trips for nothing). The caller must not write in it; it ends
    with the session's next ``rollback``/``commit``. A no-op when the session is already in a
    transaction."""
    if session.in_transaction():
        return
    if session.get_bind().dialect.name == "sqlite":
        session.connection(execution_options={READ_ONLY: True})
    else:
        session.connection(execution_options={READ_ONLY: True, "isolation_level": "AUTOCOMMIT"})


def _use_schema(engine: Engine, schema: str) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f'SET search_path TO "{schema}"')
        dbapi_connection.autocommit = autocommit


def unreachable(engine: Engine, failure: OperationalError) -> InvalidInput:
    """One line for a database that cannot be opened: the URL (no password), the driver's
    first line, and the fix (a writable home for SQLite, the URL and server otherwise)."""
    lines = str(failure.orig).strip().splitlines() or [type(failure.orig).__name__]
    reason = lines[0].strip()
    if engine.dialect.name == "sqlite":
        return InvalidInput(
            "database",
            f"cannot open the SQLite database {engine.url.database} ({reason})",
            HOME_FIX + ", or make the database and its folder writable",
        )
    shown = engine.url.render_as_string(hide_password=True)
    return InvalidInput(
        "DATAFAIR_DATABASE_URL",
        f"cannot connect to {shown} ({reason})",
        "check the URL and that the database server is running and reachable",
    )


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to ``engine``; objects stay readable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@dataclass
class Database:
    """An engine and its session factory; ``session()`` opens a new session."""

    engine: Engine
    sessions: sessionmaker[Session]

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        schema: str | None = None,
        migrate: bool = True,
        synchronous: str = "full",
    ) -> Database:
        """Connect to ``url`` and, unless ``migrate`` is false, bring it to the latest schema
        (``synchronous``: SQLite's mode, see :func:`make_engine`)."""
        engine = make_engine(url, schema=schema, synchronous=synchronous)
        if migrate:
            from datafair.store.migrations import migrate as run_migrations

            try:
                run_migrations(engine)
            except OperationalError as failure:  # the first connection: unreachable, read-only
                engine.dispose()
                raise unreachable(engine, failure) from failure
        return cls(engine, make_session_factory(engine))

    @classmethod
    def open(cls, settings: Settings, *, migrate: bool = True) -> Database:
        """The database of ``settings`` (creating the home for a SQLite default), migrated."""
        settings.ensure_home()
        return cls.from_url(
            settings.resolved_database_url,
            migrate=migrate,
            synchronous=settings.sqlite_synchronous,
        )

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self.engine.dialect.name

    def session(self) -> Session:
        return self.sessions()

    def dispose(self) -> None:
        self.engine.dispose()


Result = TypeVar("Result")


def retry_transaction(session: Session, work: Callable[[], Result], *, attempts: int) -> Result:
    """Run ``work`` in the session's transaction and commit; ``work``'s result.

    A write conflict (``IntegrityError``: a concurrent writer stored the same row first;
    ``OperationalError``: a deadlock was broken or the database was busy) rolls everything back
    and runs ``work`` again, up to ``attempts`` times, so it must re-read the state it decides
    on. Any other error rolls back and propagates.
    """
    for attempt in range(attempts):
        try:
            result = work()
            session.commit()
            return result
        except (IntegrityError, OperationalError):
            session.rollback()
            if attempt == attempts - 1:
                raise
        except BaseException:
            session.rollback()
            raise
    raise ValueError("attempts must be at least 1")
