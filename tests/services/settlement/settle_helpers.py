"""Shared helpers of the settlement tests: the deployed world and the crowd's roles."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from datafair.chain.deploy import contract, deploy_all
from datafair.chain.embedded import EmbeddedChain
from datafair.chain.escrow import EscrowClient
from datafair.chain.tokens import TokenClient
from datafair.store.blobs import BlobStore

OWNER = "0x" + "0a" * 20
REQUESTER = "0x" + "0b" * 20
UNIT = 10**18
PRICE = 10  # the make_task fixture's price per answer


@dataclass
class World:
    """A chain, the escrow client, the dev token and a blob store."""

    chain: EmbeddedChain
    escrow: EscrowClient
    token: TokenClient
    blobs: BlobStore

    @property
    def deadline(self) -> int:
        return self.chain.timestamp() + 3600


def make_world(blob_dir: Path, chain: EmbeddedChain | None = None) -> World:
    chain = chain or EmbeddedChain(None)
    deployment = deploy_all(chain, OWNER)
    escrow = EscrowClient(chain, deployment)
    token = TokenClient(chain, contract(chain, deployment, "DevToken"))
    token.mint(REQUESTER, 1000 * UNIT, sender=OWNER)
    return World(chain, escrow, token, BlobStore(blob_dir))


@dataclass(frozen=True)
class Labelled:
    """A stored task, its true labels by item CID, and which contributor index plays which role."""

    task: object
    truth: dict[str, str]
    careful: list[int]
    always_pos: int
    random_: int

    @property
    def task_id(self) -> bytes:
        return self.task.task_id  # type: ignore[attr-defined,no-any-return]


# ------------------------------------------------------------------------------- a data home


@dataclass(frozen=True)
class Home:
    """A data directory with datafair deployed on its embedded chain and labelled tasks."""

    path: Path
    task_ids: list[bytes]
    keys: list[bytes]
    addresses: list[str]
    owner: str


def crowd_keys(n: int = 6) -> list[tuple[bytes, str]]:
    """Deterministic test wallets ``(private key, checksummed address)``."""
    from coincurve import PrivateKey
    from eth_utils.address import to_checksum_address

    from datafair.core.canonical import keccak256

    wallets = []
    for number in range(n):
        key = keccak256(f"datafair settlement crowd {number}".encode())
        public = PrivateKey(key).public_key.format(compressed=False)[1:]
        wallets.append((key, to_checksum_address(keccak256(public)[-20:])))
    return wallets


TRUTH: dict[bytes, dict[str, str]] = {}
"""True labels by item CID of the tasks :func:`store_answered_task` made, by task id."""


def store_answered_task(
    session: Session,
    number: int = 0,
    n_items: int = 10,
    seed: int = 0,
    extra: dict[str, Any] | None = None,
) -> bytes:
    """Store a task over ``n_items`` texts (the first gold) answered by :func:`crowd_keys`.

    Four careful wallets are 90 % right, one always says "pos", one answers at random; the
    data depend only on ``number``, ``n_items`` and ``seed``; ``extra`` goes in the spec.
    Returns the task id (the true labels are in :data:`TRUTH`).
    """
    import random

    from datafair.core.canonical import canonical_json, keccak256
    from datafair.core.schemas import ItemKind, LabelSchema, TaskType
    from datafair.core.task import DatasetCard, TaskSpec
    from datafair.crypto.cid import compute_cid
    from datafair.crypto.eip712 import SubmissionDomain, SubmissionMessage, sign_submission
    from datafair.services.submissions import SubmissionInput, submit_many
    from datafair.services.tasks import create_task
    from datafair.store.repositories import DatasetRepository, ItemRepository, NewItem

    rng = random.Random(seed * 1_000 + number)
    wallets = crowd_keys()[:6]
    texts = [f"home text {seed}-{number}-{i}" for i in range(n_items)]
    items = [
        NewItem(compute_cid(t.encode()), ItemKind.TEXT, len(t.encode()), text=t) for t in texts
    ]
    ItemRepository(session).add_many(items, now_ms=0)
    card = DatasetCard(title="settlement texts", modalities=("text",))
    cids = [item.cid for item in items]
    manifest = compute_cid(canonical_json({"card": card.to_dict(), "items": cids}))
    DatasetRepository(session).create(
        manifest_cid=manifest, card=card.to_dict(), item_cids=cids, now_ms=0
    )
    session.commit()
    truth = [rng.choice(["pos", "neg"]) for _ in cids]
    spec = TaskSpec(
        dataset_cid=manifest,
        title=f"settlement task {number}",
        schema=LabelSchema(TaskType.CLASSIFICATION, ("pos", "neg")),
        overlap=6,
        price_per_answer=PRICE,
        salt=number,
        extra=dict(extra or {}),
    )
    info = create_task(session, spec, gold={cids[0]: truth[0]}, gold_seed=bytes(32))
    domain = SubmissionDomain(spec.chain_id)
    entries = []
    for position, cid in enumerate(cids):
        for who, (key, address) in enumerate(wallets):
            if who < 4:
                right = rng.random() < 0.9
                value = truth[position] if right else ("neg", "pos")[truth[position] == "neg"]
            elif who == 4:
                value = "pos"
            else:
                value = rng.choice(["pos", "neg"])
            answer_hash = keccak256(canonical_json(value))
            message = SubmissionMessage(
                info.task_id, cid, answer_hash, address, position, 1000 + position
            )
            entries.append(
                SubmissionInput(
                    task_id=info.task_id,
                    item_cid=cid,
                    contributor=address,
                    answer=value,
                    nonce=position,
                    duration_ms=1000 + position,
                    signature=sign_submission(key, domain, message),
                )
            )
    assert all(result.ok for result in submit_many(session, entries))
    TRUTH[info.task_id] = dict(zip(cids, truth, strict=True))
    return info.task_id


def prepare_home(
    path: Path, n_tasks: int = 1, n_items: int = 10, seed: int = 0, *, fund: bool = True
) -> Home:
    """Deploy on the home's embedded chain, store ``n_tasks`` answered tasks, fund them.

    Each task has ``n_items`` text items (the first gold); six wallets answer every item:
    four careful ones (90 % right), one always "pos", one at random. With ``fund`` each task
    gets 10,000 DevToken base units from ``REQUESTER``.
    """
    from datafair.chain.deploy import deployment_path, save_deployment
    from datafair.services.settlement.funding import fund_task
    from datafair.settings import load_settings
    from datafair.store.db import Database

    settings = load_settings(home=path)
    database = Database.open(settings)
    chain = EmbeddedChain(settings.chain_dir, settings.chain_id)
    deployment = deploy_all(chain, OWNER, cache_dir=settings.home / "cache")
    save_deployment(deployment, deployment_path(settings.chain_dir, chain))
    escrow = EscrowClient(chain, deployment, settings.home / "cache")
    token = TokenClient(chain, contract(chain, deployment, "DevToken", settings.home / "cache"))
    token.mint(REQUESTER, 1000 * UNIT, sender=OWNER)
    wallets = crowd_keys()
    task_ids = []
    with database.session() as session:
        for number in range(n_tasks):
            task_id = store_answered_task(session, number, n_items, seed)
            task_ids.append(task_id)
            if not fund:
                continue
            fund_task(
                session,
                escrow,
                task_id,
                10_000,
                sender=REQUESTER,
                deadline=chain.timestamp() + 3600,
                token=token.address,
            )
    database.dispose()
    chain.close()
    return Home(
        path=path,
        task_ids=task_ids,
        keys=[key for key, _ in wallets],
        addresses=[address for _, address in wallets],
        owner=OWNER,
    )
