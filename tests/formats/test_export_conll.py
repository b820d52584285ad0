"""CoNLL export: BIO tags on whitespace tokens for known spans."""

from __future__ import annotations

from pathlib import Path

import pytest

from datafair.core.errors import InvalidInput
from datafair.core.schemas import TaskType
from datafair.formats import ExportRecord, write_export
from datafair.formats.export_conll import bio_tags


def test_bio_tags_for_known_spans() -> None:
    text = "Ana Maria flew to New York, then Lisbon."
    spans = [
        {"start": 0, "end": 9, "label": "PER"},  # "Ana Maria"
        {"start": 33, "end": 39, "label": "LOC"},  # "Lisbon" (token is "Lisbon.")
        {"start": 18, "end": 26, "label": "LOC"},  # "New York" (token is "York,")
    ]
    assert bio_tags(text, spans) == [
        ("Ana", "B-PER"),
        ("Maria", "I-PER"),
        ("flew", "O"),
        ("to", "O"),
        ("New", "B-LOC"),
        ("York,", "I-LOC"),
        ("then", "O"),
        ("Lisbon.", "B-LOC"),
    ]


def test_adjacent_spans_each_begin() -> None:
    spans = [{"start": 0, "end": 5, "label": "ORG"}, {"start": 6, "end": 11, "label": "ORG"}]
    assert bio_tags("Acme  Corp", []) == [("Acme", "O"), ("Corp", "O")]
    assert bio_tags("Acme1 Acme2", spans) == [("Acme1", "B-ORG"), ("Acme2", "B-ORG")]


def test_conll_files(tmp_path: Path) -> None:
    records = [
        ExportRecord(
            "bafk1", [{"start": 0, "end": 3, "label": "PER"}], 1.0, 3, [], [], text="Ann met Bob"
        ),
        ExportRecord("bafk2", None, 0.0, 0, [], [], text="no label yet"),
        ExportRecord(
            "bafk3",
            [{"start": 4, "end": 11, "label": "street name"}],
            1.0,
            3,
            [],
            [],
            text="Rua Augusta",
        ),
    ]
    conll, cids = write_export(
        records,
        "conll",
        tmp_path,
        task_type=TaskType.SPANS,
        classes=["PER", "street name"],
        name="ner",
    )
    assert (conll.name, cids.name) == ("ner.conll", "ner.conll.cids")
    assert conll.read_text() == ("Ann B-PER\nmet O\nBob O\n\nRua O\nAugusta B-street_name\n\n")
    assert cids.read_text() == "bafk1\nbafk3\n"


def test_conll_refuses_spans_outside_the_text(tmp_path: Path) -> None:
    record = ExportRecord(
        "bafk1", [{"start": 0, "end": 9, "label": "PER"}], 1.0, 1, [], [], text="short"
    )
    with pytest.raises(InvalidInput, match=r"^record bafk1 label: span 0\.\.9 is outside"):
        write_export(
            [record], "conll", tmp_path, task_type=TaskType.SPANS, classes=["PER"], name="n"
        )
    assert not (tmp_path / "n.conll").exists()


def test_conll_needs_text(tmp_path: Path) -> None:
    record = ExportRecord("bafk1", [], 1.0, 1, [], [])
    with pytest.raises(InvalidInput, match=r"^record bafk1 text: is missing"):
        write_export(
            [record], "conll", tmp_path, task_type=TaskType.SPANS, classes=["PER"], name="n"
        )
