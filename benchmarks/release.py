"""Release of a large labelled dataset: time and peak memory to freeze it.

Run by hand: ``python benchmarks/release.py [--items N] [--accounts A] [--epochs E]``.

Stores (SQLite, fresh file) a settled classification task over N items answered once each by
A accounts, with E settled epochs whose bundles (state ``done``; each carries all N answers,
the upper bound of a cumulative settlement) are written straight to the blob store: the same
JSON layout settlement writes, with random bytes in place of the signatures, which a release
does not check (the settlement audit does). Then, in a child process of its own (so the peak
resident memory reported is the release's alone), times the off-chain path of
:func:`datafair.services.releases.release`: :func:`~datafair.services.releases.prepare_release`
(read the bundles, contribution table, weights, data document, card, release bundle, manifest,
all stored content-addressed), the weights' Merkle tree, the encrypted copy of the data and
:func:`~datafair.services.releases.record_release` (the row, weight leaves, search entry).
Registration on chain is one transaction whatever N and is not part of this table.

Peers measured in the same run, for scale on a loaded machine: reading the newest settlement
bundle alone (JSON parse and ``parse_bundle``), and writing the release's data rows as Parquet
with pyarrow (what an export of the same labels costs).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from datafair.core.schemas import LabelSchema, TaskType
from datafair.core.task import TaskSpec
from datafair.crypto.cid import cids_from_digests
from datafair.services.releases import prepare_release, record_release
from datafair.services.settlement.bundle import BUNDLE_FORMAT, encode_bundle, parse_bundle
from datafair.services.settlement.gold import gold_section
from datafair.store.blobs import BlobStore
from datafair.store.db import Database
from datafair.store.models import Dataset, Task
from datafair.store.settlement_models import Settlement


def _bundle(n: int, accounts: int, spec: TaskSpec) -> dict[str, object]:
    rng = np.random.default_rng(3)
    digests = [bytes(d) for d in rng.integers(0, 256, size=(n, 32), dtype=np.uint8)]
    items = sorted(cids_from_digests(digests))
    wallets = sorted(f"0x{number:040x}" for number in range(1, accounts + 1))
    contributor = rng.integers(0, accounts, size=n).tolist()
    labels = rng.choice(["pos", "neg"], size=n).tolist()
    answers = ['"pos"' if x == "pos" else '"neg"' for x in labels]
    signature = "0x" + os.urandom(65).hex()
    amounts = rng.integers(1, 10_000, size=accounts).tolist()
    return {
        "format": BUNDLE_FORMAT,
        "software": {"name": "datafair", "version": "bench"},
        "task": {"task_id": "0x" + spec.task_id.hex(), "spec": spec.to_dict()},
        "chain": {"chain_id": 31337, "escrow": "0x" + "00" * 20, "token": "0x" + "00" * 20},
        "epoch": 1,
        "gold": gold_section(bytes(32), {}),
        "submissions": {
            "items": items,
            "accounts": wallets,
            "item": list(range(n)),
            "contributor": contributor,
            "answer": answers,
            "nonce": list(range(n)),
            "duration_ms": [1000] * n,
            "signature": [signature] * n,
            "epoch": [1] * n,
        },
        "reviews": {"submission": [], "reviewer": [], "verdict": [], "rating": [], "signature": []},
        "quality": {
            "method": "auto",
            "estimator": "bench",
            "params": {},
            "classes": ["pos", "neg"],
        },
        "inferred": {"labels": labels, "spammers": []},
        "rewards": {},
        "payout": {"fee_bps": 100, "gross": "0", "fee": "0", "total": "0", "unearned": "0"},
        "tree": {
            "leaf_encoding": ["uint256", "address", "uint256"],
            "leaves": [
                [i, w, str(a)] for i, (w, a) in enumerate(zip(wallets, amounts, strict=True))
            ],
            "root": "0x" + "11" * 32,
        },
    }


def _fixture(home: Path, items: int, accounts: int, epochs: int) -> tuple[str, str, int]:
    """Store the settled task (one bundle per epoch, the newest last); ``(task id, newest
    bundle CID, its size in bytes)``."""
    database = Database.from_url(f"sqlite:///{home / 'bench.db'}")
    blobs = BlobStore(home / "blobs")
    spec = TaskSpec(
        dataset_cid="bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy",
        title="benchmark reviews",
        schema=LabelSchema(TaskType.CLASSIFICATION, ("pos", "neg")),
        price_per_answer=10,
    )
    document = _bundle(items, accounts, spec)
    cids = []
    for epoch in range(1, epochs + 1):
        data = encode_bundle({**document, "epoch": epoch})
        cids.append(blobs.put(data))
    with database.session() as session:
        dataset = Dataset(
            manifest_cid=spec.dataset_cid,
            title="benchmark reviews",
            card={
                "title": "benchmark reviews",
                "license": "CC-BY-4.0",
                "languages": ["en"],
                "modalities": ["text"],
            },
            item_count=items,
            created_at=0,
        )
        session.add(dataset)
        session.flush()
        task = Task(
            task_id=spec.task_id,
            dataset_id=dataset.id,
            spec=spec.to_dict(),
            task_type="classification",
            overlap=1,
            gold_ratio=0.0,
            chain_id=31337,
            deadline=0,
            status="closed",
            gold_seed=bytes(32),
            created_at=0,
        )
        session.add(task)
        session.flush()
        for epoch, cid in enumerate(cids, start=1):
            session.add(
                Settlement(
                    task_pk=task.id,
                    epoch=epoch,
                    state="done",
                    method="auto",
                    escrow="0x" + "00" * 20,
                    bundle_cid=cid,
                    created_at=0,
                    updated_at=0,
                )
            )
        session.commit()
    database.dispose()
    return "0x" + spec.task_id.hex(), cids[-1], len(data)


def _child(home: Path, task_id: str) -> None:
    """The release itself, alone in this process (so its peak memory is its own): prepare,
    the weights' Merkle tree, the encrypted copy of the data, the record. Prints JSON."""
    from datafair.chain.market import royalty_tree
    from datafair.services.release_files import encrypt_release_data

    database = Database.from_url(f"sqlite:///{home / 'bench.db'}")
    blobs = BlobStore(home / "blobs")
    times = {}
    with database.session() as session:
        start = time.perf_counter()
        prepared = prepare_release(session, blobs, [task_id])
        times["prepare"] = time.perf_counter() - start
        start = time.perf_counter()
        tree = royalty_tree(31337, "0x" + "0b" * 20, 1, prepared.facts.version, prepared.weights)
        times["tree"] = time.perf_counter() - start
        start = time.perf_counter()
        encrypted = encrypt_release_data(
            blobs, b"bench-secret", prepared.manifest_cid, prepared.data_cid
        )
        times["encrypt"] = time.perf_counter() - start
        start = time.perf_counter()
        record_release(
            session,
            prepared,
            owner="0x" + "0a" * 20,
            token_id=1,
            weights_root=tree.root,
            registry=None,
            register_tx=None,
            encrypted_cid=encrypted,
        )
        times["record"] = time.perf_counter() - start
    database.dispose()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "times": times,
                "peak_mb": peak_kb / 1024,
                "leaves": len(prepared.weights),
                "data_cid": prepared.data_cid,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--accounts", type=int, default=1_000)
    parser.add_argument("--epochs", type=int, default=1, help="settled epochs (bundles) to read")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--task", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(Path(args.child), args.task)
        return
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        task_id, newest, size = _fixture(home, args.items, args.accounts, args.epochs)
        blobs = BlobStore(home / "blobs")
        run = subprocess.run(
            [sys.executable, __file__, "--child", str(home), "--task", task_id],
            check=True,
            capture_output=True,
            text=True,
        )
        child = json.loads(run.stdout.strip().splitlines()[-1])

        start = time.perf_counter()
        parse_bundle(json.loads(blobs.get(newest)))
        read_only = time.perf_counter() - start

        import pyarrow as pa
        import pyarrow.parquet as pq

        rows = json.loads(blobs.get(child["data_cid"]))["rows"]
        start = time.perf_counter()
        table = pa.table({"item": [r["item"] for r in rows], "label": [r["label"] for r in rows]})
        pq.write_table(table, home / "labels.parquet")
        parquet = time.perf_counter() - start
    times = child["times"]
    total = sum(times.values())
    print(
        f"release of {args.items:,} items from {args.accounts:,} accounts over {args.epochs} "
        f"epoch(s) (newest settlement bundle {size / 1e6:.0f} MB); "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print("| step | seconds |")
    print("|---|---:|")
    print(f"| prepare_release (bundles, weights, data, card, manifest) | {times['prepare']:.2f} |")
    print(f"| weights Merkle tree ({child['leaves']:,} leaves) | {times['tree']:.2f} |")
    print(f"| encrypted copy of the data (AES-256-GCM) | {times['encrypt']:.2f} |")
    print(f"| record_release (row, weight leaves, search) | {times['record']:.2f} |")
    print(
        f"| **datafair release total** (peak memory {child['peak_mb']:.0f} MB) | **{total:.1f}** |"
    )
    print(f"| peer: read and parse the newest settlement bundle alone | {read_only:.1f} |")
    print(f"| peer: write the same labels as Parquet (pyarrow) | {parquet:.1f} |")
    print(f"release / bundle read: {total / read_only:.2f}")


if __name__ == "__main__":
    main()
