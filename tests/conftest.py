"""Shared fixtures: an isolated, migrated database per test, on SQLite and on PostgreSQL.

``db`` is parametrised: ``[sqlite]`` is a fresh database file in the test's tmp dir (copied from
a template migrated once per worker); ``[postgres]`` is a fresh schema in the PostgreSQL
database at ``DATAFAIR_TEST_POSTGRES_URL`` (default
``postgresql+psycopg://root@127.0.0.1:5432/test``), migrated, used through ``search_path`` and
dropped at the end, so tests run in parallel (pytest-xdist) without seeing each other. PostgreSQL
tests carry the ``postgres`` marker and are skipped when the server cannot be reached.

Factories for the service tests (datasets, tasks, signing contributors, a settable clock) live
here too, so every test builds its data the same way.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from datafair.core.canonical import canonical_json, keccak256
from datafair.core.schemas import ItemKind, LabelSchema, TaskType
from datafair.core.task import DatasetCard, TaskSpec
from datafair.crypto.cid import compute_cid
from datafair.crypto.eip712 import SubmissionDomain, SubmissionMessage, sign_submission
from datafair.services.submissions import SubmissionInput
from datafair.services.tasks import TaskInfo, create_task
from datafair.store.db import Database, make_engine, make_session_factory
from datafair.store.migrations import migrate
from datafair.store.repositories import DatasetRepository, ItemRepository, NewItem

POSTGRES_URL = os.environ.get(
    "DATAFAIR_TEST_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test"
)
NOW = 1_800_000_000.0


# --------------------------------------------------------------------------- databases


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once per worker; tests get copies."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()  # closing the last connection checkpoints the WAL into the file
    return path


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[Engine]:
    """An engine on the test PostgreSQL database (skips the test if it is unreachable)."""
    engine = create_engine(POSTGRES_URL, poolclass=NullPool)
    try:
        with engine.connect():
            pass
    except OperationalError as error:
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}: {error.orig}")
    yield engine
    engine.dispose()


def sqlite_database(template: Path, directory: Path) -> Database:
    path = directory / "datafair.db"
    shutil.copyfile(template, path)
    engine = make_engine(f"sqlite:///{path}")
    return Database(engine, make_session_factory(engine))


@pytest.fixture
def postgres_schema(postgres_admin: Engine) -> Iterator[str]:
    """A fresh, empty PostgreSQL schema, dropped after the test."""
    schema = f"t_{uuid.uuid4().hex}"
    with postgres_admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield schema
    with postgres_admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture
def pg_db(postgres_schema: str) -> Iterator[Database]:
    """A migrated database in a fresh PostgreSQL schema."""
    database = Database.from_url(POSTGRES_URL, schema=postgres_schema)
    yield database
    database.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, sqlite_template: Path, tmp_path: Path) -> Iterator[Database]:
    """A migrated, isolated database: SQLite file or PostgreSQL schema."""
    if request.param == "sqlite":
        database = sqlite_database(sqlite_template, tmp_path)
        yield database
        database.dispose()
    else:
        yield request.getfixturevalue("pg_db")


@pytest.fixture
def session(db: Database) -> Iterator[Session]:
    """A session on ``db``, closed after the test."""
    with db.session() as opened:
        yield opened


# --------------------------------------------------------------------------- clock


class FakeClock:
    """A clock for tests: returns ``now`` (Unix seconds) until moved."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


# --------------------------------------------------------------------------- contributors


@dataclass(frozen=True)
class Contributor:
    """A wallet made from a deterministic test key; signs submissions."""

    key: bytes
    address: str

    @classmethod
    def make(cls, label: str) -> Contributor:
        from coincurve import PrivateKey
        from eth_utils.address import to_checksum_address

        key = keccak256(f"datafair test key {label}".encode())
        public = PrivateKey(key).public_key.format(compressed=False)[1:]
        return cls(key, to_checksum_address(keccak256(public)[-20:]))

    def sign(
        self,
        task: TaskInfo,
        item_cid: str,
        answer: Any,
        nonce: int,
        *,
        duration_ms: int = 1500,
        chain_id: int | None = None,
        task_id: bytes | None = None,
    ) -> SubmissionInput:
        """A submission of ``answer`` (already canonical) signed by this contributor."""
        answer_hash = keccak256(canonical_json(answer))
        message = SubmissionMessage(
            task_id=task_id or task.task_id,
            item_cid=item_cid,
            answer_hash=answer_hash,
            contributor=self.address,
            nonce=nonce,
            duration_ms=duration_ms,
        )
        domain = SubmissionDomain(task.spec.chain_id if chain_id is None else chain_id)
        return SubmissionInput(
            task_id=task.task_id,
            item_cid=item_cid,
            contributor=self.address,
            answer=answer,
            nonce=nonce,
            duration_ms=duration_ms,
            signature=sign_submission(self.key, domain, message),
            answer_hash=answer_hash,
        )


