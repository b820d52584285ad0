"""Collection tasks: contributors submit new items, each signed; duplicates never get paid.

Use cases:

* :func:`create_collection_task` stores an (empty) dataset for the items to come and a
  ``collection`` task over it (one "answer" per item: the contribution itself; ``k`` reviews
  per item; the royalty promise ``extra.royalty_bps``).
* :func:`submit_contributions` checks and stores contributed items. For each entry, in order
  (one line of error per refused entry, nothing stored for it):

  1. the payload is an item of a format the task collects, not empty, within the size limit
     (:func:`datafair.core.collection.build_contribution`); an image must decode;
  2. the EIP-712 ``Contribution`` signature over the item's CID recovers to the contributor
     (:func:`datafair.crypto.eip712.verify_contribution`), with an unused nonce;
  3. the item is not an exact duplicate (same CID already in the task) nor a near duplicate
     (MinHash/LSH over text shingles, pHash over images: :mod:`datafair.quality.
     near_duplicates`, thresholds given by the caller from the settings); the error names the
     repeated item's CID.

  An accepted item is stored content-addressed (images in the blob store), becomes a task item
  with one submission (the contributor's signed contribution, which reviewers then review
  through :mod:`datafair.services.reviews`) and a ``collection_items`` row holding its
  provenance and fingerprint.

Pay goes through settlement like answers (:mod:`datafair.services.settlement`): an item earns
the task's price when its reviews accept it (see ``collection_evidence`` in the settlement
bundle), nothing when they reject it. :func:`accepted_items` lists the items a settlement has
accepted, with their provenance, for releases.

Each node keeps its near-duplicate indexes in memory (:class:`NearDuplicateIndexes`), loaded
from the stored fingerprints on first use and topped up with rows added since (by any
process), so the check against a million items stays a few binary searches.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datafair.core.canonical import canonical_json, keccak256
from datafair.core.collection import (
    DEFAULT_ROYALTY_FLOOR_BPS,
    CollectionTerms,
    Contribution,
    build_contribution,
    collection_terms,
    royalty_bps,
)
from datafair.core.errors import Conflict, DatafairError, InvalidInput
from datafair.core.schemas import LabelSchema, TaskType
from datafair.core.task import DatasetCard, TaskSpec
from datafair.core.terms import task_deadline
from datafair.crypto.cid import compute_cid
from datafair.crypto.eip712 import ContributionMessage, SubmissionDomain, verify_contribution
from datafair.formats.images import grey_square, read_image
from datafair.quality.near_duplicates import (
    DEFAULT_IMAGE_DISTANCE,
    DEFAULT_TEXT_THRESHOLD,
    PHASH_SIZE,
    ImageIndex,
    TextIndex,
    perceptual_hash,
    text_signature,
)
from datafair.services.datasets import manifest_bytes
from datafair.services.tasks import (
    Clock,
    TaskInfo,
    checksum_address,
    deadline_passed,
    load_task,
    now_ms,
    task_info,
)
from datafair.store.blobs import BlobStore
from datafair.store.market_models import CollectionItem
from datafair.store.models import TASK_CLOSED, Dataset, Submission, TaskItem
from datafair.store.repositories import ItemRepository, NewItem, TaskRepository

DEFAULT_REVIEWS_PER_ITEM = 3


def descriptor_hash(fmt: str) -> bytes:
    """keccak-256 of the canonical descriptor ``{"format": fmt}`` (what a signature covers)."""
    return keccak256(canonical_json({"format": fmt}))


# ------------------------------------------------------------------------------ task creation


def collection_spec(
    *,
    title: str,
    dataset_cid: str,
    instructions: str = "",
    terms: CollectionTerms | None = None,
    price_per_item: int = 0,
    reviews_per_item: int = DEFAULT_REVIEWS_PER_ITEM,
    review_bps: int = 0,
    royalty_share_bps: int | None = None,
    chain_id: int = 31337,
    deadline: int = 0,
    token: str = "",
    salt: int = 0,
) -> TaskSpec:
    """The spec of a collection task (its ``extra`` carries terms, reviews and the promise)."""
    extra: dict[str, Any] = {
        "collection": (terms or CollectionTerms()).to_dict(),
        "reviews_per_submission": reviews_per_item,
        "review_bps": review_bps,
    }
    if royalty_share_bps is not None:
        extra["royalty_bps"] = royalty_share_bps
    return TaskSpec(
        dataset_cid=dataset_cid,
        title=title,
        schema=LabelSchema(TaskType.COLLECTION),
        instructions=instructions,
        overlap=1,
        price_per_answer=price_per_item,
        deadline=deadline,
        chain_id=chain_id,
        token=token,
        salt=salt,
        extra=extra,
    )


def create_collection_task(
    session: Session,
    *,
    card: DatasetCard,
    instructions: str = "",
    terms: CollectionTerms | None = None,
    price_per_item: int = 0,
    reviews_per_item: int = DEFAULT_REVIEWS_PER_ITEM,
    review_bps: int = 0,
    royalty_share_bps: int | None = None,
    royalty_floor_bps: int = DEFAULT_ROYALTY_FLOOR_BPS,
    chain_id: int = 31337,
    deadline: int = 0,
    token: str = "",
    salt: int = 0,
    requester: str | None = None,
    clock: Clock = time.time,
) -> TaskInfo:
    """Store the collection's empty dataset and its task, and commit; the task's info.

    ``InvalidInput`` (bad terms, a royalty share below the floor, a review share outside
    0..10000), ``Conflict`` (the same task already exists).
    """
    from datafair.services.reviews import reviews_per_submission
    from datafair.services.settlement.bundle import task_settings

    try:
        terms = terms or CollectionTerms()
        modalities = sorted(
            {
                "image" if f == "image" else "pair" if f == "preference" else "text"
                for f in terms.formats
            }
        )
        card = DatasetCard(
            title=card.title,
            description=card.description,
            license=card.license,
            languages=card.languages,
            modalities=tuple(modalities),
            source=card.source or "collection",
        )
        manifest = manifest_bytes(card, [])
        manifest_cid = compute_cid(manifest)
        spec = collection_spec(
            title=card.title,
            dataset_cid=manifest_cid,
            instructions=instructions,
            terms=terms,
            price_per_item=price_per_item,
            reviews_per_item=reviews_per_item,
            review_bps=review_bps,
            royalty_share_bps=royalty_share_bps,
            chain_id=chain_id,
            deadline=deadline,
            token=token,
            salt=salt,
        )
        collection_terms(spec.extra)
        task_deadline(spec.deadline, clock())
        royalty_bps(spec.extra, royalty_floor_bps)
        reviews_per_submission(spec)
        task_settings(spec)
        tasks = TaskRepository(session)
        if tasks.by_task_id(spec.task_id) is not None:
            raise Conflict(
                f"task 0x{spec.task_id.hex()}: already exists (change the spec or its salt)"
            )
        created = now_ms(clock)
        dataset = session.scalar(select(Dataset).where(Dataset.manifest_cid == manifest_cid))
        if dataset is None:
            dataset = Dataset(
                manifest_cid=manifest_cid,
                title=card.title,
                card=card.to_dict(),
                owner=checksum_address(requester, "requester") if requester else None,
                item_count=0,
                created_at=created,
            )
            session.add(dataset)
            session.flush()
        from datafair.store.models import Task

        task = tasks.add(
            Task(
                task_id=spec.task_id,
                dataset_id=dataset.id,
                spec=spec.to_dict(),
                task_type=str(spec.task_type),
                overlap=1,
                gold_ratio=0.0,
                chain_id=spec.chain_id,
                deadline=spec.deadline,
                status="open",
                requester=checksum_address(requester, "requester") if requester else None,
                gold_seed=keccak256(spec.task_id + b"collection"),
                created_at=created,
            )
        )
        session.flush()
        info = task_info(task, manifest_cid)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return info


# ------------------------------------------------------------------------------ the indexes


@dataclass
class _TaskIndex:
    text: TextIndex
    image: ImageIndex
    last_id: int = 0
    count: int = 0
    cid_of: dict[int, str] = field(default_factory=dict)


class NearDuplicateIndexes:
    """In-memory near-duplicate indexes per (database, task), synchronised from the store."""

    def __init__(
        self,
        text_threshold: float = DEFAULT_TEXT_THRESHOLD,
        image_distance: int = DEFAULT_IMAGE_DISTANCE,
    ) -> None:
        self.text_threshold = text_threshold
        self.image_distance = image_distance
        self._indexes: dict[tuple[str, bytes], _TaskIndex] = {}
        self._lock = threading.Lock()

    def _new(self) -> _TaskIndex:
        return _TaskIndex(TextIndex(self.text_threshold), ImageIndex(self.image_distance))

    def synced(self, session: Session, task_pk: int, task_id: bytes) -> _TaskIndex:
        """The task's index with every stored fingerprint (rebuilt if the store disagrees)."""
        bind = session.get_bind()
        key = (str(bind.engine.url) + "#" + str(id(bind.engine)), task_id)
        with self._lock:
            index = self._indexes.get(key) or self._new()
            total, newest = session.execute(
                select(func.count(CollectionItem.id), func.max(CollectionItem.id)).where(
                    CollectionItem.task_pk == task_pk
                )
            ).one()
            if int(total) < index.count or (newest or 0) < index.last_id:
                index = self._new()  # another database, or rows removed: start over
            rows = session.execute(
                select(
                    CollectionItem.id,
                    CollectionItem.item_cid,
                    CollectionItem.minhash,
                    CollectionItem.phash,
                )
                .where(CollectionItem.task_pk == task_pk, CollectionItem.id > index.last_id)
                .order_by(CollectionItem.id)
            ).all()
            texts = [(row_id, m) for row_id, _, m, _ in rows if m is not None]
            if len(texts) > 64:
                index.text.add_many(
                    [row_id for row_id, _ in texts],
                    np.frombuffer(b"".join(m for _, m in texts), dtype=np.uint8).reshape(-1, 64),
                )
            else:
                for row_id, minhash in texts:
                    index.text.add(row_id, np.frombuffer(minhash, dtype=np.uint8))
            images = [(row_id, p) for row_id, _, _, p in rows if p is not None]
            if images:
                index.image.add_many([i for i, _ in images], [p for _, p in images])
            for row_id, cid, _, _ in rows:
                index.cid_of[row_id] = cid
            index.count += len(rows)
            index.last_id = max([index.last_id] + [row[0] for row in rows])
            self._indexes[key] = index
            return index


