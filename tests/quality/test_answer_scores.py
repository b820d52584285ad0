"""Scores of structured answers against a reference: hand-computed cases and properties."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datafair.core.errors import InvalidInput
from datafair.quality.answer_scores import (
    answer_scores,
    box_score,
    multilabel_score,
    score_rows,
    span_score,
    transcription_score,
)


def _span(start: int, end: int, label: str) -> dict[str, Any]:
    return {"start": start, "end": end, "label": label}


def _box(x: float, y: float, w: float, h: float, label: str = "car") -> dict[str, Any]:
    return {"x": x, "y": y, "w": w, "h": h, "label": label}


@pytest.mark.parametrize(
    ("answer", "reference", "expected"),
    [
        (["a", "b"], ["b", "c"], 1 / 3),  # |{b}| / |{a, b, c}|
        (["a", "b"], ["a", "b"], 1.0),
        ([], [], 1.0),
        (["a"], [], 0.0),
        (["a", "b", "c", "d"], ["a", "b"], 0.5),
    ],
)
def test_multilabel_is_the_jaccard_similarity(
    answer: list[str], reference: list[str], expected: float
) -> None:
    assert multilabel_score(answer, reference) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("answer", "reference", "expected"),
    [
        # one of two spans matches exactly: F1 = 2 * 1 / (2 + 2)
        (
            [_span(0, 5, "PER"), _span(10, 15, "LOC")],
            [_span(0, 5, "PER"), _span(10, 14, "LOC")],
            0.5,
        ),
        ([_span(0, 5, "PER")], [_span(0, 5, "ORG")], 0.0),  # same offsets, other label
        ([], [], 1.0),
        ([_span(0, 5, "PER")], [], 0.0),
        # 2 * 1 / (1 + 3)
        ([_span(0, 5, "PER")], [_span(0, 5, "PER"), _span(6, 8, "LOC"), _span(9, 12, "PER")], 0.5),
    ],
)
def test_spans_score_the_f1_of_exact_matches(
    answer: list[Any], reference: list[Any], expected: float
) -> None:
    assert span_score(answer, reference) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("answer", "reference", "expected"),
    [
        # IoU 80 / 100 = 0.8 >= 0.5: a match, F1 = 1
        ([_box(0, 0, 10, 10)], [_box(0, 0, 10, 8)], 1.0),
        # IoU 50 / 150 = 1/3 < 0.5: no match
        ([_box(0, 0, 10, 10)], [_box(5, 0, 10, 10)], 0.0),
        # IoU 1 but another label
        ([_box(0, 0, 10, 10, "car")], [_box(0, 0, 10, 10, "bus")], 0.0),
        # one of the answer's two boxes matches: 2 * 1 / (2 + 1)
        ([_box(0, 0, 10, 10), _box(50, 50, 5, 5)], [_box(1, 1, 10, 10)], 2 / 3),
        # one-to-one: two answer boxes overlap the one reference box, only one is matched;
        # greedy by IoU takes (0,0) (IoU 90/110) before (3,0) (IoU 80/120)
        ([_box(0, 0, 10, 10), _box(3, 0, 10, 10)], [_box(1, 0, 10, 10)], 2 / 3),
        ([], [], 1.0),
        ([], [_box(0, 0, 1, 1)], 0.0),
    ],
)
def test_boxes_score_the_f1_of_greedy_iou_matches(
    answer: list[Any], reference: list[Any], expected: float
) -> None:
    assert box_score(answer, reference) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("answer", "reference", "expected"),
    [
        ("kitten", "sitting", 4 / 7),  # Levenshtein 3 over 7 characters
        ("Hello   World", "hello world", 1.0),  # compared after case folding and spacing
        ("", "", 1.0),
        ("abc", "", 0.0),
        ("ﬁle", "file", 1.0),  # NFKC: the ligature is "fi"
    ],
)
def test_transcription_is_the_normalised_levenshtein_similarity(
    answer: str, reference: str, expected: float
) -> None:
    assert transcription_score(answer, reference) == pytest.approx(expected)


def test_answer_scores_dispatches_by_task_type_and_names_bad_input() -> None:
    assert answer_scores("multilabel", [["a"], ["b"]], [["a"], ["a"]]) == [1.0, 0.0]
    with pytest.raises(InvalidInput, match=r"^task_type: 'classification' has no answer score"):
        answer_scores("classification", ["a"], ["a"])
    with pytest.raises(InvalidInput, match=r"^answer: is not a spans answer"):
        answer_scores("spans", [[{"start": 0}]], [[]])
    with pytest.raises(InvalidInput, match=r"^answer: is not a multilabel answer"):
        answer_scores("multilabel", ["ab"], [["a"]])


def test_score_rows_scores_each_json_answer_against_its_items_label() -> None:
    texts = ['["a"]', '["a","b"]', '["a"]', "[]"]
    assert score_rows("multilabel", texts, [0, 0, 1, 1], [["a"], []]) == [1.0, 0.5, 0.0, 1.0]
    with pytest.raises(InvalidInput, match=r"^answer: is not JSON"):
        score_rows("multilabel", ["[a"], [0], [["a"]])


# ------------------------------------------------------------------------------- properties

LABELS = st.sampled_from(["a", "b", "c"])
label_sets = st.lists(LABELS, unique=True)
span_lists = st.lists(
    st.tuples(st.integers(0, 30), st.integers(1, 5), LABELS).map(
        lambda t: _span(t[0], t[0] + t[1], t[2])
    ),
    max_size=5,
)
coordinate = st.integers(0, 40) | st.floats(0, 40, allow_nan=False).map(lambda v: round(v, 2))
size = st.integers(1, 20) | st.floats(0.01, 20, allow_nan=False).map(lambda v: round(v, 2))
box_lists = st.lists(
    st.builds(_box, coordinate, coordinate, size, size, st.sampled_from(["car", "bus"])),
    max_size=5,
)
texts = st.text(alphabet=st.sampled_from("abcAB ç\u0301ﬁ"), max_size=12)

CASES = [
    (multilabel_score, label_sets),
    (span_score, span_lists),
    (box_score, box_lists),
    (transcription_score, texts),
]


@pytest.mark.parametrize(("score", "values"), CASES, ids=[s.__name__ for s, _ in CASES])
def test_scores_lie_in_the_unit_interval_are_symmetric_and_one_on_equal_answers(
    score: Any, values: Any
) -> None:
    @settings(max_examples=150, deadline=None)
    @given(values, values)
    def check(a: Any, b: Any) -> None:
        value = score(a, b)
        assert 0.0 <= value <= 1.0
        assert value == score(b, a)
        assert score(a, a) == 1.0

    check()
