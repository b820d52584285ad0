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
from datafair.core.schemas import LabelSchema, TaskType
from datafair.core.task import TaskSpec
from datafair.crypto.cid import compute_cid
from datafair.services.settlement.bundle import EpochInputs, Reviews, Submissions
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


def fund(session: Session, world: World, task_id: bytes, amount: int = 10_000) -> Any:
    """Fund ``task_id`` with ``amount`` of the dev token from ``REQUESTER``, for an hour."""
    from datafair.services.settlement.funding import fund_task

    return fund_task(
        session,
        world.escrow,
        task_id,
        amount,
        sender=REQUESTER,
        deadline=world.deadline,
        token=world.token.address,
    )


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

HELD: dict[bytes, list[Any]] = {}
"""Signed answers :func:`store_answered_task` held back (``hold_back``), by task id."""


def _store_dataset(session: Session, items: list[Any], title: str, modality: str) -> str:
    """Store ``items`` (``NewItem``) and a dataset over them; the dataset's manifest CID."""
    from datafair.core.canonical import canonical_json
    from datafair.core.task import DatasetCard
    from datafair.crypto.cid import compute_cid
    from datafair.store.repositories import DatasetRepository, ItemRepository

    ItemRepository(session).add_many(items, now_ms=0)
    card = DatasetCard(title=title, modalities=(modality,))
    cids = [item.cid for item in items]
    manifest = compute_cid(canonical_json({"card": card.to_dict(), "items": cids}))
    DatasetRepository(session).create(
        manifest_cid=manifest, card=card.to_dict(), item_cids=cids, now_ms=0
    )
    session.commit()
    return manifest


def _signed(
    task_id: bytes, chain_id: int, wallet: tuple[bytes, str], cid: str, value: Any, nonce: int
) -> Any:
    """A ``SubmissionInput`` of the canonical ``value`` signed by ``wallet`` (key, address)."""
    from datafair.core.canonical import canonical_json, keccak256
    from datafair.crypto.eip712 import SubmissionDomain, SubmissionMessage, sign_submission
    from datafair.services.submissions import SubmissionInput

    key, address = wallet
    message = SubmissionMessage(
        task_id, cid, keccak256(canonical_json(value)), address, nonce, 1000 + nonce
    )
    return SubmissionInput(
        task_id=task_id,
        item_cid=cid,
        contributor=address,
        answer=value,
        nonce=nonce,
        duration_ms=1000 + nonce,
        signature=sign_submission(key, SubmissionDomain(chain_id), message),
    )


def store_answered_task(
    session: Session,
    number: int = 0,
    n_items: int = 10,
    seed: int = 0,
    extra: dict[str, Any] | None = None,
    hold_back: int = 0,
) -> bytes:
    """Store a task over ``n_items`` texts (the first gold) answered by :func:`crowd_keys`.

    Four careful wallets are 90 % right, one always says "pos", one answers at random; the
    data depend only on ``number``, ``n_items`` and ``seed``; ``extra`` goes in the spec.
    The answers to the last ``hold_back`` items are signed but not submitted: they are in
    :data:`HELD`. Returns the task id (the true labels are in :data:`TRUTH`).
    """
    import random

    from datafair.core.schemas import ItemKind, LabelSchema, TaskType
    from datafair.core.task import TaskSpec
    from datafair.crypto.cid import compute_cid
    from datafair.services.submissions import submit_many
    from datafair.services.tasks import create_task
    from datafair.store.repositories import NewItem

    rng = random.Random(seed * 1_000 + number)
    wallets = crowd_keys()[:6]
    texts = [f"home text {seed}-{number}-{i}" for i in range(n_items)]
    items = [
        NewItem(compute_cid(t.encode()), ItemKind.TEXT, len(t.encode()), text=t) for t in texts
    ]
    manifest = _store_dataset(session, items, "settlement texts", "text")
    cids = [item.cid for item in items]
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
    entries = []
    for position, cid in enumerate(cids):
        for who, wallet in enumerate(wallets):
            if who < 4:
                right = rng.random() < 0.9
                value = truth[position] if right else ("neg", "pos")[truth[position] == "neg"]
            elif who == 4:
                value = "pos"
            else:
                value = rng.choice(["pos", "neg"])
            entries.append(_signed(info.task_id, spec.chain_id, wallet, cid, value, position))
    now = len(entries) - hold_back * len(wallets)
    assert all(result.ok for result in submit_many(session, entries[:now]))
    HELD[info.task_id] = entries[now:]
    TRUTH[info.task_id] = dict(zip(cids, truth, strict=True))
    return info.task_id


