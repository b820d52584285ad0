"""Label Studio results are the inverse of datafair answers, for each of the six task types."""

from __future__ import annotations

from typing import Any

import pytest

from datafair.core.schemas import ItemContext, ItemKind, TaskType
from datafair.formats.labelstudio_results import (
    answers_from_results,
    labelling_config,
    results_for,
)

TEXT = "Alice met Bob"
CASES = [
    (TaskType.CLASSIFICATION, "pos", ItemContext(ItemKind.TEXT, text_length=len(TEXT))),
    (TaskType.MULTILABEL, ["a", "b"], ItemContext(ItemKind.IMAGE, width=10, height=10)),
    (
        TaskType.SPANS,
        [{"start": 0, "end": 5, "label": "PER"}, {"start": 10, "end": 13, "label": "PER"}],
        ItemContext(ItemKind.TEXT, text_length=len(TEXT)),
    ),
    (
        TaskType.BOXES,
        [{"x": 1.5, "y": 2.0, "w": 30.25, "h": 10.0, "label": "car"}],
        ItemContext(ItemKind.IMAGE, width=64, height=48),
    ),
    (TaskType.TRANSCRIPTION, "EXIT", ItemContext(ItemKind.IMAGE, width=8, height=8)),
    (TaskType.PREFERENCE, "b", ItemContext(ItemKind.PAIR)),
]


@pytest.mark.parametrize(("task_type", "answer", "item"), CASES)
def test_round_trip(task_type: TaskType, answer: Any, item: ItemContext) -> None:
    results = results_for(
        task_type, answer, to_name="x", width=item.width, height=item.height, text=TEXT
    )
    assert answers_from_results(results, item, TEXT, "t") == [(task_type, answer)]
    classes = ("a", "b", "car", "PER") if task_type is not TaskType.PREFERENCE else ()
    config = labelling_config(task_type, classes, item.kind)
    assert config.startswith("<View>") and config.endswith("</View>\n")


def test_boxes_are_in_percent() -> None:
    (result,) = results_for(
        TaskType.BOXES,
        [{"x": 16, "y": 12, "w": 32, "h": 24, "label": "car"}],
        to_name="image",
        width=64,
        height=48,
    )
    assert result["value"] | {"rectanglelabels": None} == {
        "x": 25.0,
        "y": 25.0,
        "width": 50.0,
        "height": 50.0,
        "rotation": 0,
        "rectanglelabels": None,
    }
    assert (result["original_width"], result["original_height"]) == (64, 48)
