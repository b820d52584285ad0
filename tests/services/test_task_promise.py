"""The royalty promise is made at task creation: default 30 %, never below the node's floor,
checked in one line before anything is stored."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datafair.core.collection import royalty_bps
from datafair.core.errors import InvalidInput
from datafair.core.schemas import LabelSchema, TaskType
from datafair.core.task import TaskSpec
from datafair.services.tasks import create_task
from datafair.store.models import Task


def _spec(dataset: str, extra: dict[str, Any]) -> TaskSpec:
    return TaskSpec(
        dataset_cid=dataset,
        title="promised",
        schema=LabelSchema(TaskType.CLASSIFICATION, ("a", "b")),
        extra=extra,
    )


def test_default_and_explicit_promises(session: Session, text_dataset: Any) -> None:
    dataset = text_dataset(["one", "two"])
    info = create_task(session, _spec(dataset, {}))
    assert royalty_bps(info.spec.extra) == 3_000
    info = create_task(session, _spec(dataset, {"royalty_bps": 1_000}))
    assert royalty_bps(info.spec.extra) == 1_000


@pytest.mark.parametrize(
    ("extra", "floor", "match"),
    [
        ({"royalty_bps": 999}, 1_000, r"^royalty_bps: 999 is outside 1000\.\.9500 basis points"),
        ({"royalty_bps": 2_000}, 2_500, r"^royalty_bps: 2000 is outside 2500\.\.9500"),
        ({"royalty_bps": 9_501}, 1_000, r"^royalty_bps: 9501 is outside"),
        ({"royalty_bps": "30%"}, 1_000, r"^royalty_bps: must be an integer in basis points"),
        ({"royalty_bps": True}, 1_000, r"^royalty_bps: must be an integer"),
    ],
)
def test_bad_promises_are_refused_and_nothing_stored(
    session: Session, text_dataset: Any, extra: dict[str, Any], floor: int, match: str
) -> None:
    dataset = text_dataset(["one", "two"])
    with pytest.raises(InvalidInput, match=match):
        create_task(session, _spec(dataset, extra), royalty_floor_bps=floor)
    assert session.scalar(select(func.count(Task.id))) == 0


def test_a_collection_task_is_not_made_over_a_dataset(session: Session, text_dataset: Any) -> None:
    spec = TaskSpec(
        dataset_cid=text_dataset(["one"]), title="c", schema=LabelSchema(TaskType.COLLECTION)
    )
    with pytest.raises(InvalidInput, match=r"^task_type: a collection task gathers new items"):
        create_task(session, spec)
