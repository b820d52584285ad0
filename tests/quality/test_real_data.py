"""Accuracy on the real label sets in ../shared/data/crowd (skipped when absent)."""

from __future__ import annotations

import numpy as np
import pytest

from datafair.quality import get_aggregator

from ._data import CROWD_DATA, load_real

# crowd-kit 1.4.2 on the same files: the best of its methods, and its majority vote
BEST_CROWD_KIT = {"bluebird": 0.889, "rte": 0.9275}


@pytest.mark.parametrize("name", ["bluebird", "rte"])
def test_auto_matches_the_best_reference_method(name: str) -> None:
    if not (CROWD_DATA / name / "answers.csv").exists():
        pytest.skip(f"real data set {name} not present")
    items, workers, labels, truth = load_real(name)
    auto = get_aggregator("auto").fit(items, workers, labels)
    mv = get_aggregator("mv").fit(items, workers, labels)

    def score(est: object) -> float:
        pairs = [(truth[i], lab) for i, lab in zip(est.items_, est.labels_, strict=True)]  # type: ignore[attr-defined]
        return float(np.mean([t == lab for t, lab in pairs if t is not None]))

    assert score(auto) >= BEST_CROWD_KIT[name] - 0.003
    assert score(auto) >= score(mv)
