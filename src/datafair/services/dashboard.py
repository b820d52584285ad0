"""The requester's quality dashboard: what the plots of a task's labelling show.

Inputs: an open ``Session`` and a task id. Everything comes from the same inference the quality
report and settlement use (:func:`datafair.services.task_board.quality_report`), plus the
accepted submissions:

* answers per hour since the first answer (acceptance times);
* agreement per class: Krippendorff's alpha (nominal) of the one-vs-rest answers "is it class
  c?" for each class (Krippendorff 2004, *Content Analysis*, ch. 11), so a class the crowd
  confuses stands out; the task's overall alpha beside it;
* each contributor's inferred skill with its 95 % credible interval (the aggregator's);
* confusion matrices of the contributors with the most answers, against the inferred labels;
* accuracy on gold items (the requester's own gold, never shown to contributors);
* spend so far (price × accepted answers) and projected (price × the answers the task can take).

Categorical tasks (classification, preference) get every plot; structured ones get the answer
rate, skills, spend and gold accuracy by the type's score.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from datafair.core.schemas import CATEGORICAL_TASK_TYPES
from datafair.services.task_board import quality_report
from datafair.services.tasks import task_progress

HOUR_MS = 3_600_000
TOP_CONFUSIONS = 4


@dataclass(frozen=True)
class SkillBar:
    contributor: str
    accuracy: float
    low: float
    high: float
    answers: int
    spam: bool


@dataclass(frozen=True)
class Confusion:
    contributor: str
    classes: list[str]
    counts: list[list[int]]  # counts[true][given], rows: inferred label


@dataclass(frozen=True)
class Dashboard:
    task_type: str
    method: str
    answers: int
    items: int
    answered_items: int
    answers_per_hour: list[tuple[int, int]]  # (hour since first answer, answers)
    alpha: float | None
    alpha_per_class: list[tuple[str, float | None]]
    skills: list[SkillBar]
    confusions: list[Confusion]
    gold_accuracy: float | None
    gold_answers: int
    spent: int
    projected: int
    agreement: dict[str, float | None] = field(default_factory=dict)


def _alpha(items: Sequence[str], workers: Sequence[str], labels: Sequence[Any]) -> float | None:
    from datafair.quality.agreement import krippendorff_alpha

    if len(set(labels)) < 2:
        return None
    value = krippendorff_alpha(items, workers, labels)
    return None if value != value else round(value, 4)  # NaN: nothing pairable


def _hours(accepted_at: Sequence[int]) -> list[tuple[int, int]]:
    if not accepted_at:
        return []
    start = min(accepted_at)
    counts = Counter((t - start) // HOUR_MS for t in accepted_at)
    return [(int(hour), counts.get(hour, 0)) for hour in range(int(max(counts)) + 1)]


def _empty(session: Session, task_id: bytes | str, items: int) -> Dashboard:
    from datafair.services.tasks import get_task

    spec = get_task(session, task_id).spec
    session.rollback()
    capacity = items * spec.overlap
    return Dashboard(
        task_type=str(spec.task_type),
        method="none yet",
        answers=0,
        items=items,
        answered_items=0,
        answers_per_hour=[],
        alpha=None,
        alpha_per_class=[],
        skills=[],
        confusions=[],
        gold_accuracy=None,
        gold_answers=0,
        spent=0,
        projected=spec.price_per_answer * capacity,
    )


def task_dashboard(session: Session, task_id: bytes | str) -> Dashboard:
    """Everything the dashboard plots for one task (see the module docstring)."""
    progress = task_progress(session, task_id)
    if progress.answers == 0:
        return _empty(session, task_id, progress.items - progress.gold_items)
    report = quality_report(session, task_id)
    inference = report.inference
    answers = inference.answers
    spec = answers.task.spec
    columns = answers.submissions
    session.rollback()
    values = [json.loads(text) for text in columns.answers]
    labels = inference.label_of()
    categorical = spec.task_type in CATEGORICAL_TASK_TYPES
    classes = [str(c) for c in spec.schema.choices] if categorical else []
    alpha = None
    per_class: list[tuple[str, float | None]] = []
    confusions: list[Confusion] = []
    if categorical and len(columns):
        plain = [str(v) for v in values]
        alpha = _alpha(columns.item_cids, columns.contributors, plain)
        for name in classes:
            per_class.append(
                (name, _alpha(columns.item_cids, columns.contributors, [v == name for v in plain]))
            )
        busiest = Counter(columns.contributors).most_common(TOP_CONFUSIONS)
        index = {name: i for i, name in enumerate(classes)}
        for contributor, _ in busiest:
            counts = [[0] * len(classes) for _ in classes]
            for cid, who, value in zip(columns.item_cids, columns.contributors, plain, strict=True):
                truth = labels.get(cid)
                if who == contributor and truth is not None and str(truth) in index:
                    counts[index[str(truth)]][index[value]] += 1
            confusions.append(Confusion(contributor, classes, counts))
    gold = answers.gold
    gold_rows = [
        (value, gold[cid])
        for cid, value in zip(columns.item_cids, values, strict=True)
        if cid in gold
    ]
    gold_accuracy = (
        round(sum(1 for given, right in gold_rows if given == right) / len(gold_rows), 4)
        if gold_rows
        else None
    )
    skills = sorted(
        (
            SkillBar(
                contributor=str(skill.worker),
                accuracy=float(skill.accuracy),
                low=float(skill.low),
                high=float(skill.high),
                answers=int(skill.n_answers),
                spam=str(skill.worker) in inference.spammers,
            )
            for skill in inference.skills
        ),
        key=lambda bar: (-bar.accuracy, bar.contributor),
    )
    capacity = (progress.items - progress.gold_items) * spec.overlap
    return Dashboard(
        task_type=str(spec.task_type),
        method=inference.method,
        answers=len(columns),
        items=progress.items,
        answered_items=len({cid for cid in columns.item_cids}),
        answers_per_hour=_hours(columns.accepted_at),
        alpha=alpha,
        alpha_per_class=per_class,
        skills=skills,
        confusions=confusions,
        gold_accuracy=gold_accuracy,
        gold_answers=len(gold_rows),
        spent=spec.price_per_answer * len(columns),
        projected=spec.price_per_answer * max(capacity, len(columns)),
        agreement=report.agreement,
    )