@pytest.fixture(scope="session")
def contributors() -> list[Contributor]:
    """Twenty distinct signing wallets."""
    return [Contributor.make(str(number)) for number in range(20)]


# --------------------------------------------------------------------------- data


def store_texts(session: Session, texts: Sequence[str], *, now_ms: int = 0) -> str:
    """Store text items and a dataset over them (committed); the dataset's manifest CID."""
    items = [
        NewItem(compute_cid(t.encode()), ItemKind.TEXT, len(t.encode()), text=t) for t in texts
    ]
    ItemRepository(session).add_many(items, now_ms=now_ms)
    card = DatasetCard(title="test texts", modalities=("text",))
    cids = [item.cid for item in items]
    manifest = compute_cid(canonical_json({"card": card.to_dict(), "items": cids}))
    DatasetRepository(session).create(
        manifest_cid=manifest, card=card.to_dict(), item_cids=cids, now_ms=now_ms
    )
    session.commit()
    return manifest


@dataclass(frozen=True)
class MadeTask:
    """A stored task with its item CIDs (in order), its gold CIDs and its schema."""

    info: TaskInfo
    items: list[str]
    gold: dict[str, Any]

    @property
    def task_id(self) -> bytes:
        return self.info.task_id

    @property
    def ordinary(self) -> list[str]:
        return [cid for cid in self.items if cid not in self.gold]


MakeTask = Callable[..., MadeTask]


@pytest.fixture
def make_task(session: Session, clock: FakeClock) -> MakeTask:
    """Build a classification (or other) task over ``n`` fresh text items.

    Keywords: ``n``, ``overlap``, ``gold`` ({item index: answer}), ``gold_ratio``,
    ``gold_overlap``, ``deadline``, ``chain_id``, ``task_type``, ``classes``, ``texts``,
    ``salt``, ``extra`` (the spec's settings).
    """
    counter = iter(range(1_000_000))

    def make(
        n: int = 4,
        *,
        overlap: int = 3,
        gold: dict[int, Any] | None = None,
        gold_ratio: float = 0.0,
        gold_overlap: int | None = None,
        deadline: int = 0,
        chain_id: int = 31337,
        task_type: TaskType = TaskType.CLASSIFICATION,
        classes: tuple[str, ...] = ("pos", "neg"),
        texts: Sequence[str] | None = None,
        salt: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> MadeTask:
        number = next(counter)
        texts = list(texts) if texts is not None else [f"text {number}-{i}" for i in range(n)]
        manifest = store_texts(session, texts)
        cids = [compute_cid(t.encode()) for t in texts]
        spec = TaskSpec(
            dataset_cid=manifest,
            title=f"task {number}",
            schema=LabelSchema(task_type, classes),
            overlap=overlap,
            gold_ratio=gold_ratio,
            price_per_answer=10,
            deadline=deadline,
            chain_id=chain_id,
            salt=number if salt is None else salt,
            extra=dict(extra or {}),
        )
        gold_by_cid = {cids[index]: answer for index, answer in (gold or {}).items()}
        info = create_task(
            session,
            spec,
            gold=gold_by_cid,
            gold_overlap=gold_overlap,
            clock=clock,
            gold_seed=bytes(32),
        )
        return MadeTask(info, cids, gold_by_cid)

    return make


@pytest.fixture
def text_dataset(session: Session) -> Callable[[Sequence[str]], str]:
    """``text_dataset(texts)``: store a dataset of these texts; its manifest CID."""
    return lambda texts: store_texts(session, texts)


# --------------------------------------------------------------------------- contracts


@pytest.fixture(scope="session")
def contract_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One compiled-contract cache per test worker, so each contract compiles once per run."""
    return tmp_path_factory.mktemp("contract-cache")
