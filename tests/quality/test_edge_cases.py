"""Edge cases of the categorical input contract, for every aggregator."""

from __future__ import annotations

import numpy as np
import pytest

from datafair.core.errors import InvalidInput
from datafair.quality import (
    METHODS,
    BoxAggregator,
    MultiLabelAggregator,
    PreferenceAggregator,
    SpanAggregator,
    TranscriptionAggregator,
    get_aggregator,
)


@pytest.mark.parametrize("method", METHODS)
def test_empty_input_gives_empty_result(method: str) -> None:
    est = get_aggregator(method).fit([], [], [])
    assert est.items_.shape == (0,) and est.labels_.shape == (0,)
    assert est.probas_.shape == (0, 0)
    assert est.skills_ == [] and est.spam_scores_.shape == (0,)
    assert est.converged_ and est.loss_history_ == []


@pytest.mark.parametrize("method", METHODS)
def test_empty_input_keeps_declared_classes(method: str) -> None:
    est = get_aggregator(method).fit([], [], [], classes=["a", "b"])
    assert est.classes_.tolist() == ["a", "b"]
    assert est.probas_.shape == (0, 2)


@pytest.mark.parametrize("method", METHODS)
def test_single_worker_gets_their_own_answers(method: str) -> None:
    items = ["i1", "i2", "i3", "i4"]
    labels = ["x", "y", "x", "x"]
    est = get_aggregator(method).fit(items, ["solo"] * 4, labels)
    assert est.labels_.tolist() == labels
    assert len(est.skills_) == 1 and est.skills_[0].n_answers == 4


@pytest.mark.parametrize("method", METHODS)
def test_items_with_one_answer(method: str) -> None:
    # 20 items answered alike by three workers establish their skill; then "solo-0" and
    # "solo-1" get a single answer each: a reliable worker's lone answer stands.
    items = [f"i{n}" for n in range(20) for _ in range(3)] + ["solo-0", "solo-1"]
    workers = ["w1", "w2", "w3"] * 20 + ["w1", "w2"]
    labels = [n % 2 for n in range(20) for _ in range(3)] + [0, 1]
    est = get_aggregator(method).fit(items, workers, labels)
    lone = {item: label for item, label in zip(est.items_, est.labels_, strict=True)}
    assert lone["solo-0"] == 0 and lone["solo-1"] == 1
    assert est.probas_[list(est.items_).index("solo-0"), 0] > 0.5


@pytest.mark.parametrize("method", METHODS)
def test_repeated_pair_keeps_last_answer(method: str) -> None:
    items = ["a", "a", "a"]
    workers = ["w1", "w1", "w1"]
    est = get_aggregator(method).fit(items, workers, ["x", "y", "z"])
    assert est.labels_.tolist() == ["z"]
    assert est.skills_[0].n_answers == 1
    assert est.classes_.tolist() == ["x", "y", "z"]


@pytest.mark.parametrize("method", METHODS)
def test_label_outside_declared_classes(method: str) -> None:
    with pytest.raises(InvalidInput, match=r"label: 'maybe' not among the classes \[yes, no\]"):
        get_aggregator(method).fit(["a", "b"], ["w", "w"], ["yes", "maybe"], classes=["yes", "no"])


@pytest.mark.parametrize("blank", ["", "  ", None, float("nan")])
def test_blank_label_is_rejected(blank: object) -> None:
    with pytest.raises(InvalidInput, match="label: blank value in answer row 1"):
        get_aggregator("auto").fit(["a", "b"], ["w", "w"], ["x", blank])


def test_blank_item_or_worker_is_rejected() -> None:
    with pytest.raises(InvalidInput, match="item: blank"):
        get_aggregator("mv").fit(["a", ""], ["w", "w"], ["x", "y"])
    with pytest.raises(InvalidInput, match="worker: blank"):
        get_aggregator("mv").fit(np.array(["a", "b"]), np.array(["w", " "]), ["x", "y"])


def test_columns_of_different_length() -> None:
    with pytest.raises(InvalidInput, match=r"answers: columns differ in length"):
        get_aggregator("ds").fit(["a", "b"], ["w"], ["x", "y"])


def test_declared_class_never_used_gets_a_column() -> None:
    est = get_aggregator("auto").fit(["a", "b"], ["w1", "w1"], ["x", "x"], classes=["x", "y", "z"])
    assert est.probas_.shape == (2, 3)
    assert est.labels_.tolist() == ["x", "x"]


def test_repeated_declared_class_is_rejected() -> None:
    with pytest.raises(InvalidInput, match="classes: declared classes repeat"):
        get_aggregator("mv").fit(["a"], ["w"], ["x"], classes=["x", "x"])


def test_gold_label_outside_classes_is_rejected() -> None:
    with pytest.raises(InvalidInput, match="gold: 'q' not among the classes"):
        get_aggregator("ds").fit(["a"], ["w"], ["x"], gold={"a": "q"}, classes=["x", "y"])


def test_gold_for_unanswered_item_is_ignored_but_adds_its_class() -> None:
    est = get_aggregator("ds").fit(["a"], ["w"], ["x"], gold={"zzz": "y"})
    assert est.items_.tolist() == ["a"]
    assert est.classes_.tolist() == ["x", "y"]


def test_mixed_types_in_one_column() -> None:
    with pytest.raises(InvalidInput, match="item: values of different types"):
        get_aggregator("mv").fit(["a", 1], ["w", "w"], ["x", "y"])


STRUCTURED = {
    "multilabel": (MultiLabelAggregator, [["x"], ["y"]], ["x"]),
    "spans": (
        SpanAggregator,
        [[{"start": 0, "end": 2, "label": "A"}], [{"start": 5, "end": 9, "label": "B"}]],
        [{"start": 0, "end": 2, "label": "A"}],
    ),
    "boxes": (
        BoxAggregator,
        [
            [{"x": 0, "y": 0, "w": 5, "h": 5, "label": "a"}],
            [{"x": 50, "y": 50, "w": 5, "h": 5, "label": "b"}],
        ],
        [{"x": 0.0, "y": 0.0, "w": 5.0, "h": 5.0, "label": "a"}],
    ),
    "transcription": (TranscriptionAggregator, ["first", "second"], "first"),
    "preference": (PreferenceAggregator, ["b", "a"], "b"),
}


@pytest.mark.parametrize("kind", STRUCTURED)
def test_structured_empty_input(kind: str) -> None:
    cls, _, _ = STRUCTURED[kind]
    est = cls().fit([], [], [])
    assert est.items_.shape == (0,) and est.labels_ == [] and est.skills_ == []
    assert est.confidences_.shape == (0,)


@pytest.mark.parametrize("kind", STRUCTURED)
def test_structured_repeated_pair_keeps_last_and_single_worker(kind: str) -> None:
    cls, answers, last = STRUCTURED[kind]
    est = cls().fit(["item", "item"], ["solo", "solo"], [answers[1], answers[0]])
    assert est.labels_ == [last]
    assert len(est.skills_) == 1 and est.skills_[0].n_answers == 1


@pytest.mark.parametrize("kind", STRUCTURED)
def test_structured_columns_of_different_length(kind: str) -> None:
    cls, answers, _ = STRUCTURED[kind]
    with pytest.raises(InvalidInput, match="answers: columns differ in length"):
        cls().fit(["a", "b"], ["w", "w"], answers[:1])


@pytest.mark.parametrize("kind", STRUCTURED)
def test_structured_blank_worker(kind: str) -> None:
    cls, answers, _ = STRUCTURED[kind]
    with pytest.raises(InvalidInput, match="worker: blank"):
        cls().fit(["a"], [""], answers[:1])
