"""Gold decides when gold exists (datafair.quality.gold_bounds)."""

from __future__ import annotations

import numpy as np
import pytest

from datafair.quality import get_aggregator
from datafair.quality._encode import encode_answers
from datafair.quality.gold_bounds import gold_record


def ring_crowd(
    seed: int, *, n_items: int = 500, n_gold: int = 200, honest: int = 3, ring: int = 6
) -> tuple[list[int], list[str], list[int], dict[int, int], np.ndarray]:
    """Every wallet answers every item: ``honest`` workers right 85 % of the time, and a ring
    of ``ring`` wallets that all give the same random class per item (3 classes)."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 3, n_items)
    shared = rng.integers(0, 3, n_items)
    items, workers, labels = [], [], []
    for i in range(n_items):
        for h in range(honest):
            right = rng.random() < 0.85
            labels.append(int(truth[i]) if right else int((truth[i] + rng.integers(1, 3)) % 3))
            items.append(i)
            workers.append(f"honest-{h}")
        for r in range(ring):
            items.append(i)
            workers.append(f"ring-{r}")
            labels.append(int(shared[i]))
    gold = {i: int(truth[i]) for i in range(n_gold)}
    return items, workers, labels, gold, truth


def cheater_crowd(
    seed: int, *, n_items: int, n_gold: int, accuracy: float
) -> tuple[list[int], list[str], list[int], dict[int, int]]:
    """Four honest workers right with probability ``accuracy`` on every item (3 classes), and a
    gold-aware cheater right on the gold items (the first ``n_gold``), guessing on the rest."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 3, n_items)
    items, workers, labels = [], [], []
    for i in range(n_items):
        for h in range(4):
            right = rng.random() < accuracy
            labels.append(int(truth[i]) if right else int((truth[i] + rng.integers(1, 3)) % 3))
            items.append(i)
            workers.append(f"honest-{h}")
        items.append(i)
        workers.append("cheater")
        labels.append(int(truth[i]) if i < n_gold else int(rng.integers(0, 3)))
    return items, workers, labels, {i: int(truth[i]) for i in range(n_gold)}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_ring_at_chance_on_gold_is_flagged_and_left_out_of_inference(seed: int) -> None:
    items, workers, labels, gold, truth = ring_crowd(seed)
    without = get_aggregator("auto").fit(items, workers, labels)
    # without gold the ring outvotes the honest workers
    assert np.mean(without.labels_ == truth) < 0.5
    model = get_aggregator("auto").fit(items, workers, labels, gold=gold)
    flagged = dict(zip(model.workers_.tolist(), model.is_spammer_.tolist(), strict=True))
    assert all(flagged[f"ring-{r}"] for r in range(6))
    assert not any(flagged[f"honest-{h}"] for h in range(3))
    open_items = np.arange(200, 500)
    assert np.mean(model.labels_[open_items] == truth[open_items]) > 0.9
    skills = {s.worker: s for s in model.skills_}
    assert skills["ring-0"].accuracy <= skills["ring-0"].high < 0.5


def test_gold_caps_the_reported_accuracy_at_its_interval() -> None:
    items, workers, labels, gold, _ = ring_crowd(0, n_gold=30, ring=2)
    model = get_aggregator("auto").fit(items, workers, labels, gold=gold)
    record = gold_record(encode_answers(items, workers, labels, gold=gold))
    assert record is not None
    for w, skill in enumerate(model.skills_):
        assert skill.accuracy <= record.high[w] + 1e-12
        assert skill.high <= record.high[w] + 1e-12


def test_a_good_gold_record_never_lifts_a_worker_at_chance_elsewhere() -> None:
    # a gold-aware cheater: right on every gold item, uniform guesses on the others; its gold
    # record is perfect, but gold only ever lowers what the other answers say
    items, workers, labels, gold = cheater_crowd(3, n_items=600, n_gold=60, accuracy=0.85)
    model = get_aggregator("auto").fit(items, workers, labels, gold=gold)
    record = gold_record(encode_answers(items, workers, labels, gold=gold))
    assert record is not None
    cheater = model.workers_.tolist().index("cheater")
    assert record.low[cheater] > 0.9
    skill = model.skills_[cheater]
    assert skill.accuracy < 0.5
    assert model.is_spammer_[cheater]


def test_the_gold_record_uses_balanced_accuracy() -> None:
    # 80/20 gold; a worker always answering the majority class is right 80 % of the time but
    # its balanced accuracy is chance, 1/2
    gold = {i: int(i % 5 == 0) for i in range(200)}
    items = list(range(200)) * 2
    workers = ["constant"] * 200 + ["honest"] * 200
    labels = [0] * 200 + [gold[i] if i % 3 else 1 - gold[i] for i in range(200)]
    record = gold_record(encode_answers(items, workers, labels, gold=gold))
    assert record is not None
    assert record.accuracy[0] == pytest.approx(0.8)
    assert record.balanced_high[0] < 0.6 < record.balanced_low[1] + 0.1
    assert record.excluded.tolist() == [True, False]


def test_no_gold_answers_means_no_record() -> None:
    assert gold_record(encode_answers([1, 2], ["a", "b"], [0, 1], gold={3: 0})) is None


def test_a_class_met_twice_says_little_about_balanced_accuracy() -> None:
    # right on 7 of 11 gold items of class 0, wrong on the 3 of class 1 and the 2 of class 2:
    # 7 of 16 overall, but two of the three recalls rest on a handful of items
    truth = [0] * 11 + [1] * 3 + [2] * 2
    answers = [0] * 7 + [1] * 4 + [0] * 3 + [0] * 2
    gold = dict(enumerate(truth))
    record = gold_record(encode_answers(list(range(16)), ["w"] * 16, answers, gold=gold))
    assert record is not None
    assert not record.excluded[0]
    # a quarter right in every class, on 16 items each, is a spammer's record
    truth = [0] * 16 + [1] * 16 + [2] * 16
    answers = [(t + (i % 16 % 4 != 0)) % 3 for i, t in enumerate(truth)]  # 4 of 16 per class
    gold = dict(enumerate(truth))
    record = gold_record(encode_answers(list(range(48)), ["w"] * 48, answers, gold=gold))
    assert record is not None
    assert record.excluded[0]


def test_the_spam_score_of_a_worker_with_gold_comes_from_their_other_answers() -> None:
    # a cheater right on every gold item (a third of the items) and guessing elsewhere: counted
    # over all its answers its competence is well above the spam line (about 0.5), off gold it
    # is that of a guesser; honest workers are scored alike either way
    items, workers, labels, gold = cheater_crowd(5, n_items=450, n_gold=150, accuracy=0.8)
    model = get_aggregator("ds").fit(items, workers, labels, gold=gold)
    scores = dict(zip(model.workers_.tolist(), model.spam_scores_.tolist(), strict=True))
    assert scores["cheater"] > 0.9
    assert max(scores[f"honest-{h}"] for h in range(4)) < 0.01
    # without gold the same answers look like a competent worker's
    plain = get_aggregator("ds").fit(items, workers, labels)
    flagged = dict(zip(plain.workers_.tolist(), plain.is_spammer_.tolist(), strict=True))
    assert not flagged["cheater"]
