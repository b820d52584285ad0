"""Inference use case: infer each item's label and each contributor's skill for a task.

Inputs: an open ``Session``, a task id, and a quality method name (``datafair.quality.METHODS``;
``auto`` by default). Reads every accepted submission and the gold answers of the task, fits the
task type's aggregator (see :func:`infer_answers`), and returns labels with their provenance
(the contributors and the hashes of their signed submissions), ready for export and settlement.
Gold answers anchor the fit (they clamp the gold items' posteriors) but are never exported as
inferred labels of other items.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from datafair.core.canonical import keccak256
from datafair.core.errors import InvalidInput
from datafair.core.schemas import TaskType
from datafair.quality import PreferenceAggregator, WorkerSkill, get_aggregator
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
    dependence: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per contributor in a dependent group (copiers, rings): its group, dependence score and
    strongest pair's evidence (:mod:`datafair.quality.dependence`); categorical tasks only."""

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
    """Fit the task type's aggregator on already loaded ``TaskAnswers``.

    Classification: the categorical aggregator ``method``. Preference: CrowdBT
    (:class:`~datafair.quality.PreferenceAggregator`) for ``auto``, else the categorical
    ``method`` over the two sides. Multi-label, spans, boxes and transcription: the type's own
    aggregator (:func:`datafair.services.settlement.structured.structured_aggregator`), whose
    consensus is in the canonical answer form. Gold items keep their gold answer (confidence 1).
    """
    task = answers.task
    if len(answers.submissions) == 0:
        raise InvalidInput(
            "task", f"{task.task_id_hex} has no submissions yet", "label some items first"
        )
    task_type = task.spec.task_type
    if task_type is TaskType.CLASSIFICATION or (
        task_type is TaskType.PREFERENCE and method.strip().lower() != "auto"
    ):
        fitted = _categorical(answers, method)
    elif task_type is TaskType.PREFERENCE:
        fitted = _preference(answers)
    else:
        fitted = _structured(answers, method)
    item_keys, labels, confidences, model = fitted
    contributors, hashes = _provenance(answers)
    items = [
        ItemLabel(
            item_cid=str(cid),
            label=label,
            confidence=1.0 if str(cid) in answers.gold else float(conf),
            n_answers=len(contributors[str(cid)]),
            contributors=contributors[str(cid)],
            signature_hashes=hashes[str(cid)],
            is_gold=str(cid) in answers.gold,
        )
        for cid, label, conf in zip(item_keys, labels, confidences, strict=True)
    ]
    spammers = frozenset(
        str(worker)
        for worker, flagged in zip(model.workers_, model.is_spammer_, strict=True)
        if flagged
    )
    return InferenceResult(
        task, method, items, list(model.skills_), spammers, answers, dependence_report(model)
    )


def dependence_report(model: Any) -> dict[str, dict[str, Any]]:
    """``{contributor: {group, score, partner, shared_items, test, agree_wrong, expected,
    p_value}}`` for every contributor the fitted ``model`` put in a dependent group."""
    found = getattr(model, "dependence_", None)
    if found is None:
        return {}
    names = [str(worker) for worker in model.workers_]
    return {
        names[w]: {
            "group": int(found.group[w]),
            "score": round(float(found.score[w]), 6),
            "partner": names[int(found.partner[w])] if found.partner[w] >= 0 else None,
            "shared_items": int(found.shared[w]),
            "test": "cluster" if found.by_cluster[w] else "pair",
            "agree_wrong": int(found.agree_wrong[w]),
            "expected": round(float(found.expected[w]), 6),
            "p_value": float(found.p_value[w]),
        }
        for w in range(len(names))
        if found.group[w] >= 0
    }


_Fitted = tuple[list[str], list[Any], list[float], Any]


def _categorical(answers: TaskAnswers, method: str) -> _Fitted:
    labels = [json.loads(text) for text in answers.submissions.answers]
    model = get_aggregator(method)
    model.fit(
        answers.submissions.item_cids,
        answers.submissions.contributors,
        labels,
        gold=answers.gold,
        classes=list(answers.task.spec.schema.choices),
    )
    confidence = model.probas_.max(axis=1) if len(model.items_) else np.zeros(0)
    return (
        [str(cid) for cid in model.items_],
        [str(label) for label in model.labels_],
        [float(value) for value in confidence],
        model,
    )


def _with_gold(item_keys: list[str], labels: list[Any], gold: dict[str, Any]) -> list[Any]:
    return [gold.get(cid, label) for cid, label in zip(item_keys, labels, strict=True)]


def _preference(answers: TaskAnswers) -> _Fitted:
    model = PreferenceAggregator().fit(
        list(answers.submissions.item_cids),
        list(answers.submissions.contributors),
        [json.loads(text) for text in answers.submissions.answers],
    )
    item_keys = [str(cid) for cid in model.items_]
    labels = _with_gold(item_keys, list(model.labels_), answers.gold)
    return item_keys, labels, [float(value) for value in model.confidences_], model


def _structured(answers: TaskAnswers, method: str) -> _Fitted:
    from datafair.services.settlement.structured import (
        consensus_labels,
        fit_structured,
        structured_aggregator,
    )

    spec = answers.task.spec
    model = structured_aggregator(spec.task_type, method, {})
    classes = None if spec.task_type is TaskType.TRANSCRIPTION else list(spec.schema.classes)
    fit_structured(
        model,
        np.asarray(answers.submissions.item_cids, dtype=object),
        np.asarray(answers.submissions.contributors, dtype=object),
        [json.loads(text) for text in answers.submissions.answers],
        classes,
    )
    item_keys = [str(cid) for cid in model.items_]
    gold_index = {
        position: answers.gold[cid] for position, cid in enumerate(item_keys) if cid in answers.gold
    }
    labels = consensus_labels(spec.task_type, model.labels_, gold_index)
    return item_keys, labels, [float(value) for value in model.confidences_], model
