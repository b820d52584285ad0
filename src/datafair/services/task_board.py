"""Views of tasks for a market: the board of tasks with their pay, and the quality report.

Inputs: an open ``Session`` (reads only), a task id, an inference method.

* :func:`task_board` — every task (or the open ones) with its price per answer and the
  **effective hourly pay** at the median time on item of the answers so far
  (:func:`datafair.services.fair_pay.fair_pay_status`);
* :func:`quality_report` — inferred labels (answers and reviews,
  :func:`datafair.services.reviews.infer_with_reviews`), each contributor's skill with its 95 %
  credible interval, the spam-flagged accounts, and agreement (Krippendorff's alpha, Fleiss'
  kappa when every item has as many answers, and the mean agreement with the inferred labels).
  Gold answers are not part of it.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from datafair.core.schemas import CATEGORICAL_TASK_TYPES
from datafair.services.fair_pay import FairPayStatus, fair_pay_status
from datafair.services.inference import InferenceResult
from datafair.services.tasks import Clock, TaskInfo, get_task, list_tasks
from datafair.services.view_cache import cached_view


@dataclass(frozen=True)
class BoardEntry:
    """A task and its pay so far."""

    task: TaskInfo
    pay: FairPayStatus


def task_board(
    session: Session, *, open_only: bool = True, clock: Clock = time.time
) -> list[BoardEntry]:
    """Tasks (open ones only by default), oldest first, with their effective hourly pay."""
    try:
        now = clock()
        tasks = [info for info in list_tasks(session) if not open_only or info.is_open_at(now)]
        return [BoardEntry(info, _pay(session, info)) for info in tasks]
    finally:
        session.rollback()


def task_entry(session: Session, task_id: bytes | str) -> BoardEntry:
    """One task and its pay so far."""
    try:
        info = get_task(session, task_id)
        return BoardEntry(info, _pay(session, info))
    finally:
        session.rollback()


def _pay(session: Session, info: TaskInfo) -> FairPayStatus:
    """The task's pay so far, recomputed only when the store has new answers."""
    pay, _ = cached_view(
        session, "fair_pay", info.task_id, lambda: fair_pay_status(session, info.task_id)
    )
    return pay


@dataclass(frozen=True)
class QualityReport:
    """What :func:`quality_report` returns."""

    inference: InferenceResult
    agreement: dict[str, float | None]


def _finite(value: float) -> float | None:
    return None if math.isnan(value) or math.isinf(value) else round(float(value), 6)


def quality_report(
    session: Session, task_id: bytes | str, *, method: str = "auto"
) -> QualityReport:
    """Labels, skills, spam flags and agreement of the task (see the module docstring)."""
    from datafair.quality.agreement import (
        agreement_with_aggregate,
        fleiss_kappa,
        krippendorff_alpha,
        rating_table,
    )
    from datafair.services.reviews import infer_with_reviews

    try:
        inference = infer_with_reviews(session, task_id, method=method)
    finally:
        session.rollback()
    answers = inference.answers.submissions
    agreement: dict[str, float | None] = {
        "krippendorff_alpha": None,
        "fleiss_kappa": None,
        "agreement_with_labels": None,
    }
    if inference.task.spec.task_type in CATEGORICAL_TASK_TYPES and len(answers):
        items = list(answers.item_cids)
        workers = list(answers.contributors)
        labels: list[Any] = list(answers.answers)  # canonical JSON text: comparable values
        agreement["krippendorff_alpha"] = _finite(krippendorff_alpha(items, workers, labels))
        _, _, table = rating_table(items, workers, labels)
        raters = table.sum(axis=1)
        if len(raters) and raters.min() == raters.max() and raters.min() >= 2:
            agreement["fleiss_kappa"] = _finite(fleiss_kappa(table))
        from datafair.core.canonical import canonical_json

        aggregate = {
            item.item_cid: canonical_json(item.label).decode("utf-8") for item in inference.items
        }
        shares = [
            share
            for share in agreement_with_aggregate(items, workers, labels, aggregate).values()
            if not math.isnan(share)
        ]
        if shares:
            agreement["agreement_with_labels"] = round(sum(shares) / len(shares), 6)
    return QualityReport(inference, agreement)
