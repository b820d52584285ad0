"""Settlement pays a dependent group (ring, copiers) as one contributor, and the bundle records
why, so that recomputing it from the bundle gives the same bytes."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from settle_helpers import unsigned_inputs

from datafair.core.canonical import canonical_json
from datafair.core.schemas import ItemContext, ItemKind, LabelSchema, TaskType
from datafair.core.task import TaskSpec
from datafair.crypto.cid import compute_cid
from datafair.quality.synthetic import dawid_skene_crowd
from datafair.services.settlement import bundle
from datafair.services.settlement.bundle import (
    EpochInputs,
    Reviews,
    bundle_document,
    compute_epoch,
    encode_bundle,
    parse_bundle,
)

CLASSES = ("a", "b", "c")


def _inputs(items: np.ndarray, workers: np.ndarray, labels: np.ndarray, method: str) -> EpochInputs:
    n_items = int(items.max()) + 1
    cids = sorted(compute_cid(f"dependence item {i}".encode()) for i in range(n_items))
    accounts = [f"0x{w + 1:040x}" for w in range(int(workers.max()) + 1)]
    order = np.lexsort((workers, items))
    spec = TaskSpec(
        dataset_cid=cids[0],
        title="dependence",
        schema=LabelSchema(TaskType.CLASSIFICATION, CLASSES),
        price_per_answer=10**6,
        extra={} if method == "quality" else {"mechanism": "peer-prediction"},
    )
    return unsigned_inputs(
        spec,
        cids,
        accounts,
        items[order].tolist(),
        workers[order].tolist(),
        [f'"{CLASSES[k]}"' for k in labels[order].tolist()],
        method="auto",
    )


def _ring_crowd(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[int]]:
    """12 honest workers (accuracy 0.65-0.95, 5 answers per item) and a ring of 4 wallets
    that answer one random class together on 40 % of the items, 3 of them per item."""
    crowd = dawid_skene_crowd(
        n_items=300,
        n_workers=12,
        n_classes=3,
        answers_per_item=5,
        seed=seed,
        accuracy=(0.65, 0.95),
    )
    rng = np.random.default_rng(seed)
    ring = [12, 13, 14, 15]
    items, workers, labels = [crowd.items], [crowd.workers], [crowd.labels]
    for item in np.flatnonzero(rng.random(300) < 0.4).tolist():
        who = rng.choice(ring, 3, replace=False)
        items.append(np.full(3, item))
        workers.append(who)
        labels.append(np.full(3, rng.integers(0, 3)))
    return np.concatenate(items), np.concatenate(workers), np.concatenate(labels), ring


def _copier_crowd(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[int]]:
    """40 honest workers; two wallets repeat the least accurate one's answers."""
    crowd = dawid_skene_crowd(
        n_items=1500,
        n_workers=40,
        n_classes=3,
        answers_per_item=5,
        seed=seed,
        accuracy=(0.65, 0.95),
    )
    right = crowd.labels == crowd.truth[crowd.items]
    source = int(np.argmin(np.bincount(crowd.workers, weights=right) / np.bincount(crowd.workers)))
    rows = crowd.workers == source
    n = int(rows.sum())
    items = np.concatenate([crowd.items, crowd.items[rows], crowd.items[rows]])
    workers = np.concatenate([crowd.workers, np.full(n, 40), np.full(n, 41)])
    labels = np.concatenate([crowd.labels, crowd.labels[rows], crowd.labels[rows]])
    return items, workers, labels, [source, 40, 41]


@pytest.mark.parametrize("mechanism", ["quality", "peer-prediction"])
@pytest.mark.parametrize("crowd", [_ring_crowd, _copier_crowd])
def test_a_dependent_group_earns_no_more_than_one_contributor(crowd, mechanism) -> None:  # type: ignore[no-untyped-def]
    items, workers, labels, adversaries = crowd(0)
    inputs = _inputs(items, workers, labels, mechanism)
    result = compute_epoch(inputs)
    accounts = inputs.submissions.accounts
    grouped = result.dependence
    assert grouped is not None
    members = {accounts[w] for w in adversaries}
    assert any(members <= set(group) for group in grouped["groups"]), grouped["groups"]
    honest = [result.rewards.get(a, 0) for a in accounts if a not in members]
    group_pay = sum(result.rewards.get(account, 0) for account in members)
    assert group_pay <= max(honest)
    # nobody honest is grouped
    assert all(account in members for group in grouped["groups"] for account in group)
    # what is held for an account (its doubt not yet cleared) stays in escrow for it
    held = sum(int(entry["held"]) for entry in result.held.values())
    assert result.payout.gross + result.payout.unearned + held == result.budget


def test_the_bundle_records_the_groups_and_recomputes_bit_for_bit() -> None:
    items, workers, labels, _ = _ring_crowd(1)
    inputs = _inputs(items, workers, labels, "quality")
    document = bundle_document(inputs, compute_epoch(inputs))
    evidence = document["inferred"]["dependence"]["evidence"]
    assert evidence and all(
        set(entry) >= {"group", "score", "shared_items", "agree_wrong", "expected", "p_value"}
        for entry in evidence.values()
    )
    data = encode_bundle(document)
    again = parse_bundle(document)
    assert encode_bundle(bundle_document(again, compute_epoch(again))) == data