DEFAULT_INDEXES = NearDuplicateIndexes()


# ------------------------------------------------------------------------------ submitting


@dataclass(frozen=True)
class ContributionInput:
    """One contributed item as its contributor sends it.

    ``payload`` is the format's fields (``{"text": ...}``, ``{"image": bytes}``,
    ``{"instruction", "response"}``, ``{"prompt", "chosen", "rejected"}``); ``signature`` the
    65-byte EIP-712 ``Contribution`` signature (or its hex) over the item's CID.
    """

    task_id: bytes | str
    contributor: str
    format: str
    payload: Mapping[str, Any]
    nonce: int
    signature: bytes | str
    duration_ms: int = 0


@dataclass(frozen=True)
class ContributionResult:
    """The outcome of one entry: the stored item's CID and submission id, or the error
    (``duplicate_of``: the CID of the item it repeats, for duplicates)."""

    index: int
    item_cid: str | None
    submission_id: int | None = None
    error: DatafairError | None = None
    duplicate_of: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class DuplicateItem(Conflict):
    """A contributed item repeats one the task already has (same CID or near copy)."""

    def __init__(self, message: str, repeats: str) -> None:
        super().__init__(message)
        self.repeats = repeats


@dataclass(frozen=True)
class _Prepared:
    contribution: Contribution
    cid: str
    contributor: str
    signature: bytes
    minhash: bytes | None
    phash: int | None
    width: int | None
    height: int | None
    image_meta: dict[str, Any]


