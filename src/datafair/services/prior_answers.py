"""Prior answers: the labels a dataset brought with it (Label Studio annotations and
predictions, COCO boxes), stored beside the dataset, and turned into a task's gold.

Inputs: an open ``Session``, the dataset's manifest CID, the ``PriorLabel`` list of a parse
(with the parse's ``{source: item CID}``), or a task's ``LabelSchema`` to take gold for.
Prior answers are not submissions: nobody signed them here and nobody is paid for them. Gold
ones can become a task's gold answers (``datafair task create --gold-from-dataset``); hidden
predictions are shown to nobody.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from datafair.core.canonical import canonical_json
from datafair.core.errors import InvalidInput
from datafair.core.schemas import LabelSchema, TaskType
from datafair.formats.items import PriorLabel
from datafair.store.prior_models import PriorAnswer
from datafair.store.repositories import ItemRepository, item_context


@dataclass(frozen=True)
class PriorAnswerInfo:
    """One stored prior answer."""

    item_cid: str
    role: str
    contributor: str
    task_type: str
    answer: Any
    source: str
    visible: bool


def store_prior_labels(
    session: Session,
    dataset_cid: str,
    labels: list[PriorLabel],
    cid_of_source: dict[str, str],
    *,
    show_predictions: bool,
    now_ms: int,
) -> int:
    """Add the labels not stored yet for ``dataset_cid`` (no commit); how many were new."""
    rows = session.execute(
        select(PriorAnswer.source, PriorAnswer.task_type).where(
            PriorAnswer.dataset_cid == dataset_cid
        )
    )
    stored = {(source, task_type) for source, task_type in rows}
    new = 0
    for label in labels:
        if (label.source, label.task_type) in stored:
            continue
        stored.add((label.source, label.task_type))
        session.add(
            PriorAnswer(
                dataset_cid=dataset_cid,
                item_cid=cid_of_source[label.item_source],
                role=label.role,
                contributor=label.contributor[:200],
                task_type=label.task_type,
                answer=canonical_json(label.answer).decode("utf-8"),
                source=label.source[:300],
                visible=label.role != "prediction" or show_predictions,
                created_at=now_ms,
            )
        )
        new += 1
    return new


def prior_answers(
    session: Session, dataset_cid: str, *, role: str | None = None, task_type: str | None = None
) -> list[PriorAnswerInfo]:
    """The dataset's prior answers (of ``role`` and ``task_type`` when given), in import order."""
    query = select(PriorAnswer).where(PriorAnswer.dataset_cid == dataset_cid)
    if role is not None:
        query = query.where(PriorAnswer.role == role)
    if task_type is not None:
        query = query.where(PriorAnswer.task_type == task_type)
    return [
        PriorAnswerInfo(
            row.item_cid,
            row.role,
            row.contributor,
            row.task_type,
            json.loads(row.answer),
            row.source,
            row.visible,
        )
        for row in session.scalars(query.order_by(PriorAnswer.id))
    ]


def pre_annotations(
    session: Session, dataset_cid: str, item_cid: str, task_type: str
) -> list[PriorAnswerInfo]:
    """The predictions of an item a labeller may see (imported with ``show_predictions``)."""
    query = select(PriorAnswer).where(
        PriorAnswer.dataset_cid == dataset_cid,
        PriorAnswer.item_cid == item_cid,
        PriorAnswer.task_type == task_type,
        PriorAnswer.role == "prediction",
        PriorAnswer.visible.is_(True),
    )
    return [
        PriorAnswerInfo(
            row.item_cid,
            row.role,
            row.contributor,
            row.task_type,
            json.loads(row.answer),
            row.source,
            row.visible,
        )
        for row in session.scalars(query.order_by(PriorAnswer.id))
    ]


def prior_counts(session: Session, dataset_cid: str) -> dict[str, int]:
    """``{"<role> <task type>": count}`` of the dataset's prior answers."""
    return dict(Counter(f"{a.role} {a.task_type}" for a in prior_answers(session, dataset_cid)))


def gold_from_prior(session: Session, dataset_cid: str, schema: LabelSchema) -> dict[str, Any]:
    """``{item CID: answer}`` of the dataset's gold prior answers that fit ``schema``.

    A single-class gold answer serves a multi-label task as a one-class list. Each answer is
    checked against the task's classes and the item (``InvalidInput`` naming its source).
    """
    wanted = {str(schema.task_type)}
    if schema.task_type is TaskType.MULTILABEL:
        wanted.add(str(TaskType.CLASSIFICATION))
    items = ItemRepository(session)
    gold: dict[str, Any] = {}
    for prior in prior_answers(session, dataset_cid, role="gold"):
        if prior.task_type not in wanted:
            continue
        answer = prior.answer
        if prior.task_type != str(schema.task_type):
            answer = [answer]
        item = items.get(prior.item_cid)
        if item is None:
            continue
        try:
            gold[prior.item_cid] = schema.validate(answer, item_context(item))
        except InvalidInput as error:
            raise InvalidInput(
                f"gold {prior.source}", str(error), "fix the task's classes or the imported gold"
            ) from None
    return gold