def prepare_home(
    path: Path,
    n_tasks: int = 1,
    n_items: int = 10,
    seed: int = 0,
    *,
    fund: bool = True,
    hold_back: int = 0,
) -> Home:
    """Deploy on the home's embedded chain, store ``n_tasks`` answered tasks, fund them.

    Each task has ``n_items`` text items (the first gold); six wallets answer every item:
    four careful ones (90 % right), one always "pos", one at random (the answers to the last
    ``hold_back`` items are kept in :data:`HELD`). With ``fund`` each task gets 10,000
    DevToken base units from ``REQUESTER``.
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
            task_id = store_answered_task(session, number, n_items, seed, hold_back=hold_back)
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


# ------------------------------------------------------------------------------- structured tasks

CAREFUL, SLOPPY, GOLD_FAILS, GOLD_PASSES = (0, 1, 2, 3), 4, 5, 6
"""Roles of :func:`store_structured_task`'s wallets (indices into ``crowd_keys(7)``)."""

STRUCTURED_CLASSES = {
    "multilabel": ("cat", "dog", "bird", "fish"),
    "spans": ("PER", "LOC"),
    "boxes": ("car", "bus"),
    "transcription": (),
}
SPOTS = [(0, 5), (8, 13), (16, 21), (24, 29), (32, 37)]  # span offsets the crowd uses
CORNERS = [(5, 5), (55, 5), (5, 45), (55, 45)]  # 30 x 30 boxes on a 100 x 80 image
PHRASES = ["invoice paid in full", "parcel left at door", "meeting moved to noon", "rent due"]


def _box(x: int, y: int, label: str, size: int = 30) -> dict[str, Any]:
    return {"x": x, "y": y, "w": size, "h": size, "label": label}


# The gold answer of item 0, an answer that scores below 0.5 against it and one scoring above.
STRUCTURED_GOLD: dict[str, tuple[Any, Any, Any]] = {
    # Jaccard 1/4 and 2/3
    "multilabel": (["cat", "dog"], ["cat", "bird", "fish"], ["cat", "dog", "bird"]),
    # span F1 2*1/(4+2) = 1/3 and 2*2/(3+2) = 0.8
    "spans": (
        [{"start": 0, "end": 5, "label": "PER"}, {"start": 8, "end": 13, "label": "LOC"}],
        [
            {"start": 0, "end": 5, "label": "PER"},
            {"start": 16, "end": 21, "label": "LOC"},
            {"start": 24, "end": 29, "label": "LOC"},
            {"start": 32, "end": 37, "label": "PER"},
        ],
        [
            {"start": 0, "end": 5, "label": "PER"},
            {"start": 8, "end": 13, "label": "LOC"},
            {"start": 16, "end": 21, "label": "PER"},
        ],
    ),
    # box F1 1/3 and 0.8
    "boxes": (
        [_box(5, 5, "car"), _box(55, 5, "bus")],
        [_box(5, 5, "car"), _box(5, 45, "car"), _box(55, 45, "bus"), _box(40, 40, "car", 10)],
        [_box(6, 5, "car"), _box(55, 5, "bus"), _box(5, 45, "car")],
    ),
    # similarity 1 - 14/20 = 0.3 and 1 - 1/20 = 0.95
    "transcription": ("datafair ledger 2024", "ledger", "datafair ledgr 2024"),
}


def _truth(task_type: str, rng: Any) -> Any:
    classes = STRUCTURED_CLASSES[task_type]
    if task_type == "multilabel":
        return rng.sample(list(classes), rng.randint(1, 3))
    if task_type == "spans":
        spots = rng.sample(SPOTS, rng.randint(1, 3))
        return [{"start": a, "end": b, "label": rng.choice(classes)} for a, b in spots]
    if task_type == "boxes":
        return [_box(x, y, rng.choice(classes)) for x, y in rng.sample(CORNERS, rng.randint(1, 3))]
    return f"{rng.choice(PHRASES)} {rng.randint(100, 999)}"


