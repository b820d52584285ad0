"""Fixtures of the collection tests (here and in ``settlement/``): sign contributed items like
a wallet would, make distinct texts and images."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from datafair.core.collection import CollectionTerms, build_contribution
from datafair.crypto.cid import compute_cid
from datafair.crypto.eip712 import ContributionMessage, SubmissionDomain, sign_contribution
from datafair.services.collection import ContributionInput, descriptor_hash


def signed_item(
    key: bytes,
    address: str,
    task: Any,
    fmt: str,
    payload: dict[str, Any],
    nonce: int,
    *,
    chain_id: int | None = None,
) -> ContributionInput:
    """A ``ContributionInput`` of ``payload`` signed by the wallet (``key``, ``address``)."""
    terms = CollectionTerms(max_bytes=10**8)
    content = build_contribution(fmt, payload, terms).content
    message = ContributionMessage(
        task.task_id, compute_cid(content), descriptor_hash(fmt), address, nonce, 1200
    )
    domain = SubmissionDomain(task.spec.chain_id if chain_id is None else chain_id)
    return ContributionInput(
        task_id=task.task_id,
        contributor=address,
        format=fmt,
        payload=payload,
        nonce=nonce,
        signature=sign_contribution(key, domain, message),
        duration_ms=1200,
    )


def png(seed: int, *, brighten: float = 0.0) -> bytes:
    """A 64x64 PNG of random 8x8 blocks (seeded); ``brighten`` adds a near-identical copy."""
    rng = np.random.default_rng(seed)
    blocks = np.kron(rng.uniform(0, 230, (8, 8)), np.ones((8, 8))) + brighten
    out = io.BytesIO()
    Image.fromarray(np.clip(blocks, 0, 255).astype(np.uint8), mode="L").save(out, format="PNG")
    return out.getvalue()


def original_text(number: int) -> str:
    """A distinct text (random words, seeded by ``number``)."""
    rng = np.random.default_rng(number)
    words = [f"word{k}" for k in rng.integers(0, 20_000, size=30)]
    return f"Contribution {number}: " + " ".join(words) + "."


@pytest.fixture
def collect() -> Any:
    """The helpers as one namespace: ``collect.signed_item``, ``collect.png``,
    ``collect.original_text``."""

    class Helpers:
        signed_item = staticmethod(signed_item)
        png = staticmethod(png)
        original_text = staticmethod(original_text)

    return Helpers


# --------------------------------------------------------------------------- settled sources

sys.path.insert(0, str(Path(__file__).parent / "settlement"))


@dataclass
class Settled:
    """A deployed world with a settled labelling task and a settled collection task."""

    world: Any
    labelling: bytes
    collection: bytes
    providers: list[tuple[bytes, str]]
    reviewers: list[tuple[bytes, str]]


@pytest.fixture
def settled(session: Any, tmp_path: Path, clock: Any) -> Iterator[Settled]:
    """Settle a labelling task (six wallets: four careful, one always "pos", one random) and a
    collection task (two providers; the second provider's last item is rejected by reviews)."""
    from settle_helpers import OWNER, crowd_keys, fund, make_world, store_answered_task
    from sqlalchemy import select

    from datafair.core.collection import CollectionTerms
    from datafair.core.task import DatasetCard
    from datafair.services.collection import (
        NearDuplicateIndexes,
        create_collection_task,
        submit_contributions,
    )
    from datafair.services.reviews import signed_review, submit_review
    from datafair.services.settlement.settle import settle_task
    from datafair.store.models import Submission, Task

    world = make_world(tmp_path / "blobs")
    labelling = store_answered_task(session, number=1, n_items=10)
    fund(session, world, labelling)
    settle_task(session, world.escrow, world.blobs, labelling, sender=OWNER)

    task = create_collection_task(
        session,
        card=DatasetCard(title="Collected reviews", languages=("en",), license="CC-BY-4.0"),
        terms=CollectionTerms(formats=("text",)),
        price_per_item=500,
        reviews_per_item=2,
        royalty_share_bps=4_000,
        clock=clock,
    )
    wallets = crowd_keys(10)
    providers, reviewers = wallets[6:8], wallets[8:10]
    entries = [
        signed_item(key, address, task, "text", {"text": original_text(100 + n)}, n)
        for n, (key, address) in enumerate([providers[0]] * 3 + [providers[1]] * 2)
    ]
    assert all(r.ok for r in submit_contributions(session, entries, indexes=NearDuplicateIndexes()))
    subs = session.scalars(
        select(Submission)
        .join(Task, Task.id == Submission.task_pk)
        .where(Task.task_id == task.task_id)
        .order_by(Submission.id)
    ).all()
    for position, submission in enumerate(subs):
        verdict = "reject" if position == 4 else "accept"
        for key, _ in reviewers:
            submit_review(
                session, signed_review(session, task.task_id, submission.id, key, verdict=verdict)
            )
    fund(session, world, task.task_id)
    settle_task(session, world.escrow, world.blobs, task.task_id, sender=OWNER)
    yield Settled(world, labelling, task.task_id, list(providers), list(reviewers))
    world.chain.close()
