"""Release of a large labelled dataset: time to freeze it, with its weights, card and record.

Run by hand: ``python benchmarks/release.py [--items N] [--accounts A]``.

Stores (SQLite, fresh file) a settled classification task over N items answered once each by
A accounts, whose settlement bundle (one epoch, state ``done``) is written straight to the blob
store: the same JSON layout settlement writes, with random bytes in place of the signatures,
which a release does not check (the settlement audit does). Then times
:func:`datafair.services.releases.prepare_release` (read and parse the bundle, contribution
table, weights, data document, card, release bundle, manifest, all stored content-addressed)
and :func:`~datafair.services.releases.record_release` (the row, weight leaves, search entry).
Registration on chain is one transaction whatever N and is not part of this table.

Peers measured in the same run: reading the settlement bundle alone (JSON parse and
``parse_bundle``), and writing the release's data rows as Parquet with pyarrow (what an
export of the same labels costs).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from datafair.core.schemas import LabelSchema, TaskType
from datafair.core.task import TaskSpec
from datafair.crypto.cid import cids_from_digests
from datafair.services.releases import prepare_release, record_release
from datafair.services.settlement.bundle import BUNDLE_FORMAT, encode_bundle, parse_bundle
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
        "gold": {"answers": {}, "salt": "0x" + "00" * 32, "commitment": "0x" + "00" * 32},
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--accounts", type=int, default=1_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        database = Database.from_url(f"sqlite:///{home / 'bench.db'}")
        blobs = BlobStore(home / "blobs")
        spec = TaskSpec(
            dataset_cid="bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy",
            title="benchmark reviews",
            schema=LabelSchema(TaskType.CLASSIFICATION, ("pos", "neg")),
            price_per_answer=10,
        )
        document = _bundle(args.items, args.accounts, spec)
        data = encode_bundle(document)
        cid = blobs.put(data)
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
                item_count=args.items,
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
            session.add(
                Settlement(
                    task_pk=task.id,
                    epoch=1,
                    state="done",
                    method="auto",
                    escrow="0x" + "00" * 20,
                    bundle_cid=cid,
                    created_at=0,
                    updated_at=0,
                )
            )
            session.commit()

            start = time.perf_counter()
            parse_bundle(json.loads(blobs.get(cid)))
            read_only = time.perf_counter() - start

            start = time.perf_counter()
            prepared = prepare_release(session, blobs, ["0x" + spec.task_id.hex()])
            prepare = time.perf_counter() - start
            start = time.perf_counter()
            record_release(
                session,
                prepared,
                owner="0x" + "0a" * 20,
                token_id=1,
                weights_root=b"\1" * 32,
                registry=None,
                register_tx=None,
                encrypted_cid=None,
            )
            record = time.perf_counter() - start

        import pyarrow as pa
        import pyarrow.parquet as pq

        rows = json.loads(blobs.get(prepared.data_cid))["rows"]
        start = time.perf_counter()
        table = pa.table({"item": [r["item"] for r in rows], "label": [r["label"] for r in rows]})
        pq.write_table(table, home / "labels.parquet")
        parquet = time.perf_counter() - start
        database.dispose()
    size = len(data) / 1e6
    print(
        f"release of {args.items:,} items from {args.accounts:,} accounts "
        f"(settlement bundle {size:.0f} MB)"
    )
    print("| step | seconds |")
    print("|---|---:|")
    print(
        f"| datafair prepare_release (read bundle, weights, data, card, manifest) | {prepare:.1f} |"
    )
    print(
        f"| datafair record_release (row, {len(prepared.weights):,} weight leaves, search) | "
        f"{record:.2f} |"
    )
    print(f"| **datafair release total** | **{prepare + record:.1f}** |")
    print(f"| peer: read and parse the settlement bundle alone | {read_only:.1f} |")
    print(f"| peer: write the same labels as Parquet (pyarrow) | {parquet:.1f} |")


if __name__ == "__main__":
    main()
