"""Collection tasks: signed items stored with provenance; duplicates, near duplicates, empty,
oversized, wrong-format and badly signed items refused in one line, with nothing stored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datafair.core.collection import CollectionTerms
from datafair.core.errors import Conflict, InvalidInput, SignatureError
from datafair.core.task import DatasetCard
from datafair.services.collection import (
    NearDuplicateIndexes,
    collected_items,
    create_collection_task,
    submit_contribution,
    submit_contributions,
)
from datafair.services.reviews import next_review
from datafair.store.blobs import BlobStore
from datafair.store.market_models import CollectionItem
from datafair.store.models import Item, Submission


@pytest.fixture
def task(session: Session, clock: Any) -> Any:
    return create_collection_task(
        session,
        card=DatasetCard(title="Collected texts", languages=("en",)),
        terms=CollectionTerms(max_bytes=2_000),
        price_per_item=100,
        reviews_per_item=2,
        royalty_share_bps=2_500,
        clock=clock,
    )


def _counts(session: Session) -> tuple[int, int, int]:
    return (
        session.scalar(select(func.count(CollectionItem.id))) or 0,
        session.scalar(select(func.count(Submission.id))) or 0,
        session.scalar(select(func.count()).select_from(Item)) or 0,
    )


def test_every_format_is_stored_with_provenance(
    collect: Any, session: Session, task: Any, contributors: Any, clock: Any, tmp_path: Path
) -> None:
    alice = contributors[0]
    entries = [
        collect.signed_item(
            alice.key, alice.address, task, "text", {"text": collect.original_text(1)}, 1
        ),
        collect.signed_item(
            alice.key,
            alice.address,
            task,
            "instruction",
            {"instruction": "Name a prime above 10.", "response": "Eleven is prime."},
            2,
        ),
        collect.signed_item(
            alice.key,
            alice.address,
            task,
            "preference",
            {"prompt": "Say hi", "chosen": "Hello there!", "rejected": "no"},
            3,
        ),
        collect.signed_item(alice.key, alice.address, task, "image", {"image": collect.png(1)}, 4),
    ]
    results = submit_contributions(
        session, entries, blobs=BlobStore(tmp_path), indexes=NearDuplicateIndexes(), clock=clock
    )
    assert [r.error for r in results] == [None] * 4
    stored = collected_items(session, task.task_id)
    assert [s.format for s in stored] == ["text", "instruction", "preference", "image"]
    assert {s.contributor for s in stored} == {alice.address}
    assert stored[0].item_cid == results[0].item_cid
    kinds = {i.cid: i.kind for i in session.scalars(select(Item))}
    assert [kinds[s.item_cid] for s in stored] == ["text", "text", "pair", "image"]
    # reviewers get the contributed items through the ordinary review flow
    target = next_review(session, task.task_id, contributors[1].address)
    assert target is not None and target.item_cid == stored[0].item_cid
    assert target.answer == {"format": "text"}


def test_duplicates_are_refused_with_the_repeated_item(
    collect: Any, session: Session, task: Any, contributors: Any, clock: Any, tmp_path: Path
) -> None:
    alice, bob = contributors[0], contributors[1]
    indexes = NearDuplicateIndexes(text_threshold=0.8, image_distance=6)
    blobs = BlobStore(tmp_path)
    text = collect.original_text(7)
    first = submit_contribution(
        session,
        collect.signed_item(alice.key, alice.address, task, "text", {"text": text}, 1),
        indexes=indexes,
        clock=clock,
    )
    image = submit_contribution(
        session,
        collect.signed_item(alice.key, alice.address, task, "image", {"image": collect.png(3)}, 2),
        blobs=blobs,
        indexes=indexes,
        clock=clock,
    )
    before = _counts(session)
    exact = collect.signed_item(bob.key, bob.address, task, "text", {"text": text}, 1)
    with pytest.raises(Conflict, match=f"^item: duplicate of item {first.item_cid}"):
        submit_contribution(session, exact, indexes=indexes, clock=clock)
    near = collect.signed_item(
        bob.key, bob.address, task, "text", {"text": text.upper() + " Indeed"}, 2
    )
    with pytest.raises(Conflict, match=f"^item: near duplicate of item {first.item_cid}"):
        submit_contribution(session, near, indexes=indexes, clock=clock)
    brighter = collect.signed_item(
        bob.key, bob.address, task, "image", {"image": collect.png(3, brighten=4.0)}, 3
    )
    with pytest.raises(Conflict, match=f"near duplicate of item {image.item_cid}"):
        submit_contribution(session, brighter, blobs=blobs, indexes=indexes, clock=clock)
    assert _counts(session) == before
    # a fresh index (another process) rebuilds from the stored fingerprints
    results = submit_contributions(session, [near], indexes=NearDuplicateIndexes(), clock=clock)
    assert results[0].duplicate_of == first.item_cid
    other = collect.signed_item(
        bob.key, bob.address, task, "text", {"text": collect.original_text(8)}, 4
    )
    assert submit_contribution(session, other, indexes=indexes, clock=clock).submission_id


@pytest.mark.parametrize(
    ("fmt", "payload", "error", "match"),
    [
        ("text", {"text": "   "}, InvalidInput, r"^text: is empty"),
        ("text", {"text": "x" * 2_001}, InvalidInput, r"^item: is 2001 bytes, over"),
        ("audio", {"audio": "..."}, InvalidInput, r"^format: unknown format 'audio'"),
        ("text", {"body": "hello"}, InvalidInput, r"^item: a text item has exactly"),
        ("image", {"image": b"not an image"}, InvalidInput, r"^image: is not a readable"),
        ("image", {"image": b""}, InvalidInput, r"^image: is empty"),
    ],
)
def test_bad_items_are_refused_in_one_line(
    collect: Any,
    session: Session,
    task: Any,
    contributors: Any,
    clock: Any,
    fmt: str,
    payload: dict[str, Any],
    error: type[Exception],
    match: str,
    tmp_path: Path,
) -> None:
    alice = contributors[0]
    from datafair.crypto.eip712 import SubmissionDomain  # noqa: F401 - signing below
    from datafair.services.collection import ContributionInput

    entry = ContributionInput(task.task_id, alice.address, fmt, payload, 1, bytes(65))
    before = _counts(session)
    with pytest.raises(error, match=match) as raised:
        submit_contribution(session, entry, blobs=BlobStore(tmp_path), clock=clock)
    assert "\n" not in str(raised.value)
    assert _counts(session) == before


def test_wrong_type_signature_and_replay_are_refused(
    collect: Any, session: Session, contributors: Any, clock: Any
) -> None:
    alice, bob = contributors[0], contributors[1]
    texts_only = create_collection_task(
        session,
        card=DatasetCard(title="texts only"),
        terms=CollectionTerms(formats=("text",)),
        clock=clock,
    )
    with pytest.raises(InvalidInput, match=r"^format: this task does not collect image items"):
        submit_contribution(
            session,
            collect.signed_item(
                alice.key, alice.address, texts_only, "image", {"image": collect.png(1)}, 1
            ),
            clock=clock,
        )
    forged = collect.signed_item(
        bob.key, alice.address, texts_only, "text", {"text": "hi there"}, 1
    )
    with pytest.raises(SignatureError, match="not by the contributor"):
        submit_contribution(session, forged, clock=clock)
    other_chain = collect.signed_item(
        alice.key, alice.address, texts_only, "text", {"text": "hi there"}, 1, chain_id=1
    )
    with pytest.raises(SignatureError):
        submit_contribution(session, other_chain, clock=clock)
    submit_contribution(
        session,
        collect.signed_item(
            alice.key, alice.address, texts_only, "text", {"text": collect.original_text(1)}, 5
        ),
        clock=clock,
    )
    with pytest.raises(Conflict, match=r"^nonce: 5 was already used"):
        submit_contribution(
            session,
            collect.signed_item(
                alice.key, alice.address, texts_only, "text", {"text": collect.original_text(2)}, 5
            ),
            clock=clock,
        )


def test_task_creation_checks_the_promise_and_terms(
    collect: Any, session: Session, clock: Any
) -> None:
    card = DatasetCard(title="promises")
    with pytest.raises(InvalidInput, match=r"^royalty_bps: 500 is outside 1000\.\.9500"):
        create_collection_task(session, card=card, royalty_share_bps=500, clock=clock)
    with pytest.raises(InvalidInput, match=r"^royalty_bps: 1500 is outside 2000"):
        create_collection_task(
            session, card=card, royalty_share_bps=1_500, royalty_floor_bps=2_000, clock=clock
        )
    with pytest.raises(InvalidInput, match=r"^extra\.collection\.formats"):
        create_collection_task(session, card=card, terms=CollectionTerms(formats=()), clock=clock)
    info = create_collection_task(session, card=card, clock=clock)
    assert info.spec.extra.get("royalty_bps") is None  # the default promise, 30 %
    with pytest.raises(Conflict, match="already exists"):
        create_collection_task(session, card=card, clock=clock)