def test_reviews_are_never_grouped_with_the_labellers_they_judge(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # an inverting reviewer accepts exactly the wrong answers of one labeller: its accepts
    # repeat them (57 shared items, 56 of them wrong), a dependence by design that must not put
    # the labeller in one group with the reviewer's pseudo-worker (they would share a skill and
    # a spam score)
    crowd = dawid_skene_crowd(
        n_items=1500, n_workers=40, n_classes=3, answers_per_item=5, seed=4, accuracy=(0.65, 0.95)
    )
    inputs = _inputs(crowd.items, crowd.workers, crowd.labels, "quality")
    subs = inputs.submissions
    cids = sorted(compute_cid(f"dependence item {i}".encode()) for i in range(1500))
    truth = {cids.index(cid): CLASSES[int(crowd.truth[i])] for i, cid in enumerate(cids)}
    rows = [r for r, c in enumerate(subs.contributor) if c == 0]
    right = [subs.answer[r] == f'"{truth[subs.item[r]]}"' for r in rows]
    verdicts = ["reject" if is_right else "accept" for is_right in right]
    inputs = replace(
        inputs,
        submissions=replace(subs, accounts=[*subs.accounts, f"0x{41:040x}"]),
        reviews=Reviews(
            rows, [40] * len(rows), verdicts, [None] * len(rows), [b"\x02" * 65] * len(rows)
        ),
    )
    fitted = []
    original = bundle.get_aggregator

    def keep(*args: object, **options: object) -> object:
        fitted.append(original(*args, **options))  # type: ignore[arg-type]
        return fitted[-1]

    monkeypatch.setattr(bundle, "get_aggregator", keep)
    compute_epoch(inputs)
    model = fitted[-1]
    workers = np.asarray(model.workers_)
    pseudo = workers[workers >= len(inputs.submissions.accounts)]
    assert pseudo.shape[0] and set(model.never_grouped) == set(pseudo.tolist())
    found = model.dependence_
    paired = workers[np.concatenate([found.pair_a, found.pair_b])]
    assert not np.isin(paired, pseudo).any()
    assert found.group[list(workers).index(0)] == -1


def test_an_honest_crowd_has_no_groups_in_its_bundle() -> None:
    crowd = dawid_skene_crowd(
        n_items=300,
        n_workers=12,
        n_classes=3,
        answers_per_item=5,
        seed=3,
        accuracy=(0.65, 0.95),
    )
    inputs = _inputs(crowd.items, crowd.workers, crowd.labels, "quality")
    document = bundle_document(inputs, compute_epoch(inputs))
    assert "dependence" not in document["inferred"]


LABEL_SET = ("a", "b", "c", "d")


def _multilabel_inputs(seed: int, *, copiers: int = 0, ring: int = 0) -> EpochInputs:
    """A multi-label task (4 classes, 240 items, 5 answers per item) of 16 honest workers, each
    flipping each class with probability U(0.03, 0.25); ``copiers`` wallets repeat worker 0's
    answer on its items, and ``ring`` wallets give one random label set per item together."""
    rng = np.random.default_rng(seed)
    n_items, n_honest = 240, 16
    truth = rng.random((n_items, 4)) < 0.3
    shared_set = rng.random((n_items, 4)) < 0.5
    flip = rng.uniform(0.03, 0.25, n_honest)
    rows: list[tuple[int, int, str]] = []
    for i in range(n_items):
        for w in rng.choice(n_honest + ring, 5, replace=False).tolist():
            chosen = shared_set[i] if w >= n_honest else truth[i] ^ (rng.random(4) < flip[w])
            text = "[" + ",".join(f'"{LABEL_SET[c]}"' for c in np.flatnonzero(chosen)) + "]"
            who = w if w < n_honest else w + copiers
            rows.append((i, who, text))
            if w == 0:
                rows.extend((i, n_honest + c, text) for c in range(copiers))
    rows.sort()
    cids = sorted(compute_cid(f"label set {i}".encode()) for i in range(n_items))
    spec = TaskSpec(
        dataset_cid=cids[0],
        title="label sets",
        schema=LabelSchema(TaskType.MULTILABEL, LABEL_SET),
        price_per_answer=10**6,
    )
    accounts = [f"0x{w + 1:040x}" for w in range(n_honest + copiers + ring)]
    return unsigned_inputs(
        spec,
        cids,
        accounts,
        [r[0] for r in rows],
        [r[1] for r in rows],
        [r[2] for r in rows],
        method="mv",
    )


@pytest.mark.parametrize(("copiers", "ring"), [(2, 0), (0, 4)])
def test_structured_copiers_and_rings_are_paid_as_one(copiers: int, ring: int) -> None:
    inputs = _multilabel_inputs(0, copiers=copiers, ring=ring)
    accounts = inputs.submissions.accounts
    result = compute_epoch(inputs)
    adversaries = accounts[16:] + ([accounts[0]] if copiers else [])
    assert result.dependence is not None
    assert [sorted(group) for group in result.dependence["groups"]] == [sorted(adversaries)]
    assert all(e["test"] == "cluster" for e in result.dependence["evidence"].values())
    if copiers:  # the copiers and their source share what one of them would earn
        pays = [result.rewards.get(a, 0) for a in adversaries]
        assert max(pays) - min(pays) <= len(pays) * 240
        alone = compute_epoch(_multilabel_inputs(0)).rewards[accounts[0]]
        assert sum(pays) <= alone
    data = encode_bundle(bundle_document(inputs, result))
    again = parse_bundle(bundle_document(inputs, result))
    assert encode_bundle(bundle_document(again, compute_epoch(again))) == data


@pytest.mark.parametrize("seed", range(3))
def test_an_honest_structured_crowd_has_no_groups(seed: int) -> None:
    assert compute_epoch(_multilabel_inputs(seed)).dependence is None


BOX_LABELS = ("car", "person")


def _box_inputs(seed: int, *, copiers: int = 0, jitter: float = 0.0) -> EpochInputs:
    """A boxes task (200 images of 100 × 80, one or two objects each, 5 answers per image) of
    16 honest workers who draw each object with corners off by N(0, σ) of its size, σ ~ U(0.02,
    0.10), and miss it 10 % of the time; ``copiers`` wallets repeat worker 0's boxes, each
    coordinate moved by up to ``jitter`` of the box's size."""
    rng = np.random.default_rng(seed)
    n_items, n_honest = 200, 16
    schema = LabelSchema(TaskType.BOXES, BOX_LABELS)
    context = ItemContext(ItemKind.IMAGE, width=100, height=80)
    sigma = rng.uniform(0.02, 0.10, n_honest)

    def drawn(box: np.ndarray, spread: float) -> list[float]:
        x, y, w, h = box + rng.uniform(-spread, spread, 4) * np.repeat(box[2:], 2)
        x, y = min(max(x, 0.0), 90.0), min(max(y, 0.0), 70.0)
        return [
            round(x, 1),
            round(y, 1),
            round(min(max(w, 2.0), 100 - x), 1),
            round(min(max(h, 2.0), 80 - y), 1),
        ]

    rows: list[tuple[int, int, str]] = []
    for i in range(n_items):
        objects = [
            (
                np.array(
                    [
                        rng.uniform(0, 60),
                        rng.uniform(0, 45),
                        rng.uniform(15, 40),
                        rng.uniform(15, 35),
                    ]
                ),
                BOX_LABELS[int(rng.integers(2))],
            )
            for _ in range(int(rng.integers(1, 3)))
        ]
        for w in rng.choice(n_honest, 5, replace=False).tolist():
            boxes = [
                (box + rng.normal(0.0, sigma[w], 4) * np.repeat(box[2:], 2), label)
                for box, label in objects
                if rng.random() >= 0.1
            ]
            answer = [
                dict(zip("xywh", drawn(b, 0.0), strict=True), label=label) for b, label in boxes
            ]
            rows.append((i, w, canonical_json(schema.validate(answer, context)).decode()))
            for c in range(copiers if w == 0 else 0):
                copy = [
                    dict(
                        zip("xywh", drawn(np.array([b[k] for k in "xywh"]), jitter), strict=True),
                        label=b["label"],
                    )
                    for b in answer
                ]
                rows.append(
                    (i, n_honest + c, canonical_json(schema.validate(copy, context)).decode())
                )
    rows.sort()
    cids = sorted(compute_cid(f"boxes image {i}".encode()) for i in range(n_items))
    spec = TaskSpec(dataset_cid=cids[0], title="boxes", schema=schema, price_per_answer=10**6)
    return unsigned_inputs(
        spec,
        cids,
        [f"0x{w + 1:040x}" for w in range(n_honest + copiers)],
        [r[0] for r in rows],
        [r[1] for r in rows],
        [r[2] for r in rows],
        method="auto",
    )


@pytest.mark.parametrize("jitter", [0.0, 0.01, 0.02])
def test_box_copiers_who_move_each_corner_a_little_are_paid_as_one(jitter: float) -> None:
    # moved by up to 2 % of the box's size, no copy is identical to its source, but every copy
    # is near-identical (IoU ≥ 0.9) while honest workers' boxes of one object rarely all are
    inputs = _box_inputs(0, copiers=2, jitter=jitter)
    accounts = inputs.submissions.accounts
    result = compute_epoch(inputs)
    assert result.dependence is not None
    assert [sorted(g) for g in result.dependence["groups"]] == [
        sorted([accounts[0], *accounts[16:]])
    ]
    pays = [result.rewards.get(a, 0) for a in (accounts[0], *accounts[16:])]
    assert sum(pays) <= compute_epoch(_box_inputs(0)).rewards[accounts[0]]


@pytest.mark.parametrize("seed", range(3))
def test_an_honest_box_crowd_has_no_groups(seed: int) -> None:
    assert compute_epoch(_box_inputs(seed)).dependence is None