def _signature(value: bytes | str) -> bytes:
    if isinstance(value, str):
        text = value[2:] if value.startswith(("0x", "0X")) else value
        try:
            value = bytes.fromhex(text)
        except ValueError:
            raise InvalidInput("signature", "is not hex", "send the 65-byte signature") from None
    if len(value) != 65:
        raise InvalidInput("signature", f"must be 65 bytes, got {len(value)}")
    return bytes(value)


def _prepare(
    entry: ContributionInput, terms: CollectionTerms, task_id: bytes, chain_id: int
) -> _Prepared:
    if isinstance(entry.nonce, bool) or not isinstance(entry.nonce, int):
        raise InvalidInput("nonce", "must be an integer")
    contribution = build_contribution(entry.format, entry.payload, terms)
    width = height = None
    image_meta: dict[str, Any] = {}
    minhash: bytes | None = None
    phash: int | None = None
    if contribution.format == "image":
        width, height, image_meta = read_image(contribution.content, "image")
        phash = perceptual_hash(grey_square(contribution.content, PHASH_SIZE))
    else:
        shingles = contribution.shingle_text
        assert shingles is not None
        minhash = text_signature(shingles).tobytes()
    cid = compute_cid(contribution.content)
    contributor = checksum_address(entry.contributor, "contributor")
    signature = _signature(entry.signature)
    message = ContributionMessage(
        task_id=task_id,
        item_cid=cid,
        descriptor_hash=descriptor_hash(contribution.format),
        contributor=contributor,
        nonce=entry.nonce,
        duration_ms=entry.duration_ms,
    )
    verify_contribution(SubmissionDomain(chain_id), message, signature)
    return _Prepared(
        contribution, cid, contributor, signature, minhash, phash, width, height, image_meta
    )


