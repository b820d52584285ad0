"""``datafair serve --workers 2`` on PostgreSQL: two processes, one database, and no lost or
doubled submission when a worker is killed (``kill -9``) under load from 8 clients."""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from datafair.client import ApiError, DatafairClient
from datafair.core.canonical import canonical_json, keccak256
from datafair.crypto.cid import compute_cid
from datafair.crypto.eip712 import SubmissionDomain, SubmissionMessage, sign_submission

from ._live import serving
from .conftest import wallet, write_reviews_csv

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
POSTGRES = "postgresql+psycopg://root@127.0.0.1:5432/test"
N_ITEMS = 40
CLIENTS = 8


@pytest.fixture
def pg_url(postgres_admin: Engine) -> Iterator[str]:
    schema = f"t_{uuid.uuid4().hex}"
    with postgres_admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield f"{POSTGRES}?options=-csearch_path%3D{schema}"
    with postgres_admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


def worker_pids(server_pid: int) -> list[int]:
    """The uvicorn worker processes (spawned children running ``spawn_main``)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        parent = next(line for line in status.splitlines() if line.startswith("PPid:"))
        if int(parent.split()[1]) == server_pid and b"spawn_main" in cmdline:
            found.append(int(entry.name))
    return sorted(found)


def signed(key: bytes, address: str, task_id: str, item: str, nonce: int) -> dict[str, object]:
    message = SubmissionMessage(
        bytes.fromhex(task_id[2:]), item, keccak256(canonical_json("pos")), address, nonce, 1000
    )
    signature = sign_submission(key, SubmissionDomain(31337), message)
    return {
        "item_cid": item,
        "answer": "pos",
        "contributor": address,
        "nonce": str(nonce),
        "duration_ms": 1000,
        "signature": "0x" + signature.hex(),
    }


def test_two_workers_on_postgres_lose_nothing_when_one_is_killed(
    pg_url: str, tmp_path: Path
) -> None:
    env = {"DATAFAIR_DATABASE_URL": pg_url}
    home = tmp_path / "home"
    with serving(home, env=env, workers=2) as (url, process):
        with DatafairClient(url) as requester:
            requester.sign_in(wallet("pg requester"))
            source = write_reviews_csv(tmp_path / "reviews.csv", N_ITEMS)
            imported = requester.upload_dataset(source, title="PG reviews")
            task = requester.create_task(
                dataset_cid=imported["manifest_cid"],
                title="PG",
                classes=["pos", "neg"],
                overlap=CLIENTS,
                deadline=int(time.time()) + 365 * 86_400,
            )
        task_id = task["task_id"]
        items = [
            compute_cid(f"review number {i}: {'great' if i % 2 else 'awful'} product".encode())
            for i in range(N_ITEMS)
        ]
        workers = worker_pids(process.pid)
        assert len(workers) == 2
        acknowledged: dict[str, set[int]] = {}
        errors: list[str] = []
        started = threading.Barrier(CLIENTS + 1)

        def contribute(number: int) -> None:
            who = wallet(f"pg worker {number}")
            ids: set[int] = set()
            acknowledged[who.address] = ids
            with DatafairClient(url, timeout=20) as client:
                client.sign_in(who)
                started.wait()
                for position, item in enumerate(items):
                    entry = signed(bytes(who.key), who.address, task_id, item, position + 1)
                    for _attempt in range(20):  # bounded: a retry after any error
                        try:
                            ids.add(int(client.submit(task_id, entry)["id"]))
                            break
                        except ApiError as error:
                            if error.status and error.status < 500:
                                errors.append(str(error))
                                break
                            time.sleep(0.2)

        threads = [threading.Thread(target=contribute, args=(n,)) for n in range(CLIENTS)]
        for thread in threads:
            thread.start()
        started.wait()
        time.sleep(1.0)
        os.kill(workers[0], signal.SIGKILL)  # mid-load
        for thread in threads:
            thread.join(timeout=300)
        assert not any(thread.is_alive() for thread in threads)
        assert errors == []
        assert all(len(ids) == N_ITEMS for ids in acknowledged.values())
    # a fresh server on the same database: every acknowledged submission is there, once
    with serving(home, env=env, workers=2) as (url, _), DatafairClient(url) as reader:
        reader.sign_in(wallet("pg requester"))
        rows = reader.request("GET", f"/api/v1/tasks/{task_id}/answers", params={"limit": 10000})
    stored = [(row["contributor"], row["item_cid"], row["submission_id"]) for row in rows]
    assert len(stored) == CLIENTS * N_ITEMS
    assert len({(c, i) for c, i, _ in stored}) == len(stored)  # none twice
    by_contributor: dict[str, set[int]] = {}
    for contributor, _, submission_id in stored:
        by_contributor.setdefault(contributor, set()).add(submission_id)
    assert by_contributor == acknowledged
