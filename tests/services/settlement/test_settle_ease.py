"""Quality pay measured on the typical item: choosing easy items earns no more than the skill
(``datafair.services.settlement.difficulty``: a worker's pay factor is the typical item's ease
over the (shrunk) ease of their own items, judged by the other answers on them); peer
prediction scores accounts against peers not flagged as spam."""

from __future__ import annotations

import json

import numpy as np
import pytest
from settle_helpers import unsigned_inputs

from datafair.core.schemas import LabelSchema, TaskType
from datafair.core.task import TaskSpec
from datafair.crypto.cid import compute_cid
from datafair.economics import peer_prediction_rewards
from datafair.services.settlement.bundle import (
    PEER_PREDICTION_DRAWS,
    EpochInputs,
    bundle_document,
    compute_epoch,
    encode_bundle,
    parse_bundle,
    read_document,
)
from datafair.services.settlement.difficulty import ease_factors
from datafair.sim.adversaries import Crowd, Role, easy_picker_crowd, honest_crowd, ring_crowd

CLASSES = ("a", "b", "c")


def _p_right(crowd: Crowd) -> np.ndarray:
    """A stand-in for the posterior: 0.95 for right answers, 0.05 for wrong ones."""
    right = crowd.answer == crowd.truth[crowd.item]
    p: np.ndarray = np.where(right, 0.95, 0.05)
    return p


def _factors(crowd: Crowd) -> np.ndarray:
    found = ease_factors(
        crowd.item,
        crowd.contributor,
        _p_right(crowd),
        np.ones(len(crowd.item), dtype=bool),
        crowd.n_items,
        crowd.n_contributors,
    )
    return found.factor


@pytest.mark.parametrize("seed", [0, 1])
def test_random_assignment_leaves_pay_as_it_was(seed: int) -> None:
    factor = _factors(honest_crowd(seed, 1000))
    assert np.all(np.abs(factor - 1.0) < 0.02)


@pytest.mark.parametrize("seed", [0, 1])
def test_easy_item_pickers_are_paid_for_the_typical_item(seed: int) -> None:
    crowd = easy_picker_crowd(seed, 1000)
    factor = _factors(crowd)
    pickers = np.array([role is Role.EASY_PICKER for role in crowd.roles])
    assert factor[pickers].max() < 0.9
    assert abs(float(np.median(factor[~pickers])) - 1.0) < 0.05
    p = _p_right(crowd)
    raw = np.bincount(crowd.contributor, weights=p) / crowd.answers_of()
    adjusted = np.minimum(1.0, p * factor[crowd.contributor])
    paid = np.bincount(crowd.contributor, weights=adjusted) / crowd.answers_of()
    # before: pickers out-earn the honest median by their easy items; after: they do not
    # (both draw their skill from the same range)
    assert raw[pickers].mean() > 1.15 * np.median(raw[~pickers])
    assert paid[pickers].mean() < 1.1 * np.median(paid[~pickers])


def test_factors_never_pay_more_than_the_price_nor_pay_wrong_answers() -> None:
    crowd = easy_picker_crowd(2, 600)
    p = _p_right(crowd)
    p[::7] = 0.0
    found = ease_factors(
        crowd.item,
        crowd.contributor,
        p,
        np.ones(len(p), dtype=bool),
        crowd.n_items,
        crowd.n_contributors,
    )
    adjusted = found.adjust(crowd.contributor, p)
    assert adjusted.max() <= 1.0 and adjusted.min() >= 0.0
    assert np.all(adjusted[p == 0.0] == 0.0)


def test_answers_left_out_of_the_fit_do_not_make_items_look_hard() -> None:
    """A worker who shares every item with flagged spammers is judged by the others only."""
    crowd = honest_crowd(3, 800)
    p = _p_right(crowd)
    fits = np.ones(len(p), dtype=bool)
    # contributors 0-3 become "spam": their answers are all wrong and left out of the fit
    spam = crowd.contributor < 4
    p[spam] = 0.0
    fits[spam] = False
    found = ease_factors(crowd.item, crowd.contributor, p, fits, crowd.n_items, 40)
    assert np.all(np.abs(found.factor[4:] - 1.0) < 0.03)


