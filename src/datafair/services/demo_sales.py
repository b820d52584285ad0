"""The data-market half of the demo: collect, release, sell, pay royalties.

After the labelling task is settled (:mod:`datafair.services.demo_money`), on the same
embedded chain:

1. **Collection.** A small collection task asks for new product-review texts. Four skilled
   contributors each send three original texts (signed ``Contribution``\\ s); a spammer resends
   one of them (refused: duplicate) and a near copy of another (refused: near duplicate); a
   careless contributor sends a junk text that both reviewers reject. Two skilled reviewers
   sign a verdict on every item; the task is funded and settled like any task (accepted items
   earn the price per item, the junk nothing) and its contributors claim.
2. **Release.** The labelled dataset and the collected items are released together: contribution
   tables from both settlement bundles, royalty weights by the default rule, the card, and the
   dataset token registered to the requester with the weights' root; the release is audited.
3. **Sales.** The requester lists it; three simulated buyers buy a licence each (the price split
   on chain: fee, contributors' royalty pool, owner).
4. **Royalties.** Every contributor with a weight claims, in one ``claim_many`` each; what
   reached them is reported by kind of contributor (spammers hold no weight, so 0).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from datafair.chain.market import MarketClient
from datafair.core.collection import DEFAULT_ROYALTY_BPS, CollectionTerms
from datafair.core.task import DatasetCard
from datafair.crypto.cid import compute_cid
from datafair.crypto.eip712 import ContributionMessage, SubmissionDomain, sign_contribution
from datafair.services.collection import (
    ContributionInput,
    NearDuplicateIndexes,
    create_collection_task,
    descriptor_hash,
    submit_contributions,
)
from datafair.services.demo_money import DemoMarket
from datafair.services.market import (
    buy_release,
    claim_royalties,
    list_release,
    release_weights,
)
from datafair.services.release_files import download_secret
from datafair.services.releases import audit_release, release
from datafair.services.reviews import signed_review, submit_review
from datafair.services.settlement.claims import claim_all, payout_amounts
from datafair.services.settlement.funding import fund_task
from datafair.services.settlement.settle import settle_task
from datafair.settings import Settings
from datafair.sim import ContributorKind, Population
from datafair.sim.population import address_of, derive_key
from datafair.store.blobs import BlobStore
from datafair.store.market_models import Release
from datafair.store.models import Submission, Task

PRICE_PER_ITEM = 10**16
"""What the collection task pays per accepted item (0.01 of an 18-decimal token)."""
SALE_PRICE = 10**18
"""Price of one licence of the demo release (1 token)."""
BUYERS = 3
ITEMS_PER_PROVIDER = 3

_WORDS = [
    "battery",
    "charger",
    "sturdy",
    "light",
    "heavy",
    "quiet",
    "loud",
    "bright",
    "warm",
    "cold",
    "fast",
    "slow",
    "cheap",
    "pricey",
    "handle",
    "lid",
    "strap",
    "zipper",
    "button",
    "screen",
    "cable",
    "plug",
    "case",
    "bag",
    "cup",
    "bottle",
    "lamp",
    "chair",
    "desk",
    "kettle",
    "blender",
    "grinder",
    "speaker",
    "headset",
    "keyboard",
    "mouse",
    "tent",
    "jacket",
    "boots",
    "gloves",
    "scarf",
    "arrived",
    "broke",
    "lasted",
    "cracked",
    "fits",
    "leaks",
    "hums",
    "glows",
    "folds",
    "clicks",
    "rattles",
    "works",
    "fails",
    "daily",
    "weekly",
    "travel",
    "office",
    "kitchen",
    "garden",
    "camping",
    "winter",
    "summer",
    "gift",
    "refund",
    "replaced",
    "easy",
    "awkward",
    "solid",
    "flimsy",
    "soft",
    "rough",
    "smooth",
    "clean",
    "noisy",
    "tiny",
    "huge",
    "perfect",
    "decent",
    "poor",
]


@dataclass
class SalesReport:
    """What the market half of the demo did and where the buyers' money went."""

    collection_task: str = ""
    collected: int = 0
    refused_duplicates: int = 0
    rejected_by_review: int = 0
    collection_paid: int = 0
    release_id: int = 0
    manifest_cid: str = ""
    dataset_token: int = 0
    weights: int = 0
    royalty_share: float = 0.0
    price: int = 0
    sales: int = 0
    gross: int = 0
    fee: int = 0
    owner: int = 0
    royalties: int = 0
    royalties_claimed: int = 0
    royalties_by_kind: dict[str, int] = field(default_factory=dict)
    audit_ok: bool = False

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _original_text(rng: np.random.Generator) -> str:
    words = rng.choice(_WORDS, size=22)
    return "My " + " ".join(words.tolist()) + "."


def _contribution(
    key: bytes, task_id: bytes, chain_id: int, text: str, nonce: int
) -> ContributionInput:
    address = address_of(key)
    message = ContributionMessage(
        task_id, compute_cid(text.encode()), descriptor_hash("text"), address, nonce, 30_000
    )
    signature = sign_contribution(key, SubmissionDomain(chain_id), message)
    return ContributionInput(task_id, address, "text", {"text": text}, nonce, signature, 30_000)