def _duplicate(session: Session, task_pk: int, prepared: _Prepared, index: _TaskIndex) -> None:
    """Raise :class:`DuplicateItem` naming the repeated item, if any."""
    same = session.scalar(
        select(CollectionItem.id).where(
            CollectionItem.task_pk == task_pk, CollectionItem.item_cid == prepared.cid
        )
    )
    if same is not None:
        raise DuplicateItem(
            f"item: duplicate of item {prepared.cid} already in this task (send new content)",
            prepared.cid,
        )
    if prepared.minhash is not None:
        match = index.text.query(np.frombuffer(prepared.minhash, dtype=np.uint8))
        what = f"similarity {match.similarity:.2f}" if match else ""
    else:
        assert prepared.phash is not None
        match = index.image.query(prepared.phash)
        what = f"{round((1 - match.similarity) * 64)} bits apart" if match else ""
    if match is not None:
        repeated = index.cid_of[match.item_id]
        raise DuplicateItem(
            f"item: near duplicate of item {repeated} ({what}; send new content)", repeated
        )


def submit_contributions(
    session: Session,
    entries: Sequence[ContributionInput],
    *,
    blobs: BlobStore | None = None,
    indexes: NearDuplicateIndexes | None = None,
    clock: Clock = time.time,
) -> list[ContributionResult]:
    """Check and store contributed items (see the module rules); one result per entry.

    Accepted entries are committed together; a refused entry stores nothing. Images need
    ``blobs``. ``indexes`` default to the process-wide :data:`DEFAULT_INDEXES`.
    """
    indexes = indexes or DEFAULT_INDEXES
    results: list[ContributionResult] = []
    try:
        for position, entry in enumerate(entries):
            try:
                results.append(_submit_one(session, position, entry, blobs, indexes, clock))
            except DatafairError as error:
                repeats = error.repeats if isinstance(error, DuplicateItem) else None
                results.append(ContributionResult(position, None, None, error, repeats))
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return results


def submit_contribution(
    session: Session,
    entry: ContributionInput,
    *,
    blobs: BlobStore | None = None,
    indexes: NearDuplicateIndexes | None = None,
    clock: Clock = time.time,
) -> ContributionResult:
    """One entry of :func:`submit_contributions`; raises its error instead of returning it."""
    result = submit_contributions(session, [entry], blobs=blobs, indexes=indexes, clock=clock)[0]
    if result.error is not None:
        raise result.error
    return result