def test_no_fitting_answers_gives_factor_one() -> None:
    found = ease_factors(
        np.array([0, 0, 1]),
        np.array([0, 1, 0]),
        np.array([1.0, 0.5, 0.2]),
        np.zeros(3, dtype=bool),
        2,
        3,
    )
    assert found.factor.tolist() == [1.0, 1.0, 1.0] and found.tau2 == 0.0


def _inputs(crowd: Crowd, mechanism: str = "quality") -> EpochInputs:
    cids = [compute_cid(f"ease item {i}".encode()) for i in range(crowd.n_items)]
    items = sorted(cids)
    at = {cid: position for position, cid in enumerate(items)}
    item = np.array([at[cids[i]] for i in crowd.item.tolist()])
    accounts = [f"0x{w + 1:040x}" for w in range(crowd.n_contributors)]
    order = np.lexsort((crowd.contributor, item))
    spec = TaskSpec(
        dataset_cid=items[0],
        title="ease",
        schema=LabelSchema(TaskType.CLASSIFICATION, CLASSES),
        price_per_answer=10**6,
        extra={} if mechanism == "quality" else {"mechanism": mechanism},
    )
    return unsigned_inputs(
        spec,
        items,
        accounts,
        item[order].tolist(),
        crowd.contributor[order].tolist(),
        [f'"{CLASSES[k]}"' for k in crowd.answer[order].tolist()],
        method="auto",
    )


def test_settlement_records_the_factors_and_recomputes_them_from_the_bundle() -> None:
    crowd = easy_picker_crowd(1, 600, n_honest=20, n_pickers=3)
    inputs = _inputs(crowd)
    result = compute_epoch(inputs)
    data = encode_bundle(bundle_document(inputs, result))
    document = read_document(data)
    again = parse_bundle(document)
    assert encode_bundle(bundle_document(again, compute_epoch(again))) == data
    factors = {a: float(f) for a, f in document["ease"]["factor"].items()}
    pickers = [f"0x{w + 1:040x}" for w, r in enumerate(crowd.roles) if r is Role.EASY_PICKER]
    assert all(factors[a] < 0.95 for a in pickers)
    pay = np.array([result.rewards.get(f"0x{w + 1:040x}", 0) for w in range(len(crowd.roles))])
    per_answer = pay / crowd.answers_of()
    honest = np.array([r is Role.HONEST for r in crowd.roles])
    assert per_answer[~honest].mean() < 1.15 * np.median(per_answer[honest])


def test_peer_prediction_scores_against_accounts_not_flagged_only() -> None:
    """Spam-flagged accounts earn nothing under peer prediction and are nobody's peer: the
    others are paid exactly as if the flagged accounts' answers were not there."""
    crowd = ring_crowd(0, 600, share=0.25)
    inputs = _inputs(crowd, mechanism="peer-prediction")
    result = compute_epoch(inputs)
    flagged = set(result.spammers)
    assert flagged  # the ring
    assert all(result.rewards.get(account, 0) == 0 for account in flagged)
    subs = inputs.submissions
    keep = [r for r, c in enumerate(subs.contributor) if subs.accounts[c] not in flagged]
    alone = peer_prediction_rewards(
        [subs.item[r] for r in keep],
        [subs.contributor[r] for r in keep],
        [CLASSES.index(json.loads(subs.answer[r])) for r in keep],
        n_classes=len(CLASSES),
        pool=result.budget,
        seed=inputs.epoch,
        draws=PEER_PREDICTION_DRAWS,
    )
    paid = {subs.accounts[c]: v for c, v in alone.amounts.items() if v}
    assert {a: v for a, v in result.rewards.items() if v} == paid
