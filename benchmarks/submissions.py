"""Signed submissions verified and stored per second through the service layer.

Run by hand: ``python benchmarks/submissions.py [--submissions N] [--batch B] [--no-postgres]``.
Prints one table: for SQLite (a fresh file) and PostgreSQL (a fresh schema in the database at
``DATAFAIR_TEST_POSTGRES_URL``, default ``postgresql+psycopg://root@127.0.0.1:5432/test``),
the time ``submit_many`` takes to validate, hash, verify (EIP-712, coincurve) and store N
pre-signed classification answers from 50 wallets over N / 5 items with k = 5, in batches of B.
Signature recovery alone is timed on the same entries as a reference line. Single process.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

from eth_account import Account
from eth_account.messages import encode_typed_data
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from datafair.core.canonical import canonical_json, keccak256
from datafair.core.schemas import ItemKind, LabelSchema, TaskType
from datafair.core.task import DatasetCard, TaskSpec
from datafair.crypto.cid import compute_cid
from datafair.crypto.eip712 import (
    SubmissionDomain,
    SubmissionMessage,
    sign_submission,
    typed_data,
    verify_submission,
)
from datafair.services.submissions import SubmissionInput, submit_many
from datafair.services.tasks import TaskInfo, create_task
from datafair.store.db import Database
from datafair.store.repositories import DatasetRepository, ItemRepository, NewItem

POSTGRES_URL = os.environ.get(
    "DATAFAIR_TEST_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test"
)
CLASSES = ("positive", "negative", "neutral")
OVERLAP = 5
WALLETS = 50


def _wallets() -> list[tuple[bytes, str]]:
    from coincurve import PrivateKey
    from eth_utils.address import to_checksum_address

    wallets = []
    for number in range(WALLETS):
        key = keccak256(f"datafair bench wallet {number}".encode())
        public = PrivateKey(key).public_key.format(compressed=False)[1:]
        wallets.append((key, to_checksum_address(keccak256(public)[-20:])))
    return wallets


def _setup(database: Database, n_items: int) -> TaskInfo:
    texts = [f"benchmark text number {i}" for i in range(n_items)]
    items = [NewItem(compute_cid(t.encode()), ItemKind.TEXT, len(t), text=t) for t in texts]
    with database.session() as session:
        ItemRepository(session).add_many(items, now_ms=0)
        card = DatasetCard(title="benchmark", modalities=("text",))
        cids = [item.cid for item in items]
        manifest = compute_cid(canonical_json({"card": card.to_dict(), "items": cids}))
        DatasetRepository(session).create(
            manifest_cid=manifest, card=card.to_dict(), item_cids=cids, now_ms=0
        )
        session.commit()
        spec = TaskSpec(
            dataset_cid=manifest,
            title="benchmark",
            schema=LabelSchema(TaskType.CLASSIFICATION, CLASSES),
            overlap=OVERLAP,
            price_per_answer=1,
        )
        return create_task(session, spec)


def _entries(task: TaskInfo, item_cids: list[str], n: int) -> list[SubmissionInput]:
    wallets = _wallets()
    domain = SubmissionDomain(task.spec.chain_id)
    entries = []
    for index in range(n):
        item = item_cids[index // OVERLAP]
        key, address = wallets[(index % OVERLAP + (index // OVERLAP)) % WALLETS]
        answer = CLASSES[index % len(CLASSES)]
        answer_hash = keccak256(canonical_json(answer))
        message = SubmissionMessage(task.task_id, item, answer_hash, address, index, 900)
        entries.append(
            SubmissionInput(
                task_id=task.task_id,
                item_cid=item,
                contributor=address,
                answer=answer,
                nonce=index,
                duration_ms=900,
                signature=sign_submission(key, domain, message),
                answer_hash=answer_hash,
            )
        )
    return entries


def run(database: Database, n: int, batch: int) -> tuple[float, int]:
    """Seconds to submit ``n`` signed answers in batches of ``batch``, and how many stored."""
    task = _setup(database, n // OVERLAP)
    item_cids = [compute_cid(f"benchmark text number {i}".encode()) for i in range(n // OVERLAP)]
    entries = _entries(task, item_cids, n)
    accepted = 0
    with database.session() as session:
        started = time.perf_counter()
        for start in range(0, n, batch):
            results = submit_many(session, entries[start : start + batch])
            accepted += sum(result.ok for result in results)
        elapsed = time.perf_counter() - started
    return elapsed, accepted


def verify_only(n: int, *, peer: bool = False) -> float:
    """Seconds to recover and check ``n`` signatures alone (no validation, no storage).

    ``peer``: the same checks through eth-account's general path (``encode_typed_data`` then
    ``Account.recover_message``), the peer the hot path is measured against.
    """
    wallets = _wallets()
    domain = SubmissionDomain(31337)
    task_id = bytes(32)
    item = compute_cid(b"x")
    answer_hash = keccak256(b'"positive"')
    signed = []
    for index in range(n):
        key, address = wallets[index % WALLETS]
        message = SubmissionMessage(task_id, item, answer_hash, address, index, 900)
        signed.append((message, sign_submission(key, domain, message)))
    started = time.perf_counter()
    if peer:
        for message, signature in signed:
            encoded = encode_typed_data(full_message=typed_data(domain, message))
            if Account.recover_message(encoded, signature=signature) != message.contributor:
                raise SystemExit("eth-account recovered another signer")
    else:
        for message, signature in signed:
            verify_submission(domain, message, signature)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    n = args.submissions - args.submissions % OVERLAP
    rows: list[tuple[str, int, float, str]] = []

    seconds = verify_only(n)
    rows.append(("signature recovery only", n, seconds, "reference"))
    peer_n = min(n, 5_000)
    peer_seconds = verify_only(peer_n, peer=True)
    rows.append(
        (
            "eth-account typed-data recovery",
            peer_n,
            peer_seconds,
            f"peer; ours is {(n / seconds) / (peer_n / peer_seconds):.1f}x faster",
        )
    )

    with tempfile.TemporaryDirectory() as scratch:
        database = Database.from_url(f"sqlite:///{Path(scratch) / 'bench.db'}")
        seconds, stored = run(database, n, args.batch)
        database.dispose()
    rows.append(("SQLite (WAL, synchronous=FULL)", stored, seconds, "target >= 3,000/s"))

    if not args.no_postgres:
        admin = create_engine(POSTGRES_URL, poolclass=NullPool)
        schema = f"bench_{uuid.uuid4().hex[:12]}"
        try:
            with admin.begin() as connection:
                connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        except Exception as error:  # the table still prints without PostgreSQL
            print(f"PostgreSQL skipped: {error}", file=sys.stderr)
        else:
            try:
                database = Database.from_url(POSTGRES_URL, schema=schema)
                seconds, stored = run(database, n, args.batch)
                database.dispose()
                rows.append(("PostgreSQL 15 (READ COMMITTED)", stored, seconds, ""))
            finally:
                with admin.begin() as connection:
                    connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    print(f"signed submissions, batch {args.batch}, k={OVERLAP}, {WALLETS} wallets, 1 process")
    print(f"{'backend':<32} {'stored':>8} {'seconds':>8} {'per second':>11}  note")
    for name, count, secs, note in rows:
        print(f"{name:<32} {count:>8} {secs:>8.2f} {count / secs:>11,.0f}  {note}")


if __name__ == "__main__":
    main()
