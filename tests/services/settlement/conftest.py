"""Fixtures for settlement tests: an embedded chain with datafair deployed, a labelled task.

``world`` is an in-memory embedded chain with DevToken, TaskEscrow and DatasetRegistry deployed
by ``OWNER`` (the operator) and tokens minted to ``REQUESTER``. ``label`` builds a
classification task over ``n`` items (the first one gold), answered by a seeded crowd of the
``contributors`` fixture: four careful wallets (90 % right), one that always says "pos" and one
that answers at random; every answer goes through ``submit_many``.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from settle_helpers import Labelled, World, make_world
from sqlalchemy.orm import Session

from datafair.services.submissions import submit_many


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    made = make_world(tmp_path / "blobs")
    yield made
    made.chain.close()


def _other(value: str) -> str:
    return "neg" if value == "pos" else "pos"


@pytest.fixture
def label(session: Session, make_task: Any, contributors: Any, clock: Any) -> Callable[..., Any]:
    """``label(n=12, seed=0, answer_items=None)``: a task answered by the seeded crowd;
    ``label.answer(labelled, indices, seed, wallets)`` adds answers on more items."""

    def answer(
        made: Any,
        truth: dict[str, str],
        indices: Any,
        rng: random.Random,
        wallets: Any = range(6),
    ) -> None:
        entries = []
        for position in indices:
            cid = made.items[position]
            for who in wallets:
                if who < 4:
                    value = truth[cid] if rng.random() < 0.9 else _other(truth[cid])
                elif who == 4:
                    value = "pos"
                else:
                    value = rng.choice(["pos", "neg"])
                entries.append(contributors[who].sign(made.info, cid, value, position))
        results = submit_many(session, entries, clock=clock)
        assert all(result.ok for result in results), [r.error for r in results if not r.ok]

    def build(n: int = 12, seed: int = 0, answer_items: int | None = None) -> Labelled:
        rng = random.Random(seed)
        truth_list = [rng.choice(["pos", "neg"]) for _ in range(n)]
        made = make_task(n, overlap=6, gold={0: truth_list[0]})
        truth = dict(zip(made.items, truth_list, strict=True))
        answer(made, truth, range(answer_items or n), rng)
        return Labelled(made, truth, [0, 1, 2, 3], 4, 5)

    def more(labelled: Labelled, indices: Any, seed: int = 1, wallets: Any = range(6)) -> None:
        answer(labelled.task, labelled.truth, indices, random.Random(seed), wallets)

    build.answer = more  # type: ignore[attr-defined]
    return build