def _careful(task_type: str, truth: Any, rng: Any) -> Any:
    """The truth, or (15 %) a small slip: one class toggled, one span or box dropped or moved,
    one character changed; boxes are drawn within a pixel of the object."""
    slip = rng.random() < 0.15
    if task_type == "multilabel":
        if not slip:
            return list(truth)
        toggled = rng.choice(STRUCTURED_CLASSES[task_type])
        return [c for c in truth if c != toggled] + ([] if toggled in truth else [toggled])
    if task_type == "spans":
        if slip and len(truth) > 1:
            return truth[1:]
        return [dict(s, end=s["end"] - 1) if slip else dict(s) for s in truth]
    if task_type == "boxes":
        kept = truth[1:] if slip and len(truth) > 1 else truth
        return [
            dict(b, x=b["x"] + rng.choice([-1, 0, 1]), y=b["y"] + rng.choice([-1, 0, 1]))
            for b in kept
        ]
    if not slip:
        return truth
    at = rng.randrange(len(truth))
    return truth[:at] + "x" + truth[at + 1 :]


def _sloppy(task_type: str, truth: Any, rng: Any) -> Any:
    """The truth 30 % of the time, else a guess."""
    if rng.random() < 0.3:
        return truth
    if task_type == "boxes":
        classes = STRUCTURED_CLASSES[task_type]
        return [
            _box(rng.randint(0, 60), rng.randint(0, 40), rng.choice(classes), rng.randint(10, 30))
            for _ in range(rng.randint(1, 3))
        ]
    return _truth(task_type, rng)


@dataclass(frozen=True)
class StructuredTask:
    """A stored structured task, its gold item and answer, and the wallets by role index."""

    task_id: bytes
    task_type: str
    gold_cid: str
    gold: Any
    wallets: list[str]


def store_structured_task(
    session: Session,
    task_type: str,
    *,
    n_items: int = 10,
    seed: int = 0,
    shuffle: int | None = None,
    extra: dict[str, Any] | None = None,
) -> StructuredTask:
    """Store a ``task_type`` task over ``n_items`` items (images for boxes, else texts), item 0
    gold, answered by ``crowd_keys(7)``.

    Wallets 0-3, 5 and 6 are careful (the truth, with an occasional slip), 4 is sloppy (the
    truth 30 % of the time, else a guess); on the gold item 5 answers below the gold pass score
    and 6 above it (:data:`STRUCTURED_GOLD`). ``shuffle`` (a seed) stores the same signed
    entries in another order. Every answer is put in canonical form by the task's schema.
    """
    import random

    from datafair.core.schemas import ItemContext, ItemKind, LabelSchema, TaskType
    from datafair.core.task import TaskSpec
    from datafair.crypto.cid import compute_cid
    from datafair.services.submissions import submit_many
    from datafair.services.tasks import create_task
    from datafair.store.repositories import NewItem

    rng = random.Random(f"{task_type} {seed}")
    kind = TaskType(task_type)
    wallets = crowd_keys(7)
    if kind is TaskType.BOXES:
        blobs = [f"image {seed}-{i}".encode() for i in range(n_items)]
        items = [
            NewItem(compute_cid(b), ItemKind.IMAGE, len(b), width=100, height=80) for b in blobs
        ]
        context = ItemContext(ItemKind.IMAGE, width=100, height=80)
        manifest = _store_dataset(session, items, "settlement images", "image")
    else:
        texts = [f"{task_type} text {seed}-{i} ".ljust(40, ".") for i in range(n_items)]
        items = [
            NewItem(compute_cid(t.encode()), ItemKind.TEXT, len(t.encode()), text=t) for t in texts
        ]
        context = ItemContext(ItemKind.TEXT, text_length=40)
        manifest = _store_dataset(session, items, "settlement texts", "text")
    schema = LabelSchema(kind, STRUCTURED_CLASSES[task_type])
    spec = TaskSpec(
        dataset_cid=manifest,
        title=f"{task_type} settlement task {seed}",
        schema=schema,
        overlap=7,
        price_per_answer=PRICE,
        salt=seed,
        extra=dict(extra or {}),
    )
    cids = [item.cid for item in items]
    gold, fails, passes = (schema.validate(a, context) for a in STRUCTURED_GOLD[task_type])
    info = create_task(session, spec, gold={cids[0]: gold}, gold_seed=bytes(32))
    entries = []
    for position, cid in enumerate(cids):
        truth = gold if position == 0 else schema.validate(_truth(task_type, rng), context)
        answers = [_careful(task_type, truth, rng) for _ in range(7)]
        answers[SLOPPY] = _sloppy(task_type, truth, rng)
        if position == 0:
            answers[GOLD_FAILS], answers[GOLD_PASSES] = fails, passes
        for who, value in enumerate(answers):
            canonical = schema.validate(value, context)
            entries.append(
                _signed(info.task_id, spec.chain_id, wallets[who], cid, canonical, position)
            )
    if shuffle is not None:
        random.Random(shuffle).shuffle(entries)
    results = submit_many(session, entries)
    assert all(result.ok for result in results), [r.error for r in results if not r.ok]
    return StructuredTask(
        info.task_id, task_type, cids[0], gold, [address for _, address in wallets]
    )