def _collect(
    session: Session,
    demo: DemoMarket,
    population: Population,
    requester: str,
    seed: int,
    report: SalesReport,
) -> bytes:
    """Run the small collection task to settlement; its task id."""
    kinds = population.by_kind()
    skilled = kinds[ContributorKind.SKILLED]
    providers, reviewers = skilled[:4], skilled[4:6]
    spammer = (kinds[ContributorKind.SPAMMER] or skilled[6:7])[0]
    careless = (kinds[ContributorKind.CARELESS] or skilled[7:8])[0]
    chain_id = demo.chain.chain_id
    info = create_collection_task(
        session,
        card=DatasetCard(
            title="Collected product reviews",
            description="New product reviews written by the crowd.",
            license="CC0-1.0",
            languages=("en",),
            source="datafair demo collection",
        ),
        terms=CollectionTerms(formats=("text",), max_bytes=2_000),
        price_per_item=PRICE_PER_ITEM,
        reviews_per_item=len(reviewers),
        review_bps=1_000,
        royalty_share_bps=DEFAULT_ROYALTY_BPS,
        chain_id=chain_id,
        token=demo.token.address,
        salt=time.time_ns(),
        requester=requester,
    )
    task_id = info.task_id
    rng = np.random.default_rng(seed + 13)
    originals: list[str] = []
    entries = []
    for provider in providers:
        for number in range(ITEMS_PER_PROVIDER):
            text = _original_text(rng)
            originals.append(text)
            entries.append(_contribution(provider.private_key, task_id, chain_id, text, number))
    junk = "asdf " * 12
    entries.append(_contribution(careless.private_key, task_id, chain_id, junk, 0))
    entries.append(_contribution(spammer.private_key, task_id, chain_id, originals[0], 0))
    near = originals[1].upper().replace(" ", "  ") + " !"
    entries.append(_contribution(spammer.private_key, task_id, chain_id, near, 1))
    results = submit_contributions(session, entries, indexes=NearDuplicateIndexes())
    report.collected = sum(r.ok for r in results)
    report.refused_duplicates = sum(r.duplicate_of is not None for r in results)
    junk_cid = compute_cid(junk.encode())
    submissions = session.scalars(
        select(Submission)
        .join(Task, Task.id == Submission.task_pk)
        .where(Task.task_id == task_id)
        .order_by(Submission.id)
    ).all()
    for submission in submissions:
        verdict = "reject" if submission.item_cid == junk_cid else "accept"
        for reviewer in reviewers:
            submit_review(
                session,
                signed_review(
                    session, task_id, submission.id, reviewer.private_key, verdict=verdict
                ),
            )
    report.rejected_by_review = 1
    budget = PRICE_PER_ITEM * len(submissions)
    demo.token.mint(requester, budget, sender=demo.deployment.owner)
    fund_task(
        session,
        demo.escrow,
        task_id,
        budget,
        sender=requester,
        deadline=demo.chain.timestamp() + 3600,
        token=demo.token.address,
    )
    settle_task(session, demo.escrow, _blobs(demo), task_id, sender=demo.deployment.owner)
    for account in sorted(payout_amounts(session, task_id)):
        before = demo.token.balance_of(account)
        claim_all(session, demo.escrow, account, sender=account)
        report.collection_paid += demo.token.balance_of(account) - before
    report.collection_task = "0x" + task_id.hex()
    return task_id


def _blobs(demo: DemoMarket) -> BlobStore:
    blobs: BlobStore = demo.node.blobs
    return blobs


def run_sales(
    settings: Settings,
    session: Session,
    demo: DemoMarket,
    labelling_task: bytes,
    population: Population,
    requester: str,
    seed: int,
) -> SalesReport:
    """Collect, release, list, sell to three buyers, pay royalties (see the module)."""
    report = SalesReport()
    blobs = _blobs(demo)
    collection_task = _collect(session, demo, population, requester, seed, report)
    market = MarketClient(demo.chain, demo.deployment, settings.cache_dir)
    secret = download_secret(settings.home, settings.download_secret)
    info = release(
        session,
        blobs,
        ["0x" + labelling_task.hex(), "0x" + collection_task.hex()],
        market,
        sender=requester,
        secret=secret,
        title="Product reviews: labelled sentiment and collected reviews",
    )
    report.release_id = info.release_id
    report.manifest_cid = info.manifest_cid
    report.dataset_token = info.token_id or 0
    report.royalty_share = info.royalty_bps / 10_000
    audit_release(blobs, info.manifest_cid, market)
    report.audit_ok = True
    list_release(
        session,
        market,
        info.release_id,
        price=SALE_PRICE,
        token=demo.token.address,
        sender=requester,
    )
    report.price = SALE_PRICE
    owner_before = demo.token.balance_of(requester)
    for number in range(BUYERS):
        buyer = address_of(derive_key(seed, 2_000_000 + number))
        demo.token.mint(buyer, SALE_PRICE, sender=demo.deployment.owner)
        purchase = buy_release(session, market, info.release_id, sender=buyer)
        report.sales += 1
        report.gross += purchase.sale.price
        report.fee += purchase.sale.fee
        report.royalties += purchase.sale.royalty
    report.owner = demo.token.balance_of(requester) - owner_before
    row = session.get(Release, info.release_id)
    assert row is not None
    weights = release_weights(session, row)
    report.weights = len(weights)
    kind_of = {c.address.lower(): str(c.kind) for c in population.contributors}
    by_kind: Counter[str] = Counter({str(kind): 0 for kind in ContributorKind})
    for account in weights:
        before = demo.token.balance_of(account)
        claim_royalties(session, market, account, sender=account)
        received = demo.token.balance_of(account) - before
        by_kind[kind_of.get(account.lower(), "other")] += received
        report.royalties_claimed += received
    report.royalties_by_kind = dict(by_kind)
    return report
