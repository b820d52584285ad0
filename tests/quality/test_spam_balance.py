"""Spam scores respect class balance: honest workers on imbalanced data are never flagged,
uniform and constant-answer spammers are (datafair.quality.skills.spam_scores)."""

from __future__ import annotations

import numpy as np
import pytest

from datafair.quality import get_aggregator
from datafair.quality.skills import spam_scores


def imbalanced_crowd(
    seed: int, *, n_items: int = 3000, k: int = 5, minority: float = 0.2
) -> tuple[list[int], list[str], list[int], dict[str, float]]:
    """Two classes 80/20; 40 honest workers of accuracy 0.65-0.95 (symmetric errors), 4 uniform
    spammers, 4 constant-answer (majority class) spammers; ``k`` answers per item from
    workers drawn at random."""
    rng = np.random.default_rng(seed)
    truth = (rng.random(n_items) < minority).astype(int)
    accuracy = {f"honest-{h:02d}": float(a) for h, a in enumerate(rng.uniform(0.65, 0.95, 40))}
    kinds = {**{name: "honest" for name in accuracy}}
    kinds.update({f"uniform-{s}": "uniform" for s in range(4)})
    kinds.update({f"constant-{s}": "constant" for s in range(4)})
    names = sorted(kinds)
    items, workers, labels = [], [], []
    for i in range(n_items):
        for name in rng.choice(names, size=k, replace=False):
            if kinds[name] == "honest":
                right = rng.random() < accuracy[name]
                label = int(truth[i]) if right else 1 - int(truth[i])
            elif kinds[name] == "uniform":
                label = int(rng.integers(0, 2))
            else:
                label = 0
            items.append(i)
            workers.append(str(name))
            labels.append(label)
    return items, workers, labels, accuracy


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_no_honest_worker_is_flagged_and_every_spammer_is(seed: int) -> None:
    # about 300 answers each: on 80/20 data fewer do not tell competence 0.3 from 0
    items, workers, labels, _ = imbalanced_crowd(seed)
    # (the minority row has about 60 of them): competence is measured against the inferred truth
    # and corrected for its errors, and the line is halfway, so a uniform spammer whose sampled
    # competence lands near the line may score just under it; it still scores above every honest
    # worker, and well above a newcomer's prior score, so most of its pay is held
    # (datafair.economics.held)
    model = get_aggregator("auto").fit(items, workers, labels)
    flagged = {str(w) for w, spam in zip(model.workers_, model.is_spammer_, strict=True) if spam}
    assert not {w for w in flagged if w.startswith("honest")}
    score = dict(zip(model.workers_.tolist(), model.spam_scores_.tolist(), strict=True))
    spammers = [w for w in score if not w.startswith("honest")]
    honest_top = max(v for w, v in score.items() if w.startswith("honest"))
    assert all(w in flagged or score[w] > max(0.3, honest_top) for w in spammers)
    assert sum(w in flagged for w in spammers) >= len(spammers) - 1


def test_competence_ignores_the_class_balance() -> None:
    # the same honest worker (right 65 % on each class) seen on 80/20 and 50/50 data
    skewed = np.array([[[260.0, 140.0], [35.0, 65.0]]])
    even = np.array([[[162.5, 87.5], [87.5, 162.5]]])
    assert spam_scores(skewed)[0] < 0.05
    assert spam_scores(even)[0] < spam_scores(skewed)[0] + 0.2
    # a constant answer scores as a spammer on both
    constant = np.array([[[400.0, 0.0], [100.0, 0.0]]])
    assert spam_scores(constant)[0] > 0.99


def test_a_worker_without_answers_is_not_flagged() -> None:
    for k in (2, 3, 5):
        assert spam_scores(np.zeros((1, k, k)))[0] < 0.5