def _submit_one(
    session: Session,
    position: int,
    entry: ContributionInput,
    blobs: BlobStore | None,
    indexes: NearDuplicateIndexes,
    clock: Clock,
) -> ContributionResult:
    task = load_task(session, entry.task_id)
    if task.task_type != TaskType.COLLECTION:
        raise InvalidInput(
            "task_id", f"task 0x{task.task_id.hex()} is a {task.task_type} task, not a collection"
        )
    spec = TaskSpec.from_dict(task.spec)
    terms = collection_terms(spec.extra)
    prepared = _prepare(entry, terms, task.task_id, spec.chain_id)
    tasks = TaskRepository(session)
    status = tasks.lock_status([task.id]).get(task.id)
    if status == TASK_CLOSED or deadline_passed(task.deadline, clock()):
        raise Conflict(f"task 0x{task.task_id.hex()}: closed, it takes no more items")
    index = indexes.synced(session, task.id, task.task_id)
    _duplicate(session, task.id, prepared, index)
    used = session.scalar(
        select(Submission.id).where(
            Submission.task_pk == task.id,
            Submission.contributor == prepared.contributor,
            Submission.nonce == entry.nonce,
        )
    )
    if used is not None:
        raise Conflict(
            f"nonce: {entry.nonce} was already used by {prepared.contributor} in this task "
            "(a replay; sign again with a fresh nonce)"
        )
    if prepared.contribution.format == "image":
        if blobs is None:
            raise InvalidInput("image", "this node keeps no blob store", "open it with a home")
        blobs.put(prepared.contribution.content)
    created = now_ms(clock)
    contribution = prepared.contribution
    ItemRepository(session).add_many(
        [
            NewItem(
                cid=prepared.cid,
                kind=contribution.kind,
                size=len(contribution.content),
                text=contribution.text,
                width=prepared.width,
                height=prepared.height,
                meta={**contribution.meta, **prepared.image_meta, "source": "collection"},
            )
        ],
        now_ms=created,
    )
    next_position = session.scalar(
        select(func.coalesce(func.max(TaskItem.position) + 1, 0)).where(TaskItem.task_pk == task.id)
    )
    task_item = TaskItem(
        task_pk=task.id,
        item_cid=prepared.cid,
        position=int(next_position or 0),
        is_gold=False,
        capacity=1,
        answers=1,
        reserved=0,
    )
    session.add(task_item)
    session.flush()
    answer = canonical_json(contribution.descriptor)
    submission = Submission(
        task_pk=task.id,
        task_item_id=task_item.id,
        item_cid=prepared.cid,
        contributor=prepared.contributor,
        answer=answer.decode("utf-8"),
        answer_hash=keccak256(answer),
        nonce=entry.nonce,
        duration_ms=entry.duration_ms,
        signature=prepared.signature,
        accepted_at=created,
    )
    session.add(submission)
    session.flush()
    row = CollectionItem(
        task_pk=task.id,
        item_cid=prepared.cid,
        submission_id=submission.id,
        contributor=prepared.contributor,
        format=contribution.format,
        minhash=prepared.minhash,
        phash=prepared.phash,
        created_at=created,
    )
    session.add(row)
    session.flush()
    if prepared.minhash is not None:
        index.text.add(row.id, np.frombuffer(prepared.minhash, dtype=np.uint8))
    else:
        assert prepared.phash is not None
        index.image.add(row.id, prepared.phash)
    index.cid_of[row.id] = prepared.cid
    index.count += 1
    index.last_id = max(index.last_id, row.id)
    return ContributionResult(position, prepared.cid, submission.id)


# ------------------------------------------------------------------------------ provenance


@dataclass(frozen=True)
class CollectedItem:
    """A contributed item with its provenance: contributor, signature, format, reviews."""

    item_cid: str
    format: str
    contributor: str
    signature: bytes
    reviews: tuple[tuple[str, str | None, int | None], ...]


def collected_items(session: Session, task_id: bytes | str) -> list[CollectedItem]:
    """Every item contributed to the task, in submission order, with its reviews."""
    from datafair.store.models import Review

    task = load_task(session, task_id)
    rows = session.execute(
        select(CollectionItem, Submission.signature)
        .join(Submission, Submission.id == CollectionItem.submission_id)
        .where(CollectionItem.task_pk == task.id)
        .order_by(CollectionItem.id)
    ).all()
    reviews: dict[int, list[tuple[str, str | None, int | None]]] = {}
    for review in session.scalars(
        select(Review)
        .join(Submission, Submission.id == Review.submission_id)
        .where(Submission.task_pk == task.id)
        .order_by(Review.id)
    ):
        reviews.setdefault(review.submission_id, []).append(
            (review.reviewer, review.verdict, review.rating)
        )
    return [
        CollectedItem(
            item.item_cid,
            item.format,
            item.contributor,
            bytes(signature),
            tuple(reviews.get(item.submission_id, [])),
        )
        for item, signature in rows
    ]


def describe(item: CollectedItem) -> dict[str, Any]:
    """The provenance record of an item as JSON-ready data (what a release publishes)."""
    record: dict[str, Any] = json.loads(
        canonical_json(
            {
                "item": item.item_cid,
                "format": item.format,
                "contributor": item.contributor,
                "signature": "0x" + item.signature.hex(),
                "reviews": [{"reviewer": r, "verdict": v, "rating": s} for r, v, s in item.reviews],
            }
        )
    )
    return record
