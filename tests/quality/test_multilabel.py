"""Multi-label answers: per-class binary relevance."""

from __future__ import annotations

import numpy as np
import pytest

from datafair.core.errors import InvalidInput
from datafair.quality import MultiLabelAggregator

CLASSES = ["animal", "indoor", "person", "vehicle"]


def _crowd(seed: int = 0) -> tuple[list[int], list[str], list[list[str]], list[set[str]]]:
    rng = np.random.default_rng(seed)
    truth = [set(np.array(CLASSES)[rng.random(4) < 0.35].tolist()) for _ in range(250)]
    items, workers, answers = [], [], []
    for item, tags in enumerate(truth):
        for w in rng.choice(14, 5, replace=False):
            if w >= 11:  # careless: ticks at random
                ticked = [c for c in CLASSES if rng.random() < 0.5]
            else:
                accuracy = 0.75 + 0.02 * w
                ticked = [
                    c
                    for c in CLASSES
                    if ((c in tags) if rng.random() < accuracy else rng.random() < 0.5)
                ]
            items.append(item)
            workers.append(f"w{w:02d}")
            answers.append(ticked)
    return items, workers, answers, truth


def test_recovers_label_sets_better_than_any_single_worker() -> None:
    items, workers, answers, truth = _crowd()
    est = MultiLabelAggregator().fit(items, workers, answers)
    exact = np.mean([set(lab) == tags for lab, tags in zip(est.labels_, truth, strict=True)])
    assert exact > 0.9
    assert est.classes_.tolist() == CLASSES
    assert est.probas_.shape == (250, 4)
    assert all(lab == sorted(lab, key=CLASSES.index) for lab in est.labels_)
    careless = np.array([int(w[1:]) >= 11 for w in est.workers_])
    acc = np.array([s.accuracy for s in est.skills_])
    assert acc[careless].max() < acc[~careless].min()
    assert est.is_spammer_[careless].all() and not est.is_spammer_[~careless].any()
    assert all(s.confusion.shape == (2, 2) for s in est.skills_)
    assert np.all((est.confidences_ > 0.5) & (est.confidences_ <= 1.0))


def test_declared_classes_and_unknown_class() -> None:
    est = MultiLabelAggregator().fit(["a", "a"], ["w1", "w2"], [[], ["x"]], classes=["x", "y"])
    assert est.probas_.shape == (1, 2)
    with pytest.raises(InvalidInput, match="'z' in answer row 0 is not among the classes"):
        MultiLabelAggregator().fit(["a"], ["w"], [["z"]], classes=["x"])


def test_a_bare_string_is_not_a_label_list() -> None:
    with pytest.raises(InvalidInput, match="expected a list of class names, got str"):
        MultiLabelAggregator().fit(["a"], ["w"], ["cat"])  # type: ignore[list-item]


def test_method_is_configurable() -> None:
    items, workers, answers, truth = _crowd(seed=1)
    est = MultiLabelAggregator("mv").fit(items, workers, answers)
    exact = np.mean([set(lab) == tags for lab, tags in zip(est.labels_, truth, strict=True)])
    assert exact > 0.6