ACCOUNTS = sorted(address for _, address in crowd_keys(7))


def epoch_inputs(
    answers: list[list[str]],
    verdicts: dict[int, list[bool | None]],
    review_bps: int = 2_000,
    *,
    extra: dict[str, Any] | None = None,
    epoch: int = 1,
    paid_in: list[int] | None = None,
    held: dict[str, int] | None = None,
) -> EpochInputs:
    """Epoch inputs without signatures: ``answers[i]`` are the labels accounts 0.. gave item
    ``i`` (two classes, ``a`` and ``b``); ``verdicts[r]`` the verdicts of reviewer ``r`` on
    every submission, in row order; ``paid_in`` the epoch of each row (default ``epoch``);
    ``held`` the pay carried in."""
    n_items = len(answers)
    items = sorted(compute_cid(f"information item {i}".encode()) for i in range(n_items))
    spec = TaskSpec(
        dataset_cid=items[0],
        title="information",
        schema=LabelSchema(TaskType.CLASSIFICATION, ("a", "b")),
        price_per_answer=1_000_000,
        extra={"review_bps": review_bps, **(extra or {})},
    )
    item = [i for i in range(n_items) for _ in answers[i]]
    contributor = [c for i in range(n_items) for c in range(len(answers[i]))]
    review_rows = [(row, r, v) for r, vs in sorted(verdicts.items()) for row, v in enumerate(vs)]
    review_rows.sort(key=lambda entry: (entry[0], entry[1]))
    return unsigned_inputs(
        spec,
        items,
        ACCOUNTS,
        item,
        contributor,
        [f'"{answers[i][c]}"' for i, c in zip(item, contributor, strict=True)],
        epoch=epoch,
        paid_in=paid_in,
        reviews=Reviews(
            submission=[row for row, _, _ in review_rows],
            reviewer=[r for _, r, _ in review_rows],
            verdict=[None if v is None else ("accept" if v else "reject") for *_, v in review_rows],
            rating=[None] * len(review_rows),
            signature=[None] * len(review_rows),
        ),
        held=held,
    )


def unsigned_inputs(
    spec: TaskSpec,
    items: list[str],
    accounts: list[str],
    item: list[int],
    contributor: list[int],
    answer: list[str],
    *,
    epoch: int = 1,
    paid_in: list[int] | None = None,
    reviews: Reviews | None = None,
    gold: dict[str, Any] | None = None,
    method: str = "mv",
    fee_bps: int = 0,
    held: dict[str, int] | None = None,
) -> EpochInputs:
    """Epoch inputs for ``spec`` with placeholder signatures, nonces and times: row ``r`` is
    ``accounts[contributor[r]]``'s canonical ``answer[r]`` to ``items[item[r]]``, paid in
    ``paid_in[r]`` (default ``epoch``); no gold openings (``compute_epoch`` does not read them)."""
    rows = len(item)
    return EpochInputs(
        task_id=spec.task_id,
        spec=spec.to_dict(),
        chain_id=31337,
        escrow=OWNER,
        token=REQUESTER,
        epoch=epoch,
        submissions=Submissions(
            items=items,
            accounts=accounts,
            item=item,
            contributor=contributor,
            answer=answer,
            nonce=list(range(rows)),
            duration_ms=[1000] * rows,
            signature=[b"\x01" * 65] * rows,
            epoch=paid_in if paid_in is not None else [epoch] * rows,
        ),
        reviews=reviews if reviews is not None else Reviews(),
        gold=dict(gold or {}),
        gold_openings={},
        gold_commitment=b"\x00" * 32,
        method=method,
        params={},
        fee_bps=fee_bps,
        held=dict(held or {}),
    )


def fail_when_bundled(monkeypatch: Any) -> Any:
    """Make recording an epoch as ``bundled`` fail (the database went away at that commit);
    returns the real ``_save`` to put back with ``monkeypatch.setattr``."""
    from datafair.services.settlement import settle as settle_module

    save = settle_module._Machine._save

    def failing_save(self: Any, row: Any, **changes: Any) -> None:
        if changes.get("state") == "bundled":
            raise RuntimeError("the database went away")
        save(self, row, **changes)

    monkeypatch.setattr(settle_module._Machine, "_save", failing_save)
    return save
