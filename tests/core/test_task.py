"""Task specs and dataset cards: validation and content-bound task ids."""

from __future__ import annotations

import dataclasses

import pytest

from datafair.core.canonical import canonical_hash
from datafair.core.errors import InvalidInput
from datafair.core.schemas import LabelSchema, TaskType
from datafair.core.task import DatasetCard, TaskSpec

SPEC = TaskSpec(
    dataset_cid="bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e",
    title="Sentiment",
    schema=LabelSchema(TaskType.CLASSIFICATION, ("pos", "neg")),
    overlap=3,
    gold_ratio=0.1,
    price_per_answer=10**15,
    deadline=2_000_000_000,
)


def test_task_id_is_the_hash_of_the_spec() -> None:
    assert SPEC.task_id == canonical_hash(SPEC.to_dict())
    assert len(SPEC.task_id) == 32


@pytest.mark.parametrize(
    "change", [{"price_per_answer": 10**15 + 1}, {"overlap": 4}, {"chain_id": 530}, {"salt": 1}]
)
def test_any_change_changes_the_id(change: dict[str, object]) -> None:
    assert dataclasses.replace(SPEC, **change).task_id != SPEC.task_id  # type: ignore[arg-type]


def test_round_trip() -> None:
    assert TaskSpec.from_dict(SPEC.to_dict()) == SPEC


@pytest.mark.parametrize(
    "change,match",
    [
        ({"overlap": 0}, "overlap"),
        ({"gold_ratio": 0.9}, "gold_ratio"),
        ({"price_per_answer": -1}, "price_per_answer"),
        ({"price_per_answer": 1.5}, "price_per_answer"),
        ({"title": " "}, "title"),
        ({"deadline": -5}, "deadline"),
    ],
)
def test_bad_specs_are_refused(change: dict[str, object], match: str) -> None:
    with pytest.raises(InvalidInput, match=match):
        dataclasses.replace(SPEC, **change)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "fields,match",
    [
        ({"title": ""}, "title"),
        ({"title": "x", "license": "not a licence!"}, "SPDX"),
        ({"title": "x", "languages": ("English",)}, "BCP-47"),
        ({"title": "x", "modalities": ("video",)}, "modality"),
    ],
)
def test_bad_cards_are_refused(fields: dict[str, object], match: str) -> None:
    with pytest.raises(InvalidInput, match=match):
        DatasetCard(**fields)  # type: ignore[arg-type]


def test_good_card() -> None:
    card = DatasetCard("Reviews", license="MIT OR Apache-2.0", languages=("en", "pt-BR"))
    assert card.to_dict()["languages"] == ["en", "pt-BR"]
