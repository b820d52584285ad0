"""Signed submissions accepted over HTTP: ``datafair serve`` on SQLite (1 worker) and on
PostgreSQL (2 workers), against Label Studio's annotation API as the peer.

Usage: ``python benchmarks/http_ingest.py [--items 2600] [--rate 200] [--rate-seconds 10]
[--client-processes 2] [--sqlite-normal] [--skip-postgres] [--skip-sqlite]
[--peer label-studio]``

For each backend a real ``datafair serve`` process is started on a free port; a requester
uploads a CSV dataset and creates a classification task (k = 8) over HTTP; every contributor
wallet signs in (EIP-4361). All answers are EIP-712 signed client-side before the clock starts
(signing is the contributor's cost, not the server's). The clients of a run are dealt over
``--client-processes`` processes that start together, each client connected before the clock
starts, so the client is not the bottleneck; the table says how many. Measured, each run on its
own items:

* single submissions, 1 client (sequential, keep-alive);
* single submissions, 8 concurrent clients;
* batches of 100 (``/submissions/batch``), 4 concurrent clients;
* latency p50/p99 of single submissions at a fixed arrival rate (open loop: requests are sent
  on schedule whether or not earlier ones returned);
* the CPU time per accepted submission of the server (all its processes, from ``/proc``), of
  PostgreSQL's processes (every ``postgres`` process of the machine: run it on a quiet one) and
  of the clients: on a shared, loaded machine the rates move with the load, the CPU cost
  much less, so it is the figure to compare across runs.

The peer is Label Studio (``label-studio start``, SQLite), whose annotation endpoint the issue
measured on this machine kind at 9 annotations/s with one client and 12/s with four. With
``--peer label-studio`` and a ``label-studio`` executable on PATH it is measured in the same
run; otherwise those figures are printed, marked as cited.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from eth_account import Account

from _raw_http import RawConnection, encode_post

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from api._live import serving  # noqa: E402
from datafair.client import DatafairClient  # noqa: E402
from datafair.core.canonical import canonical_json, keccak256  # noqa: E402
from datafair.crypto.cid import compute_cid  # noqa: E402
from datafair.crypto.eip712 import (  # noqa: E402
    SubmissionDomain,
    SubmissionMessage,
    sign_submission,
)

POSTGRES = os.environ.get(
    "DATAFAIR_TEST_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test"
)
LABEL_STUDIO_CITED = {"1 client": 9.0, "4 clients": 12.0}
API = "/api/v1"


def text_of(i: int) -> str:
    return f"benchmark review {i}: {'great' if i % 2 else 'awful'} product"


class Wallet:
    def __init__(self, label: str) -> None:
        self.account = Account.from_key(keccak256(f"http bench {label}".encode()))
        self.key = bytes(self.account.key)
        self.address = self.account.address
        self.token = ""


def entry(wallet: Wallet, task_id: bytes, item: str, nonce: int) -> dict[str, Any]:
    answer = "pos"
    message = SubmissionMessage(
        task_id, item, keccak256(canonical_json(answer)), wallet.address, nonce, 1500
    )
    signature = sign_submission(wallet.key, SubmissionDomain(31337), message)
    return {
        "item_cid": item,
        "answer": answer,
        "contributor": wallet.address,
        "nonce": str(nonce),
        "duration_ms": 1500,
        "signature": "0x" + signature.hex(),
    }


def sign_in(url: str, wallet: Wallet) -> None:
    with DatafairClient(url) as client:
        wallet.token = client.sign_in(wallet.account)


def prepare(url: str, root: Path, n_items: int) -> tuple[str, list[str]]:
    source = root / "bench.csv"
    with source.open("w", encoding="utf-8") as handle:
        handle.write("text\n")
        for i in range(n_items):
            handle.write(text_of(i) + "\n")
    with DatafairClient(url, timeout=600) as requester:
        requester.sign_in(Wallet("requester").account)
        imported = requester.upload_dataset(source, title="HTTP benchmark")
        task = requester.create_task(
            dataset_cid=imported["manifest_cid"],
            title="HTTP benchmark",
            classes=["pos", "neg"],
            overlap=8,
            deadline=int(time.time()) + 365 * 86_400,
        )
    return task["task_id"], [compute_cid(text_of(i).encode()) for i in range(n_items)]


async def post_all(
    url: str, task_id: str, work: Sequence[tuple[str, list[dict[str, Any]]]], batch: int
) -> tuple[int, float, float]:
    """Each (token, entries) pair is one client sending sequentially on one keep-alive
    connection; all clients at once, each connected and every request encoded before the clock
    starts. Returns (accepted, start, end) where start and end are ``time.time()`` (comparable
    across processes)."""
    host, port = _host_port(url)
    accepted = 0
    path = f"{API}/tasks/{task_id}/submissions"

    def requests(token: str, entries: list[dict[str, Any]]) -> list[bytes]:
        if batch == 1:
            return [encode_post(host, path, body, token) for body in entries]
        return [
            encode_post(host, f"{path}/batch", {"submissions": entries[i : i + batch]}, token)
            for i in range(0, len(entries), batch)
        ]

    async def client(connection: RawConnection, encoded: list[bytes]) -> None:
        nonlocal accepted
        for request in encoded:
            status, body = await connection.send(request)
            if batch == 1:
                accepted += status == 201
                continue
            if status != 200:
                raise SystemExit(f"error: batch refused: {body[:300]!r}")
            accepted += int(json.loads(body)["accepted"])

    encoded = [requests(token, entries) for token, entries in work]
    connections = [await RawConnection.open(host, port) for _ in work]
    try:
        started = time.time()
        await asyncio.gather(*(client(c, e) for c, e in zip(connections, encoded, strict=True)))
        return accepted, started, time.time()
    finally:
        await asyncio.gather(*(c.close() for c in connections))


def _host_port(url: str) -> tuple[str, int]:
    parsed = urlsplit(url)
    assert parsed.hostname is not None and parsed.port is not None
    return parsed.hostname, parsed.port


def _client_process(
    url: str,
    task_id: str,
    work: list[tuple[str, list[dict[str, Any]]]],
    batch: int,
    ready: Any,
    go: Any,
    results: Any,
) -> None:
    ready.wait()  # every client process is forked and ready: start together
    go.wait()
    before = time.process_time()
    accepted, started, ended = asyncio.run(post_all(url, task_id, work, batch))
    results.put((accepted, started, ended, time.process_time() - before))


def run_clients(
    url: str,
    task_id: str,
    work: Sequence[tuple[Wallet, list[dict[str, Any]]]],
    batch: int,
    processes: int,
    server_pid: int,
) -> tuple[float, float, float, float]:
    """Run ``work`` from ``processes`` client processes (the clients dealt round-robin);
    (accepted per second, then CPU ms per accepted submission of the server, of the
    PostgreSQL processes and of the clients). Every entry was signed before this is called."""
    context = multiprocessing.get_context("fork")
    shares = [[(w.token, entries) for w, entries in work[i::processes]] for i in range(processes)]
    shares = [share for share in shares if share]
    ready = context.Barrier(len(shares) + 1)
    go = context.Event()
    results = context.Queue()
    children = [
        context.Process(
            target=_client_process, args=(url, task_id, share, batch, ready, go, results)
        )
        for share in shares
    ]
    for child in children:
        child.start()
    ready.wait()
    server_before, database_before = process_group_cpu(server_pid), database_cpu()
    go.set()
    outcomes = [results.get(timeout=900) for _ in children]
    server_cpu = process_group_cpu(server_pid) - server_before
    database = database_cpu() - database_before
    for child in children:
        child.join()
    accepted = sum(o[0] for o in outcomes)
    seconds = max(o[2] for o in outcomes) - min(o[1] for o in outcomes)
    client_cpu = sum(o[3] for o in outcomes)
    per = 1000 / max(accepted, 1)
    return accepted / seconds, server_cpu * per, database * per, client_cpu * per


def process_group_cpu(pgid: int) -> float:
    """CPU seconds (user + system) used so far by the live processes of group ``pgid`` (the
    server and its workers: ``serving`` starts it in a new session)."""
    return _cpu_of(lambda name, group: group == pgid)


def database_cpu() -> float:
    """CPU seconds used so far by the live PostgreSQL processes of this machine (its
    backends are not the server's children; 0 with SQLite, which runs inside the server)."""
    return _cpu_of(lambda name, group: name == "postgres")


def _cpu_of(wanted: Callable[[str, int], bool]) -> float:
    """CPU seconds (user + system) of the live processes ``wanted(name, process group)``."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii") as handle:
                head, tail = handle.read().rsplit(")", 1)
        except OSError:
            continue
        fields = tail.split()
        if wanted(head.split("(", 1)[1], int(fields[2])):  # fields[2] is the process group
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


async def fixed_rate(
    url: str, task_id: str, work: Sequence[tuple[Wallet, dict[str, Any]]], rate: float
) -> tuple[list[float], int]:
    """Send ``work`` open-loop at ``rate`` per second; latencies (ms) and non-2xx count.

    Request n is due at ``n / rate`` seconds; its latency runs from when it was due, not from
    when a connection was free to send it, so a server that falls behind is charged for the
    queue it causes (no coordinated omission). Up to 64 keep-alive connections."""
    host, port = _host_port(url)
    path = f"{API}/tasks/{task_id}/submissions"
    encoded = [encode_post(host, path, body, wallet.token) for wallet, body in work]
    latencies: list[float] = []
    failures = 0
    upcoming = iter(range(len(encoded)))
    connections = [await RawConnection.open(host, port) for _ in range(64)]

    async def sender(connection: RawConnection) -> None:
        nonlocal failures
        for n in upcoming:
            due = begin + n / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            status, _ = await connection.send(encoded[n])
            failures += not 200 <= status < 300
            latencies.append((time.perf_counter() - due) * 1000)

    begin = time.perf_counter()
    try:
        await asyncio.gather(*(sender(c) for c in connections))
    finally:
        await asyncio.gather(*(c.close() for c in connections))
    return latencies, failures


def rotated(items: list[str], n: int, of: int) -> list[str]:
    """``items`` starting at the ``n``-th of ``of`` equal offsets."""
    start = n * len(items) // of
    return items[start:] + items[:start]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_backend(
    name: str, env: dict[str, str], workers: int, args: argparse.Namespace
) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="http-bench-"))
    try:
        with serving(root / "home", env=env, workers=workers, timeout_s=300) as (url, process):
            task_hex, items = prepare(url, root, args.items)
            task_id = bytes.fromhex(task_hex[2:])
            offset = 0

            def take(count: int) -> list[str]:
                nonlocal offset
                chosen = items[offset : offset + count]
                offset += count
                if len(chosen) < count:
                    raise SystemExit("error: --items is too small for these runs")
                return chosen

            def wallets(label: str, n: int) -> list[Wallet]:
                made = [Wallet(f"{name} {label} {i}") for i in range(n)]
                for wallet in made:
                    sign_in(url, wallet)
                return made

            result: dict[str, Any] = {}
            runs = (
                ("single, 1 client", 1, args.single, 1),
                ("single, 8 clients", 8, args.single, 1),
                ("batches of 100, 4 clients", 4, args.batched, 100),
            )
            for column, n_clients, per_client, batch in runs:
                crowd = wallets(column, n_clients)
                chosen = take(per_client)
                # every client answers the same items, each starting at its own offset, as
                # `next` deals contributors different items
                work = [
                    (
                        w,
                        [
                            entry(w, task_id, c, i + 1)
                            for i, c in enumerate(rotated(chosen, n, len(crowd)))
                        ],
                    )
                    for n, w in enumerate(crowd)
                ]
                rate, server_ms, database_ms, client_ms = run_clients(
                    url, task_hex, work, batch, min(args.client_processes, n_clients), process.pid
                )
                result[column] = rate
                result[f"{column} server ms"] = server_ms
                result[f"{column} database ms"] = database_ms
                result[f"{column} client ms"] = client_ms
            paced = wallets("paced", 8)
            total = int(args.rate * args.rate_seconds)
            paced_items = take(total // 8 + 1)
            schedule = [
                (paced[n % 8], entry(paced[n % 8], task_id, paced_items[n // 8], n // 8 + 1))
                for n in range(total)
            ]
            latencies, failures = asyncio.run(fixed_rate(url, task_hex, schedule, args.rate))
            result["p50 ms"] = statistics.median(latencies)
            result["p99 ms"] = percentile(latencies, 0.99)
            result["failures"] = failures
            return result
    finally:
        shutil.rmtree(root, ignore_errors=True)


def postgres_env() -> tuple[dict[str, str], str]:
    from sqlalchemy import create_engine, text

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    engine = create_engine(POSTGRES)
    with engine.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    return {"DATAFAIR_DATABASE_URL": f"{POSTGRES}?options=-csearch_path%3D{schema}"}, schema


def drop_schema(schema: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(POSTGRES)
    with engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


RUNS = ["single, 1 client", "single, 8 clients", "batches of 100, 4 clients"]


def print_table(rows: list[tuple[str, dict[str, Any]]], args: argparse.Namespace) -> None:
    """The rates and latencies, then the CPU per submission, of every backend so far."""
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    print(
        f"\nsigned submissions accepted over HTTP per second; p50/p99 at {args.rate:.0f} req/s "
        f"open loop; clients in {args.client_processes} processes on this "
        f"{os.cpu_count()}-core machine; load average now {load}"
    )
    print(f"{'server':34} " + "".join(f"{c:>27}" for c in [*RUNS, "p50 ms", "p99 ms"]))
    for name, result in rows:
        cells = [f"{result[column]:>24.0f} /s" for column in RUNS]
        cells += [f"{result[column]:>27.1f}" for column in ("p50 ms", "p99 ms")]
        print(f"{name:34} " + "".join(cells) + f"  ({result['failures']} failed)")
    print(
        "CPU ms per accepted submission: server (all its processes) / PostgreSQL's processes "
        "/ clients"
    )
    for name, result in rows:
        cells = [
            f"{result[f'{column} server ms']:>11.2f} / {result[f'{column} database ms']:.2f}"
            f" / {result[f'{column} client ms']:<6.2f}"
            for column in RUNS
        ]
        print(f"{name:34} " + "".join(cells), flush=True)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=2600, help="items in the task")
    parser.add_argument("--single", type=int, default=400, help="submissions per single client")
    parser.add_argument("--batched", type=int, default=1000, help="submissions per batch client")
    parser.add_argument("--rate", type=float, default=200.0, help="fixed arrival rate, req/s")
    parser.add_argument("--rate-seconds", type=float, default=10.0, help="length of that run")
    parser.add_argument(
        "--client-processes", type=int, default=2, help="processes the clients run in"
    )
    parser.add_argument(
        "--sqlite-normal",
        action="store_true",
        help="also SQLite with synchronous=normal (no fsync per commit; survives a process "
        "crash, not a power loss)",
    )
    parser.add_argument("--skip-postgres", action="store_true", help="no PostgreSQL run")
    parser.add_argument("--skip-sqlite", action="store_true", help="no SQLite run")
    parser.add_argument("--peer", choices=["label-studio"], help="measure the peer too")
    args = parser.parse_args(argv)
    rows: list[tuple[str, dict[str, Any]]] = []

    def measured(name: str, result: dict[str, Any]) -> None:
        rows.append((name, result))
        print_table(rows, args)  # after each backend: a long run's early rows are not lost

    if not args.skip_sqlite:
        measured("datafair, SQLite, 1 worker", run_backend("sqlite", {}, 1, args))
    if not args.skip_postgres:
        env, schema = postgres_env()
        try:
            measured("datafair, PostgreSQL, 2 workers", run_backend("pg", env, 2, args))
        finally:
            drop_schema(schema)
    if args.sqlite_normal:
        normal = {"DATAFAIR_SQLITE_SYNCHRONOUS": "normal"}
        measured("SQLite, synchronous=normal", run_backend("sqlite-n", normal, 1, args))
    if args.peer == "label-studio" and shutil.which("label-studio"):
        print("label-studio found, but its measurement needs a project set up by hand: see docs")
    ls = LABEL_STUDIO_CITED
    print(
        f"\n{'Label Studio 1.23.2, SQLite (cited)':34} {ls['1 client']:>24.0f} /s"
        f"{ls['4 clients']:>24.0f} /s (4 clients, single annotations)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
