"""Simulated reviewers: which submissions each member of a crowd reviews, and their verdicts.

Pure (no I/O): takes the submissions as columns and a :class:`~datafair.sim.population.
Population`, returns a review plan that the review service signs and stores
(:func:`datafair.services.reviews.sign_and_submit_reviews`).

Behaviour by kind, judging whether the submitted label equals the true one:

* ``skilled`` and ``careless``: the right verdict with probability equal to their accuracy
  (the mean of their confusion diagonal), the wrong one otherwise;
* ``spammer``: accept or reject with probability 1/2 each (no information);
* ``adversary`` and ``ring``: always accept (a rubber stamp);
* ``copier``: like the worker it copies (its confusion is that worker's).

Each submission gets ``per_submission`` distinct reviewers drawn uniformly from the crowd
members who neither made it nor answered its item (reviews must be independent of one's own
answer). The draw uses its own ``numpy`` generator seeded by ``seed``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from datafair.sim.population import ContributorKind, Population, SimContributor


@dataclass(frozen=True)
class PlannedReview:
    """Reviewer ``reviewer`` judges the submission in row ``row`` with ``verdict``."""

    row: int
    reviewer: SimContributor
    verdict: str


def _verdict(reviewer: SimContributor, label_is_right: bool, rng: np.random.Generator) -> str:
    if reviewer.kind in (ContributorKind.ADVERSARY, ContributorKind.RING):
        return "accept"
    if reviewer.kind is ContributorKind.SPAMMER:
        return "accept" if rng.random() < 0.5 else "reject"
    says_right = label_is_right if rng.random() < reviewer.accuracy else not label_is_right
    return "accept" if says_right else "reject"


def plan_reviews(
    population: Population,
    contributors: Sequence[str],
    items: Sequence[Hashable],
    labels: Sequence[Hashable],
    truth: Mapping[Hashable, Hashable],
    *,
    per_submission: int = 1,
    seed: int = 0,
) -> list[PlannedReview]:
    """A review plan for the submissions given as aligned columns (contributor address, item,
    label); ``truth`` maps items to their true label. Addresses compare case-insensitively.
    Rows whose item has no truth, or that lack eligible reviewers, get fewer reviews (possibly
    none)."""
    if per_submission < 1:
        raise ValueError("per_submission must be at least 1")
    rng = np.random.default_rng(seed)
    answered: dict[Hashable, set[str]] = defaultdict(set)
    for contributor, item in zip(contributors, items, strict=True):
        answered[item].add(contributor.lower())
    plan: list[PlannedReview] = []
    for row, (item, label) in enumerate(zip(items, labels, strict=True)):
        if item not in truth:
            continue
        eligible = [c for c in population.contributors if c.address.lower() not in answered[item]]
        if not eligible:
            continue
        count = min(per_submission, len(eligible))
        for position in rng.choice(len(eligible), size=count, replace=False).tolist():
            reviewer = eligible[position]
            plan.append(PlannedReview(row, reviewer, _verdict(reviewer, label == truth[item], rng)))
    return plan
