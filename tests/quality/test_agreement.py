"""Agreement metrics against published worked examples."""

from __future__ import annotations

import math

import pytest

from datafair.core.errors import InvalidInput
from datafair.quality import (
    agreement_with_aggregate,
    cohen_kappa,
    fleiss_kappa,
    krippendorff_alpha,
)
from datafair.quality.agreement import rating_table


def _long(rows: dict[str, list[int | None]]) -> tuple[list[int], list[str], list[int]]:
    items, workers, labels = [], [], []
    for worker, values in rows.items():
        for unit, value in enumerate(values):
            if value is not None:
                items.append(unit)
                workers.append(worker)
                labels.append(value)
    return items, workers, labels


def test_krippendorff_alpha_four_observers_with_missing_data() -> None:
    # Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", example C: 0.743.
    rows: dict[str, list[int | None]] = {
        "A": [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
        "B": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
        "C": [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
        "D": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
    }
    assert krippendorff_alpha(*_long(rows)) == pytest.approx(0.743, abs=5e-4)


def test_krippendorff_alpha_two_observers_binary() -> None:
    # Krippendorff (2011), example A: two observers, ten units, nominal alpha 0.095.
    rows: dict[str, list[int | None]] = {
        "A": [0, 1, 0, 0, 0, 0, 0, 0, 1, 0],
        "B": [1, 1, 1, 0, 0, 1, 0, 0, 0, 0],
    }
    assert krippendorff_alpha(*_long(rows)) == pytest.approx(0.095, abs=5e-4)


def test_krippendorff_alpha_undefined_and_perfect() -> None:
    assert math.isnan(krippendorff_alpha(["a", "b"], ["w", "w"], ["x", "y"]))  # nothing pairable
    assert math.isnan(krippendorff_alpha(["a", "a"], ["w", "v"], ["x", "x"]))  # one value only
    assert krippendorff_alpha(["a", "a", "b", "b"], ["w", "v"] * 2, ["x", "x", "y", "y"]) == 1.0


def test_fleiss_kappa_worked_example() -> None:
    # Fleiss (1971) as worked in the literature: 10 subjects, 14 raters, 5 categories: 0.210.
    table = [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
    assert fleiss_kappa(table) == pytest.approx(0.210, abs=5e-4)


def test_fleiss_kappa_rejects_uneven_raters() -> None:
    with pytest.raises(InvalidInput, match="same number of raters"):
        fleiss_kappa([[1, 1], [2, 1]])
    with pytest.raises(InvalidInput, match="table"):
        fleiss_kappa([])


def test_fleiss_kappa_from_answers() -> None:
    _, classes, table = rating_table(["a", "a", "b", "b"], ["w", "v"] * 2, ["x", "y", "y", "y"])
    assert classes.tolist() == ["x", "y"]
    assert table.tolist() == [[1, 1], [0, 2]]
    assert fleiss_kappa(table) == pytest.approx(-1 / 3)


def test_cohen_kappa_worked_example() -> None:
    # 50 items: both yes 20, A yes / B no 5, A no / B yes 10, both no 15 → p_o 0.7, p_e 0.5.
    a = ["yes"] * 25 + ["no"] * 25
    b = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.4)


def test_cohen_kappa_edges() -> None:
    assert math.isnan(cohen_kappa([], []))
    assert math.isnan(cohen_kappa(["x", "x"], ["x", "x"]))
    with pytest.raises(InvalidInput, match="different numbers of items"):
        cohen_kappa(["x"], ["x", "y"])


def test_agreement_with_aggregate() -> None:
    shares = agreement_with_aggregate(
        ["a", "b", "a", "b", "c"],
        ["w1", "w1", "w2", "w2", "w3"],
        ["x", "y", "x", "x", "x"],
        {"a": "x", "b": "y"},
    )
    assert shares["w1"] == 1.0 and shares["w2"] == 0.5
    assert math.isnan(shares["w3"])
