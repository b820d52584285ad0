"""Inference use case: infer each item's label and each contributor's skill for a task.

Inputs: an open ``Session``, a task id, and a quality method name (``datafair.quality.METHODS``;
``auto`` by default). Reads every accepted submission and the gold answers of the task, fits the
quality engine, and returns labels with their provenance (the contributors and the hashes of
their signed submissions), ready for export and settlement. Gold answers anchor the fit (they
clamp the gold items' posteriors) but are never exported as inferred labels of other items.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from datafair.core.canonical import keccak256
from datafair.core.errors import InvalidInput
from datafair.core.schemas import CATEGORICAL_TASK_TYPES
from datafair.quality import WorkerSkill, get_aggregator
from datafair.services.submissions import TaskAnswers, task_answers
from datafair.services.tasks import TaskInfo


@dataclass(frozen=True)
class ItemLabel:
    """One item's inferred label with its provenance."""

    item_cid: str
    label: Any
    confidence: float
    n_answers: int
    contributors: list[str]
    signature_hashes: list[str]
    is_gold: bool


@dataclass(frozen=True)
class InferenceResult:
    """Labels for every answered item, skills and spam flags for every contributor."""

    task: TaskInfo
    method: str
    items: list[ItemLabel]
    skills: list[WorkerSkill]
    spammers: frozenset[str]
    answers: TaskAnswers

    def label_of(self) -> dict[str, Any]:
        """``{item_cid: label}`` for every answered item."""
        return {item.item_cid: item.label for item in self.items}


def _provenance(answers: TaskAnswers) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    contributors: dict[str, list[str]] = defaultdict(list)
    hashes: dict[str, list[str]] = defaultdict(list)
    columns = answers.submissions
    for cid, contributor, signature in zip(
        columns.item_cids, columns.contributors, columns.signatures, strict=True
    ):
        contributors[cid].append(contributor)
        hashes[cid].append("0x" + keccak256(signature).hex())
    return contributors, hashes


def infer_task(session: Session, task_id: bytes | str, *, method: str = "auto") -> InferenceResult:
    """Fit the quality engine on the task's submissions; ``InvalidInput`` if there are none."""
    answers = task_answers(session, task_id)
    return infer_answers(answers, method=method)


def infer_answers(answers: TaskAnswers, *, method: str = "auto") -> InferenceResult:
    """Fit the quality engine on already loaded ``TaskAnswers``."""
    task = answers.task
    if len(answers.submissions) == 0:
        raise InvalidInput(
            "task", f"{task.task_id_hex} has no submissions yet", "label some items first"
        )
    if task.spec.task_type not in CATEGORICAL_TASK_TYPES:
        raise InvalidInput(
            "task",
            f"a {task.spec.task_type} task needs its own aggregator",
            "use `datafair quality` for per-type aggregation",
        )
    labels = [json.loads(text) for text in answers.submissions.answers]
    model = get_aggregator(method)
    model.fit(
        answers.submissions.item_cids,
        answers.submissions.contributors,
        labels,
        gold=answers.gold,
        classes=list(task.spec.schema.choices),
    )
    contributors, hashes = _provenance(answers)
    confidence = model.probas_.max(axis=1) if len(model.items_) else np.zeros(0)
    items = [
        ItemLabel(
            item_cid=str(cid),
            label=str(label),
            confidence=float(conf),
            n_answers=len(contributors[str(cid)]),
            contributors=contributors[str(cid)],
            signature_hashes=hashes[str(cid)],
            is_gold=str(cid) in answers.gold,
        )
        for cid, label, conf in zip(model.items_, model.labels_, confidence, strict=True)
    ]
    spammers = frozenset(
        str(worker)
        for worker, flagged in zip(model.workers_, model.is_spammer_, strict=True)
        if flagged
    )
    return InferenceResult(task, method, items, list(model.skills_), spammers, answers)
