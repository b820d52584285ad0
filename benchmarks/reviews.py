"""Reviews: how much they raise inference accuracy, and how fast the service takes them.

Run by hand: ``python benchmarks/reviews.py [--seeds 3] [--items 600] [--submissions 6000]``.
Prints one table, one row per measure.

* **Evidence.** For each seed and setting (classes, answers per item): ``--items`` items, ten
  labellers of accuracy U(0.45, 0.8) (errors uniform over the other classes), and one review
  per submission by one of six reviewers whose verdict is right with probability U(0.75, 0.95).
  Accuracy of Bayesian Dawid-Skene (``auto``) against the truth without reviews, with the
  reviews' default pseudo-answers (:func:`datafair.quality.reviews.review_evidence`), and with
  reject rows too (``rejects_as_answers=True``).
* **Service.** On a fresh SQLite file: ``--submissions`` signed answers (k = 3), then one signed
  review of each through ``submit_reviews`` (signature checks included), then the mean time of
  ``next_review`` over 50 calls.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from datafair.core.canonical import canonical_json
from datafair.core.schemas import ItemKind, LabelSchema, TaskType
from datafair.core.task import DatasetCard, TaskSpec
from datafair.crypto.cid import compute_cid
from datafair.quality import get_aggregator
from datafair.quality.reviews import review_evidence
from datafair.services.reviews import next_review, sign_and_submit_reviews
from datafair.services.signing import signed_submission
from datafair.services.submissions import list_submissions, submit_many
from datafair.services.tasks import create_task
from datafair.sim.population import address_of, derive_key
from datafair.store.db import Database, make_engine, make_session_factory
from datafair.store.migrations import migrate
from datafair.store.repositories import DatasetRepository, ItemRepository, NewItem


def _crowd(seed: int, n_items: int, classes: list[str], k: int) -> tuple[list[object], ...]:
    rng = np.random.default_rng(seed)
    n_classes = len(classes)
    truth = rng.integers(0, n_classes, n_items)
    skill = rng.uniform(0.45, 0.8, 10)
    items, workers, labels = [], [], []
    for i in range(n_items):
        for w in rng.choice(10, k, replace=False).tolist():
            right = rng.random() < skill[w]
            wrong = [c for c in range(n_classes) if c != truth[i]]
            label = truth[i] if right else rng.choice(wrong)
            items.append(i)
            workers.append(f"w{w}")
            labels.append(classes[label])
    reviewer_skill = rng.uniform(0.75, 0.95, 6)
    reviewers, verdicts = [], []
    for i, label in zip(items, labels, strict=True):
        r = int(rng.integers(0, 6))
        right = classes.index(label) == truth[i]
        reviewers.append(f"r{r}")
        verdicts.append(right if rng.random() < reviewer_skill[r] else not right)
    return list(truth), items, workers, labels, reviewers, verdicts


def _accuracy(
    truth: list[object], items: list, workers: list, labels: list, classes: list
) -> float:
    model = get_aggregator("auto").fit(items, workers, labels, classes=classes)
    inferred = np.array([classes.index(label) for label in model.labels_])
    return float((inferred == np.asarray(truth)[np.asarray(model.items_)]).mean())


def evidence_rows(seeds: int, n_items: int) -> list[tuple[str, str, str]]:
    rows = []
    settings = [(["a", "b", "c"], 3), (["a", "b", "c"], 2), (["yes", "no"], 3)]
    for classes, k in settings:
        for seed in range(seeds):
            truth, items, workers, labels, reviewers, verdicts = _crowd(seed, n_items, classes, k)
            figures = [_accuracy(truth, items, workers, labels, classes)]
            for rejects in (False, True):
                ev = review_evidence(
                    items, labels, reviewers, verdicts, classes, rejects_as_answers=rejects
                )
                figures.append(
                    _accuracy(
                        truth, items + ev.items, workers + ev.workers, labels + ev.labels, classes
                    )
                )
            rows.append(
                (
                    "accuracy: none / accepts / with rejects",
                    f"{len(classes)} classes, k={k}, seed {seed}",
                    " / ".join(f"{value:.3f}" for value in figures),
                )
            )
    return rows


def service_rows(n_submissions: int) -> list[tuple[str, str, str]]:
    folder = Path(tempfile.mkdtemp())
    engine = make_engine(f"sqlite:///{folder / 'bench.db'}")
    migrate(engine)
    database = Database(engine, make_session_factory(engine))
    keys = [derive_key(7, index) for index in range(12)]
    n_items = n_submissions // 3
    with database.session() as session:
        texts = [f"benchmark text {i}" for i in range(n_items)]
        items = [NewItem(compute_cid(t.encode()), ItemKind.TEXT, len(t), text=t) for t in texts]
        ItemRepository(session).add_many(items, now_ms=0)
        card = DatasetCard(title="review benchmark")
        cids = [item.cid for item in items]
        manifest = compute_cid(canonical_json({"card": card.to_dict(), "items": cids}))
        DatasetRepository(session).create(
            manifest_cid=manifest, card=card.to_dict(), item_cids=cids, now_ms=0
        )
        session.commit()
        spec = TaskSpec(
            dataset_cid=manifest,
            title="review benchmark",
            schema=LabelSchema(TaskType.CLASSIFICATION, ("pos", "neg")),
            overlap=3,
            price_per_answer=10,
        )
        info = create_task(session, spec, gold_seed=bytes(32))
        entries = [
            signed_submission(
                session, info.task_id, cid, "pos", keys[(i + j) % 6], nonce=i, duration_ms=1000
            )
            for i, cid in enumerate(cids)
            for j in range(3)
        ]
        submit_many(session, entries)
        ids = list_submissions(session, info.task_id).ids
        requests = [(sid, keys[6 + n % 6], "accept", None) for n, sid in enumerate(ids)]
        started = time.perf_counter()
        results = sign_and_submit_reviews(session, info.task_id, requests)
        stored = time.perf_counter() - started
        assert all(result.ok for result in results)
        started = time.perf_counter()
        for n in range(50):
            next_review(session, info.task_id, address_of(keys[6 + n % 6]))
        picked = (time.perf_counter() - started) / 50
    database.dispose()
    return [
        (
            "sign + submit_reviews",
            f"{len(ids)} reviews",
            f"{stored:.2f} s ({len(ids) / stored:,.0f} per second)",
        ),
        ("next_review", f"{len(ids)} submissions, each reviewed once", f"{picked * 1000:.1f} ms"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--items", type=int, default=600)
    parser.add_argument("--submissions", type=int, default=6000)
    args = parser.parse_args()
    table = Table("measure", "setting", "value", title="reviews")
    for row in evidence_rows(args.seeds, args.items) + service_rows(args.submissions):
        table.add_row(*row)
    Console().print(table)


if __name__ == "__main__":
    main()
