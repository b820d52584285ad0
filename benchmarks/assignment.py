"""How long one contributor's ``next_item`` takes on a large task, before and after a change.

Run by hand::

    python benchmarks/assignment.py [--items 100000] [--contributors 1000] [--warmup 5000]
                                    [--calls 2000] [--before /work/main/src] [--no-postgres]

Each measured implementation runs in its own process with its own source tree first on
``sys.path`` (this checkout, and ``--before DIR``, e.g. the main branch's ``src``, as the peer
measured in the same run). In each: a fresh database (a SQLite file; a PostgreSQL schema in
``DATAFAIR_TEST_POSTGRES_URL``), ``--items`` text items, one classification task with k = 5,
1 % gold items and a gold ratio of 0.05, and ``--contributors`` wallets. Contributors take
turns calling ``next_item``; each held item is then answered directly in the database (the
assignment marked submitted, a submission row written, the item's counters moved), so the
task fills as it would under real work without timing signature checks. The first
``--warmup`` calls are not timed; the next ``--calls`` are. The table shows the median, p90
and p99 wall time of one call in milliseconds, the median CPU time the calling process spent
in it (the figure that does not depend on how busy the machine is; on PostgreSQL the server's
own CPU is not in it), and how many distinct items the timed calls touched. Put the SQLite
file on a RAM disk (``TMPDIR=/dev/shm``) to time the code rather than the disk's fsync.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

POSTGRES_URL = os.environ.get(
    "DATAFAIR_TEST_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test"
)
HERE = Path(__file__).resolve().parents[1] / "src"
OVERLAP = 5
GOLD_SHARE = 0.01
GOLD_RATIO = 0.05
NOW = 1_800_000_000.0


def _measure(
    backend: str, items: int, contributors: int, warmup: int, calls: int
) -> dict[str, Any]:
    """Build the task and time ``next_item``; runs inside the worker process."""
    import numpy as np
    from sqlalchemy import create_engine, insert, text, update
    from sqlalchemy.pool import NullPool

    from datafair.core.canonical import canonical_json, keccak256
    from datafair.core.schemas import ItemKind, LabelSchema, TaskType
    from datafair.core.task import DatasetCard, TaskSpec
    from datafair.crypto.cid import compute_cid
    from datafair.services.assignment import next_item
    from datafair.services.tasks import create_task
    from datafair.store.db import Database
    from datafair.store.models import Assignment, Submission, TaskItem
    from datafair.store.repositories import DatasetRepository, ItemRepository, NewItem

    try:
        from datafair.core.ids import checksum_address
    except ImportError:  # source trees from before core.ids
        from datafair.services.tasks import checksum_address  # type: ignore[attr-defined,no-redef]

    schema = None
    scratch = tempfile.TemporaryDirectory()
    if backend == "sqlite":
        database = Database.from_url(f"sqlite:///{Path(scratch.name) / 'bench.db'}")
    else:
        schema = f"bench_{uuid.uuid4().hex[:12]}"
        admin = create_engine(POSTGRES_URL, poolclass=NullPool)
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        database = Database.from_url(POSTGRES_URL, schema=schema)
    try:
        texts = [f"benchmark review number {i}: fine product" for i in range(items)]
        new = [NewItem(compute_cid(t.encode()), ItemKind.TEXT, len(t), text=t) for t in texts]
        cids = [item.cid for item in new]
        card = DatasetCard(title="assignment benchmark", modalities=("text",))
        manifest = compute_cid(canonical_json({"card": card.to_dict(), "items": cids}))
        with database.session() as session:
            ItemRepository(session).add_many(new, now_ms=0)
            DatasetRepository(session).create(
                manifest_cid=manifest, card=card.to_dict(), item_cids=cids, now_ms=0
            )
            session.commit()
            rng = np.random.default_rng(7)
            gold_idx = rng.choice(items, max(1, int(items * GOLD_SHARE)), replace=False)
            spec = TaskSpec(
                dataset_cid=manifest,
                title="assignment benchmark",
                schema=LabelSchema(TaskType.CLASSIFICATION, ("pos", "neg")),
                overlap=OVERLAP,
                gold_ratio=GOLD_RATIO,
                price_per_answer=10,
                deadline=0,
                chain_id=31337,
                salt=1,
            )
            info = create_task(
                session,
                spec,
                gold={cids[int(i)]: "pos" for i in gold_idx},
                clock=lambda: NOW,
                gold_seed=keccak256(b"assignment benchmark"),
            )
        wallets = [
            checksum_address("0x" + keccak256(f"bench contributor {n}".encode())[-20:].hex())
            for n in range(contributors)
        ]
        timings: list[float] = []
        cpu_times: list[float] = []
        touched: set[str] = set()
        nonce = 0
        done = 0
        total = warmup + calls
        with database.session() as session:
            task_pk = session.execute(
                text("SELECT id FROM tasks WHERE task_id = :t"), {"t": info.task_id}
            ).scalar_one()
            for call in range(total):
                who = wallets[call % contributors]
                started, cpu = time.perf_counter(), time.process_time()
                assigned = next_item(session, info.task_id, who, clock=lambda: NOW)
                elapsed = time.perf_counter() - started
                cpu = time.process_time() - cpu
                if assigned is None:
                    continue
                done += 1
                if call >= warmup:
                    timings.append(elapsed)
                    cpu_times.append(cpu)
                    touched.add(assigned.item_cid)
                nonce += 1
                item_pk = session.execute(
                    text("SELECT id FROM task_items WHERE task_pk = :t AND item_cid = :c"),
                    {"t": task_pk, "c": assigned.item_cid},
                ).scalar_one()
                session.execute(
                    update(Assignment)
                    .where(Assignment.id == assigned.assignment_id)
                    .values(status="submitted")
                )
                session.execute(
                    update(TaskItem)
                    .where(TaskItem.id == item_pk)
                    .values(answers=TaskItem.answers + 1, reserved=TaskItem.reserved - 1)
                )
                session.execute(
                    insert(Submission).values(
                        task_pk=task_pk,
                        task_item_id=item_pk,
                        item_cid=assigned.item_cid,
                        contributor=who,
                        answer='"pos"',
                        answer_hash=bytes(32),
                        nonce=nonce,
                        duration_ms=1000,
                        signature=bytes(65),
                        accepted_at=int(NOW * 1000),
                    )
                )
                session.commit()
        ms = sorted(t * 1000 for t in timings)
        return {
            "calls": len(ms),
            "median": statistics.median(ms) if ms else float("nan"),
            "p90": ms[int(0.9 * (len(ms) - 1))] if ms else float("nan"),
            "p99": ms[int(0.99 * (len(ms) - 1))] if ms else float("nan"),
            "cpu": statistics.median(cpu_times) * 1000 if cpu_times else float("nan"),
            "distinct": len(touched),
            "assigned": done,
        }
    finally:
        database.dispose()
        if schema is not None:
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
        scratch.cleanup()


def _postgres_reachable() -> bool:
    from sqlalchemy import create_engine
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.pool import NullPool

    try:
        with create_engine(POSTGRES_URL, poolclass=NullPool).connect():
            return True
    except OperationalError:
        return False


def _run_worker(src: Path, backend: str, args: argparse.Namespace) -> dict[str, Any]:
    command = [
        sys.executable,
        __file__,
        "--worker",
        backend,
        "--items",
        str(args.items),
        "--contributors",
        str(args.contributors),
        "--warmup",
        str(args.warmup),
        "--calls",
        str(args.calls),
    ]
    env = {**os.environ, "PYTHONPATH": str(src)}
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"worker for {src} ({backend}) failed:\n{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _revision(src: Path) -> str:
    done = subprocess.run(
        ["git", "-C", str(src), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--contributors", type=int, default=1_000)
    parser.add_argument("--warmup", type=int, default=5_000)
    parser.add_argument("--calls", type=int, default=2_000)
    parser.add_argument("--before", type=Path, help="source tree (src/) of the peer to compare")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--worker", choices=("sqlite", "postgresql"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        result = _measure(args.worker, args.items, args.contributors, args.warmup, args.calls)
        print(json.dumps(result))
        return
    trees = [(f"this tree ({_revision(HERE)})", HERE)]
    if args.before is not None:
        trees.insert(0, (f"before ({_revision(args.before)})", args.before.resolve()))
    backends = ["sqlite"]
    if not args.no_postgres and _postgres_reachable():
        backends.append("postgresql")
    print(
        f"next_item: {args.items:,} items, k = {OVERLAP}, {args.contributors:,} contributors, "
        f"{args.warmup:,} calls of warm-up, {args.calls:,} timed"
    )
    header = f"{'implementation':<24} {'database':<11} {'median ms':>10} {'p90 ms':>8} "
    header += f"{'p99 ms':>8} {'CPU median ms':>14} {'distinct items':>15}"
    print(header)
    print("-" * len(header))
    for label, src in trees:
        for backend in backends:
            r = _run_worker(src, backend, args)
            print(
                f"{label:<24} {backend:<11} {r['median']:>10.2f} {r['p90']:>8.2f} "
                f"{r['p99']:>8.2f} {r['cpu']:>14.2f} {r['distinct']:>15,}"
            )


if __name__ == "__main__":
    main()
