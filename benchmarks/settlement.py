"""Settle and audit one epoch of N signed submissions on the embedded chain.

Run by hand: ``python benchmarks/settlement.py [--submissions N] [--wallets W] [--workers P]``
(default one million submissions over N / 5 items, k = 5, 1,000 wallets whose accuracy is drawn
between 0.55 and 0.95, one gold item in a thousand).

Set-up (not timed): a fresh data home with datafair deployed on its embedded chain (SQLite
database), the dataset and task, the answers signed with each wallet's key (the EIP-712 digest
of ``sign_submission``, coincurve, on ``--workers`` processes) and written with
``SubmissionRepository.insert_many`` (the ``submit_many`` path is measured by
``benchmarks/submissions.py``), the task funded.

Timed: ``settle_task`` from the database to a confirmed root on chain (reading the submissions,
Bayesian Dawid-Skene, rewards, fee, Merkle tree, canonical bundle written to the blob store,
``post_payout``), then ``audit_bundle`` from the bundle's bytes (canonical form, gold
commitment, every signature on ``--workers`` processes, inference, rewards, root, chain).
Prints one table.
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
from pathlib import Path

import numpy as np

from datafair.chain.deploy import contract, deploy_all, deployment_path, save_deployment
from datafair.chain.embedded import EmbeddedChain
from datafair.chain.escrow import EscrowClient
from datafair.chain.tokens import TokenClient
from datafair.core.canonical import canonical_json, keccak256
from datafair.core.schemas import ItemKind, LabelSchema, TaskType
from datafair.core.task import DatasetCard, TaskSpec
from datafair.crypto.cid import compute_cid
from datafair.crypto.eip712 import SubmissionDomain, SubmissionMessage, signing_digest
from datafair.services.settlement.audit import audit_bundle
from datafair.services.settlement.funding import fund_task
from datafair.services.settlement.settle import settle_task
from datafair.services.tasks import create_task
from datafair.settings import load_settings
from datafair.store.blobs import BlobStore
from datafair.store.db import Database
from datafair.store.repositories import (
    DatasetRepository,
    ItemRepository,
    NewItem,
    SubmissionRepository,
    TaskRepository,
)

OVERLAP = 5
PRICE = 10**15
OWNER = "0x" + "0a" * 20
REQUESTER = "0x" + "0b" * 20
CLASSES = ("pos", "neg")

_SIGN_JOB: dict[str, object] = {}


def _wallets(n: int) -> list[tuple[bytes, str]]:
    from coincurve import PrivateKey
    from eth_utils.address import to_checksum_address

    wallets = []
    for number in range(n):
        key = keccak256(f"settlement benchmark wallet {number}".encode())
        public = PrivateKey(key).public_key.format(compressed=False)[1:]
        wallets.append((key, to_checksum_address(keccak256(public)[-20:])))
    return wallets


def _sign_range(bounds: tuple[int, int]) -> list[bytes]:
    job = _SIGN_JOB
    wallets, cids, item_col, who, labels, task_id, domain = (
        job["wallets"],
        job["cids"],
        job["item"],
        job["who"],
        job["labels"],
        job["task_id"],
        job["domain"],
    )
    from coincurve import PrivateKey

    keys = [PrivateKey(key) for key, _ in wallets]  # type: ignore[attr-defined]
    hashes = [keccak256(canonical_json(c)) for c in CLASSES]
    out = []
    for row in range(*bounds):
        wallet = who[row]  # type: ignore[index]
        message = SubmissionMessage(
            task_id,  # type: ignore[arg-type]
            cids[item_col[row]],  # type: ignore[index]
            hashes[labels[row]],  # type: ignore[index]
            wallets[wallet][1],  # type: ignore[index]
            row,
            1000,
        )
        raw = keys[wallet].sign_recoverable(signing_digest(domain, message), hasher=None)  # type: ignore[arg-type]
        out.append(raw[:64] + bytes((raw[64] + 27,)))
    return out


def _setup(home: Path, n: int, n_wallets: int, workers: int) -> tuple[bytes, float]:
    settings = load_settings(home=home)
    database = Database.open(settings)
    chain = EmbeddedChain(settings.chain_dir, settings.chain_id)
    deployment = deploy_all(chain, OWNER, cache_dir=settings.home / "cache")
    save_deployment(deployment, deployment_path(settings.chain_dir, chain))
    escrow = EscrowClient(chain, deployment, settings.home / "cache")
    token = TokenClient(chain, contract(chain, deployment, "DevToken", settings.home / "cache"))
    token.mint(REQUESTER, PRICE * n, sender=OWNER)

    n_items = n // OVERLAP
    rng = np.random.default_rng(0)
    texts = [f"benchmark text {i}" for i in range(n_items)]
    cids = [compute_cid(t.encode()) for t in texts]
    truth = rng.integers(0, 2, n_items)
    accuracy = rng.uniform(0.55, 0.95, n_wallets)
    item_col = np.repeat(np.arange(n_items), OVERLAP)
    who = np.concatenate([rng.choice(n_wallets, OVERLAP, replace=False) for _ in range(n_items)])
    right = rng.random(n_items * OVERLAP) < accuracy[who]
    labels = np.where(right, truth[item_col], 1 - truth[item_col])
    wallets = _wallets(n_wallets)
    with database.session() as session:
        ItemRepository(session).add_many(
            [NewItem(c, ItemKind.TEXT, len(t), text=t) for c, t in zip(cids, texts, strict=True)],
            now_ms=0,
        )
        card = DatasetCard(title="settlement benchmark", modalities=("text",))
        manifest = compute_cid(canonical_json({"card": card.to_dict(), "items": cids}))
        DatasetRepository(session).create(
            manifest_cid=manifest, card=card.to_dict(), item_cids=cids, now_ms=0
        )
        session.commit()
        spec = TaskSpec(
            dataset_cid=manifest,
            title="settlement benchmark",
            schema=LabelSchema(TaskType.CLASSIFICATION, CLASSES),
            overlap=OVERLAP,
            price_per_answer=PRICE,
        )
        gold = {cids[i]: CLASSES[int(truth[i])] for i in range(0, n_items, 1000)}
        info = create_task(session, spec, gold=gold, gold_seed=bytes(32))
        _SIGN_JOB.update(
            wallets=wallets,
            cids=cids,
            item=item_col.tolist(),
            who=who.tolist(),
            labels=labels.tolist(),
            task_id=info.task_id,
            domain=SubmissionDomain(spec.chain_id),
        )
        started = time.perf_counter()
        chunks = [
            (n * k // (workers * 8), n * (k + 1) // (workers * 8)) for k in range(workers * 8)
        ]
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            signatures = [s for part in pool.map(_sign_range, chunks) for s in part]
        signing = time.perf_counter() - started
        task_pk = TaskRepository(session).by_task_id(info.task_id).id  # type: ignore[union-attr]
        item_ids = TaskRepository(session).slots(task_pk, cids)
        hashes = [keccak256(canonical_json(c)) for c in CLASSES]
        repository = SubmissionRepository(session)
        for start in range(0, n, 20_000):
            rows = [
                {
                    "task_pk": task_pk,
                    "task_item_id": item_ids[cids[item_col[r]]].task_item_id,
                    "item_cid": cids[item_col[r]],
                    "contributor": wallets[who[r]][1],
                    "answer": canonical_json(CLASSES[labels[r]]).decode(),
                    "answer_hash": hashes[labels[r]],
                    "nonce": r,
                    "duration_ms": 1000,
                    "signature": signatures[r],
                    "accepted_at": 0,
                }
                for r in range(start, min(n, start + 20_000))
            ]
            repository.insert_many(rows)
            session.commit()
        fund_task(
            session,
            escrow,
            info.task_id,
            PRICE * n,
            sender=REQUESTER,
            deadline=chain.timestamp() + 86_400,
            token=token.address,
        )
    database.dispose()
    chain.close()
    return info.task_id, signing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=1_000_000)
    parser.add_argument("--wallets", type=int, default=1_000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        home = Path(scratch) / "home"
        started = time.perf_counter()
        task_id, signing = _setup(home, args.submissions, args.wallets, args.workers)
        setup = time.perf_counter() - started

        settings = load_settings(home=home)
        database = Database.open(settings)
        chain = EmbeddedChain(settings.chain_dir, settings.chain_id)
        from datafair.chain.deploy import load_deployment

        escrow = EscrowClient(chain, load_deployment(settings.chain_dir, chain))
        blobs = BlobStore(settings.blobs_dir)
        with database.session() as session:
            started = time.perf_counter()
            report = settle_task(session, escrow, blobs, task_id, sender=OWNER)
            settle_seconds = time.perf_counter() - started
        assert report.bundle_cid is not None
        data = blobs.get(report.bundle_cid)
        started = time.perf_counter()
        audit = audit_bundle(data, escrow, workers=args.workers)
        audit_seconds = time.perf_counter() - started
        chain.close()
        database.dispose()

    assert audit.root == report.root
    rows = [
        ("submissions", f"{args.submissions:,}"),
        ("wallets / leaves", f"{args.wallets:,} / {report.leaves:,}"),
        ("set-up (signing)", f"{setup:.1f} s ({signing:.1f} s)"),
        ("settle (db → root on chain)", f"{settle_seconds:.1f} s"),
        ("audit (bundle → chain check)", f"{audit_seconds:.1f} s"),
        ("settle + audit", f"{settle_seconds + audit_seconds:.1f} s"),
        ("bundle size", f"{len(data) / 1e6:.1f} MB"),
        ("total / fee", f"{report.total} / {report.fee}"),
    ]
    width = max(len(name) for name, _ in rows)
    print(f"{'settlement of one epoch':<{width}}  value")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
