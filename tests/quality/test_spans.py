"""Entity spans: segment-level B/I/O vote decoded back into spans."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from datafair.core.errors import InvalidInput
from datafair.quality import SpanAggregator


def _truth(rng: np.random.Generator, n_items: int) -> list[list[dict[str, Any]]]:
    truth = []
    for _ in range(n_items):
        spans, pos = [], 0
        while True:
            pos += int(rng.integers(1, 15))
            length = int(rng.integers(2, 9))
            if pos + length > 100:
                break
            spans.append(
                {"start": pos, "end": pos + length, "label": str(rng.choice(["PER", "ORG"]))}
            )
            pos += length
        truth.append(spans)
    return truth


def _crowd(seed: int = 0) -> tuple[list[int], list[int], list[list[dict[str, Any]]], list[Any]]:
    rng = np.random.default_rng(seed)
    truth = _truth(rng, 150)
    items, workers, answers = [], [], []
    for item, spans in enumerate(truth):
        for w in rng.choice(10, 5, replace=False):
            answer = []
            for span in spans:
                if w < 8 and rng.random() < 0.85:
                    copy = dict(span)
                    if rng.random() < 0.1:
                        copy["start"] += 1  # a boundary slip
                    answer.append(copy)
                elif w >= 8 and rng.random() < 0.4:  # spammer: shifted, random label
                    answer.append(
                        {"start": span["start"] + 2, "end": span["end"] + 3, "label": "ORG"}
                    )
            clean: list[dict[str, Any]] = []
            for span in sorted(answer, key=lambda s: s["start"]):
                if not clean or span["start"] >= clean[-1]["end"]:
                    clean.append(span)
            items.append(item)
            workers.append(int(w))
            answers.append(clean)
    return items, workers, answers, truth


def test_recovers_spans_and_flags_spammers() -> None:
    items, workers, answers, truth = _crowd()
    est = SpanAggregator().fit(items, workers, answers)
    found = {
        (i, s["start"], s["end"], s["label"]) for i, spans in enumerate(est.labels_) for s in spans
    }
    true = {(i, s["start"], s["end"], s["label"]) for i, spans in enumerate(truth) for s in spans}
    precision = len(found & true) / len(found)
    recall = len(found & true) / len(true)
    assert precision > 0.95 and recall > 0.95
    assert est.tags_[0] == "O" and set(est.tags_) == {"O", "B-ORG", "I-ORG", "B-PER", "I-PER"}
    assert est.is_spammer_.tolist() == [False] * 8 + [True] * 2
    assert all(s.confusion.shape == (5, 5) for s in est.skills_)


def test_adjacent_spans_stay_apart_and_empty_items_are_empty() -> None:
    touching = [{"start": 0, "end": 3, "label": "LOC"}, {"start": 3, "end": 7, "label": "LOC"}]
    est = SpanAggregator().fit(
        ["t", "t", "t", "e", "e"], ["a", "b", "c", "a", "b"], [touching, touching, touching, [], []]
    )
    assert est.labels_[list(est.items_).index("t")] == touching
    assert est.labels_[list(est.items_).index("e")] == []
    assert est.confidences_[list(est.items_).index("e")] == 1.0


def test_majority_boundaries_win() -> None:
    long = [{"start": 0, "end": 10, "label": "ORG"}]
    short = [{"start": 0, "end": 4, "label": "ORG"}]
    est = SpanAggregator("mv").fit(["x"] * 3, ["a", "b", "c"], [long, long, short])
    assert est.labels_ == [long]


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ("PER 0-3", "expected a list of spans"),
        ([{"start": 0, "end": 3}], "needs start, end and label"),
        ([{"start": 3, "end": 3, "label": "X"}], "need 0 <= start < end"),
        ([{"start": 0.5, "end": 3, "label": "X"}], "must be integers"),
        ([{"start": 0, "end": 3, "label": " "}], "non-blank class name"),
        (
            [{"start": 0, "end": 3, "label": "X"}, {"start": 2, "end": 5, "label": "Y"}],
            "overlap",
        ),
    ],
)
def test_bad_span_answers(answer: Any, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        SpanAggregator().fit(["x"], ["w"], [answer])


def test_declared_classes() -> None:
    span = [{"start": 0, "end": 3, "label": "PER"}]
    est = SpanAggregator().fit(["x", "x"], ["a", "b"], [span, span], classes=["PER", "ORG"])
    assert est.labels_ == [span]
    with pytest.raises(InvalidInput, match=r"label: 'PER' not among the classes \[ORG\]"):
        SpanAggregator().fit(["x"], ["a"], [span], classes=["ORG"])
