"""The demo round on the embedded defaults: publish → fund → label → infer → export → settle →
claim → refund → audit.

Inputs: ``Settings`` (its home holds the database, blobs and exports), a seed, a number of items,
and an optional progress sink. Everything random is drawn from the seed: the review texts and
their true sentiments, the simulated crowd (skilled, careless, spamming and adversarial wallets,
a ring of three and a copier: :data:`DEMO_MIX`), the
order in which contributors ask for work, their answers and their time on item. Every answer goes
through the same path a real contributor's does: ``next_item`` → EIP-712 signature →
``submit_many`` (signature verified, answer validated, k-cap enforced by the database). The
money moves on the embedded chain in the home (``datafair.services.demo_money``).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from datafair.core.canonical import canonical_json, keccak256
from datafair.core.schemas import LabelSchema, TaskType
from datafair.core.task import DatasetCard, TaskSpec
from datafair.crypto.cid import compute_cid
from datafair.crypto.eip712 import SubmissionDomain, SubmissionMessage, sign_submission
from datafair.node import Node
from datafair.services.assignment import next_item
from datafair.services.datasets import ImportReport, import_dataset
from datafair.services.demo_money import DemoMarket, MoneyFlow
from datafair.services.demo_sales import SalesReport, run_sales
from datafair.services.exports import export_task
from datafair.services.inference import InferenceResult, infer_task
from datafair.services.reviews import infer_with_reviews, sign_and_submit_reviews
from datafair.services.submissions import SubmissionInput, list_submissions, submit_many
from datafair.services.tasks import create_task
from datafair.settings import Settings
from datafair.sim import ContributorKind, Population, make_population, make_review_texts
from datafair.sim.population import DEFAULT_MIX, address_of, derive_key
from datafair.sim.reviewers import plan_reviews
from datafair.sim.texts import SENTIMENTS
from datafair.store.db import Database

DEMO_FORMATS = ("jsonl", "parquet", "hf")
OVERLAP = 5
GOLD_SHARE = 0.05
GOLD_RATIO = 0.1
PRICE_PER_ANSWER = 10**15  # 0.001 of an 18-decimal token
BATCH = 200
REVIEW_BPS = 500  # 5 % of each item's budget pays reviews that agree with the final label
REVIEWS_PER_SUBMISSION = 1
DEMO_MIX = {**DEFAULT_MIX, ContributorKind.RING: 3, ContributorKind.COPIER: 1}
"""The demo's crowd: the default mix plus a ring of three wallets that agree on one random
answer per item and a copier of a careless worker, so the money table shows what they earn."""


class Progress(Protocol):
    """Where the demo reports its steps: a named step with a total, then advances."""

    def start(self, description: str, total: int | None) -> None: ...

    def advance(self, amount: int = 1) -> None: ...

    def finish(self) -> None: ...


class _Silent:
    def start(self, description: str, total: int | None) -> None:
        pass

    def advance(self, amount: int = 1) -> None:
        pass

    def finish(self) -> None:
        pass


@dataclass
class DemoReport:
    """What the demo did and measured."""

    home: str
    seed: int
    items: int
    gold_items: int
    submissions: int
    rejected: int
    reviews: int
    contributors: dict[str, int]
    accuracy: float
    accuracy_majority_vote: float
    method: str
    flagged_spammers: dict[str, int]
    task_id: str
    dataset_cid: str
    exports: dict[str, str]
    duplicates: int
    money: MoneyFlow
    answers_by_kind: dict[str, int] = field(default_factory=dict)
    copied: dict[str, int] = field(default_factory=dict)
    """The worker the copier copies: its ``answers`` and what it was ``paid``."""
    seconds: dict[str, float] = field(default_factory=dict)
    market: SalesReport | None = None

    def as_dict(self) -> dict[str, Any]:
        data = {
            key: value for key, value in self.__dict__.items() if key not in ("money", "market")
        }
        money = self.money.as_dict()
        for key in ("funded", "paid_by_kind", "fee", "refunded", "contributor_share", "audit_ok"):
            data[key] = money.pop(key)
        data["money"] = money
        if self.market is not None:
            sales = self.market.as_dict()
            data["royalties_by_kind"] = sales.pop("royalties_by_kind")
            data["royalty_share"] = sales.pop("royalty_share")
            data["sales"] = sales
        return data


def _write_reviews(folder: Path, texts: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"reviews-{len(texts)}.jsonl"
    with path.open("w", encoding="utf-8") as handle:
        for number, text in enumerate(texts, start=1):
            handle.write(json.dumps({"id": number, "text": text}) + "\n")
    return path


def _accuracy(labels: dict[str, Any], truth: dict[str, str], exclude: set[str]) -> float:
    scored = [cid for cid in truth if cid in labels and cid not in exclude]
    if not scored:
        return 0.0
    correct = sum(1 for cid in scored if labels[cid] == truth[cid])
    return correct / len(scored)


class _Crowd:
    """Drives the simulated contributors through assignment, signing and submission."""

    def __init__(
        self,
        database: Database,
        population: Population,
        spec: TaskSpec,
        truth: dict[str, str],
        rng: np.random.Generator,
    ) -> None:
        self.database = database
        self.population = population
        self.task_id = spec.task_id
        self.domain = SubmissionDomain(chain_id=spec.chain_id)
        self.truth = truth
        self.rng = rng
        self.nonces: Counter[str] = Counter()
        self.accepted = 0
        self.rejected = 0
        self.kind_of = {c.address: str(c.kind) for c in population.contributors}
        self.by_kind: Counter[str] = Counter({str(kind): 0 for kind in ContributorKind})
        self.by_address: Counter[str] = Counter()

    def _answer(self, contributor: Any, item_cid: str) -> SubmissionInput:
        true_class = SENTIMENTS.index(self.truth[item_cid])
        answer = SENTIMENTS[self.population.answer_item(contributor, item_cid, true_class)]
        duration_ms = int(self.population.seconds_on_item(contributor) * 1000)
        self.nonces[contributor.address] += 1
        nonce = self.nonces[contributor.address]
        message = SubmissionMessage(
            self.task_id,
            item_cid,
            keccak256(canonical_json(answer)),
            contributor.address,
            nonce,
            duration_ms,
        )
        return SubmissionInput(
            task_id=self.task_id,
            item_cid=item_cid,
            contributor=contributor.address,
            answer=answer,
            nonce=nonce,
            duration_ms=duration_ms,
            signature=sign_submission(contributor.private_key, self.domain, message),
        )

    def _flush(self, batch: list[SubmissionInput], progress: Progress) -> None:
        if not batch:
            return
        with self.database.session() as session:
            results = submit_many(session, batch)
        accepted = sum(result.ok for result in results)
        for submission, result in zip(batch, results, strict=True):
            if result.ok:
                self.by_kind[self.kind_of[submission.contributor]] += 1
                self.by_address[submission.contributor] += 1
        self.accepted += accepted
        self.rejected += len(results) - accepted
        progress.advance(len(batch))
        batch.clear()

    def label(self, progress: Progress) -> None:
        """Contributors, in a seeded random order, ask for items and answer until none is left."""
        active = list(self.population.contributors)
        batch: list[SubmissionInput] = []
        with self.database.session() as session:
            while active:
                contributor = active[int(self.rng.integers(len(active)))]
                assigned = next_item(session, self.task_id, contributor.address, max_held=BATCH)
                if assigned is None:
                    self._flush(batch, progress)
                    # retry once everything pending is stored; drop the contributor if still none
                    assigned = next_item(session, self.task_id, contributor.address, max_held=BATCH)
                    if assigned is None:
                        active.remove(contributor)
                        continue
                batch.append(self._answer(contributor, assigned.item_cid))
                if len(batch) >= BATCH:
                    self._flush(batch, progress)
        self._flush(batch, progress)


def run_demo(
    settings: Settings,
    *,
    seed: int = 7,
    n_items: int = 400,
    method: str = "auto",
    progress: Progress | None = None,
    clock: Callable[[], float] = time.time,
) -> DemoReport:
    """Run one full labelling round in ``settings.home``; return what it did and measured."""
    sink = progress or _Silent()
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    settings.ensure_home()
    with Node(settings) as node:
        return _run_round(node, seed, n_items, method, sink, clock, seconds, started)


def _run_round(
    node: Node,
    seed: int,
    n_items: int,
    method: str,
    sink: Progress,
    clock: Callable[[], float],
    seconds: dict[str, float],
    started: float,
) -> DemoReport:
    settings = node.settings
    database = node.db
    blobs = node.blobs
    rng = np.random.default_rng(seed)

    sink.start("publishing the dataset", None)
    texts, truths = make_review_texts(n_items, seed=seed)
    source = _write_reviews(settings.home / "demo", texts)
    card = DatasetCard(
        title=f"Product reviews ({n_items}, seed {seed})",
        description="Synthetic product reviews for sentiment labelling.",
        license="CC0-1.0",
        languages=("en",),
        source="datafair demo",
    )
    with database.session() as session:
        imported: ImportReport = import_dataset(session, blobs, source, card, clock=clock)
    # a text item's content id is the CID of its UTF-8 bytes (datafair.formats.items)
    cids = [compute_cid(text.encode("utf-8")) for text in texts]
    truth = dict(zip(cids, truths, strict=True))
    gold_cids = [
        cids[i]
        for i in sorted(rng.choice(len(cids), max(1, int(len(cids) * GOLD_SHARE)), replace=False))
    ]
    market = DemoMarket(node)
    requester = address_of(derive_key(seed, 1_000_000))
    spec = TaskSpec(
        dataset_cid=imported.manifest_cid,
        title="Review sentiment",
        instructions="Is the review positive, neutral or negative?",
        schema=LabelSchema(TaskType.CLASSIFICATION, SENTIMENTS),
        overlap=OVERLAP,
        gold_ratio=GOLD_RATIO,
        price_per_answer=PRICE_PER_ANSWER,
        deadline=int(clock()) + 7 * 24 * 3600,
        chain_id=settings.chain_id,
        token=market.token.address,
        salt=time.time_ns(),
        extra={
            "review_bps": REVIEW_BPS,
            "reviews_per_submission": REVIEWS_PER_SUBMISSION,
            "assigned_only": True,
        },
    )
    with database.session() as session:
        create_task(
            session,
            spec,
            gold={cid: truth[cid] for cid in gold_cids},
            gold_overlap=OVERLAP,
            clock=clock,
            gold_seed=keccak256(f"demo-gold:{seed}".encode()),
        )
    sink.finish()
    seconds["publish"] = time.perf_counter() - started

    step = time.perf_counter()
    sink.start("funding the escrow (embedded chain)", None)
    with database.session() as session:
        market.fund(session, spec, len(cids), requester)
    sink.finish()
    seconds["fund"] = time.perf_counter() - step

    population = make_population(len(SENTIMENTS), DEMO_MIX, seed=seed)
    crowd = _Crowd(database, population, spec, truth, rng)
    step = time.perf_counter()
    sink.start("crowd labelling (signed submissions)", (len(cids)) * OVERLAP)
    crowd.label(sink)
    sink.finish()
    seconds["label"] = time.perf_counter() - step

    step = time.perf_counter()
    with database.session() as session:
        reviews = _review(session, population, spec, truth, seed, sink)
    seconds["review"] = time.perf_counter() - step

    step = time.perf_counter()
    sink.start(f"inferring labels ({method}, answers and reviews)", None)
    with database.session() as session:
        inference: InferenceResult = infer_with_reviews(session, spec.task_id, method=method)
        majority = infer_task(session, spec.task_id, method="mv")
    sink.finish()
    seconds["infer"] = time.perf_counter() - step

    step = time.perf_counter()
    out_dir = settings.exports_dir / f"task-{spec.task_id.hex()[:12]}"
    exports: dict[str, str] = {}
    sink.start("exporting", len(DEMO_FORMATS))
    with database.session() as session:
        for fmt in DEMO_FORMATS:
            paths = export_task(session, blobs, spec.task_id, fmt, out_dir, inference=inference)
            exports[fmt] = str(paths[0])
            sink.advance()
    sink.finish()
    seconds["export"] = time.perf_counter() - step

    step = time.perf_counter()
    sink.start("settling, claiming, refunding, auditing", None)
    with database.session() as session:
        money = market.settle_claim_refund_audit(
            session, blobs, spec, population, requester, method
        )
    sink.finish()
    seconds["money"] = time.perf_counter() - step

    step = time.perf_counter()
    sink.start("collecting, releasing, selling, paying royalties", None)
    with database.session() as session:
        sales = run_sales(settings, session, market, spec.task_id, population, requester, seed)
    sink.finish()
    seconds["market"] = time.perf_counter() - step
    seconds["total"] = time.perf_counter() - started

    kinds = {c.address: c.kind for c in population.contributors}
    flagged = Counter(str(kinds[address.lower()]) for address in _lower(inference.spammers))
    gold_set = set(gold_cids)
    return DemoReport(
        home=str(settings.home),
        seed=seed,
        items=len(cids),
        gold_items=len(gold_cids),
        submissions=crowd.accepted,
        rejected=crowd.rejected,
        reviews=reviews,
        contributors={str(kind): count for kind, count in _kind_counts(population).items()},
        accuracy=_accuracy(inference.label_of(), truth, gold_set),
        accuracy_majority_vote=_accuracy(majority.label_of(), truth, gold_set),
        method=method,
        flagged_spammers={str(kind): flagged.get(str(kind), 0) for kind in ContributorKind},
        task_id="0x" + spec.task_id.hex(),
        dataset_cid=imported.manifest_cid,
        exports=exports,
        duplicates=len(imported.duplicates),
        money=money,
        answers_by_kind=dict(crowd.by_kind),
        copied=_copied(population, crowd, money),
        seconds={key: round(value, 2) for key, value in seconds.items()},
        market=sales,
    )


def _review(
    session: Any,
    population: Population,
    spec: TaskSpec,
    truth: dict[str, str],
    seed: int,
    sink: Progress,
) -> int:
    """Each submission gets ``REVIEWS_PER_SUBMISSION`` signed verdicts from crowd members who
    did not answer its item; returns how many were stored."""
    columns = list_submissions(session, spec.task_id)
    truth_by_item: dict[Hashable, Hashable] = dict(truth.items())
    plan = plan_reviews(
        population,
        columns.contributors,
        columns.item_cids,
        columns.decoded_answers(),
        truth_by_item,
        per_submission=REVIEWS_PER_SUBMISSION,
        seed=seed,
    )
    sink.start("crowd reviewing (signed verdicts)", len(plan))
    stored = 0
    for start in range(0, len(plan), BATCH * 5):
        part = plan[start : start + BATCH * 5]
        results = sign_and_submit_reviews(
            session,
            spec.task_id,
            [(columns.ids[p.row], p.reviewer.private_key, p.verdict, None) for p in part],
        )
        stored += sum(result.ok for result in results)
        sink.advance(len(part))
    sink.finish()
    return stored


def _copied(population: Population, crowd: _Crowd, money: MoneyFlow) -> dict[str, int]:
    """Answers and pay of the worker the copier copies (empty when there is none)."""
    if population.original is None:
        return {}
    address = population.contributors[population.original].address
    return {
        "answers": crowd.by_address[address],
        "paid": money.paid_by_address.get(address, 0),
    }


def _lower(addresses: frozenset[str]) -> list[str]:
    return sorted(address.lower() for address in addresses)


def _kind_counts(population: Population) -> dict[ContributorKind, int]:
    counts = Counter(c.kind for c in population.contributors)
    return {kind: counts.get(kind, 0) for kind in ContributorKind}
