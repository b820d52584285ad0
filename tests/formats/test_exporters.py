"""``write_export``: refusals happen before anything is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from datafair.core.errors import InvalidInput
from datafair.core.schemas import TaskType
from datafair.formats import ExportRecord, write_export


def record(label: object, **extra: object) -> ExportRecord:
    return ExportRecord("bafkx", label, 1.0, 1, ["0xa"], ["0x01"], **extra)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fmt", "task_type", "classes", "label", "message"),
    [
        ("xml", TaskType.CLASSIFICATION, ["a", "b"], "a", r"^format: unknown export format 'xml'"),
        (
            "coco",
            TaskType.CLASSIFICATION,
            ["a", "b"],
            "a",
            r"^format: coco does not fit a classification task \(use one of jsonl, parquet, hf, "
            r"labelstudio\)",
        ),
        (
            "conll",
            TaskType.BOXES,
            ["a"],
            [],
            r"^format: conll does not fit a boxes task \(use .*yolo",
        ),
        (
            "jsonl",
            TaskType.CLASSIFICATION,
            ["a", "b"],
            "c",
            r"^record bafkx label: 'c' is not one of the task's classes",
        ),
        ("jsonl", TaskType.MULTILABEL, ["a", "b"], "a", r"^record bafkx label: must be a list"),
        (
            "jsonl",
            TaskType.SPANS,
            ["a"],
            [{"start": "0", "end": 1, "label": "a"}],
            r"start must be an integer",
        ),
        (
            "jsonl",
            TaskType.BOXES,
            ["a"],
            [{"x": 0, "y": 0, "w": 1, "h": 1, "label": "z"}],
            r"'z' is not one of the task's classes",
        ),
        ("jsonl", TaskType.PREFERENCE, [], "c", r"'c' is not 'a' or 'b'"),
        ("jsonl", TaskType.TRANSCRIPTION, [], 5, r"must be a string"),
        ("jsonl", TaskType.CLASSIFICATION, ["a"], "a", r"^classes: a classification task needs"),
    ],
)
def test_refusals_write_nothing(
    tmp_path: Path, fmt: str, task_type: TaskType, classes: list[str], label: object, message: str
) -> None:
    out = tmp_path / "out"
    with pytest.raises(InvalidInput, match=message):
        write_export([record(label)], fmt, out, task_type=task_type, classes=classes, name="x")
    assert not out.exists()


@pytest.mark.parametrize("name", ["", "../escape", "a/b", ".hidden"])
def test_bad_names(tmp_path: Path, name: str) -> None:
    with pytest.raises(InvalidInput, match=r"^name: .* cannot be used as an export file name"):
        write_export(
            [record("a")],
            "jsonl",
            tmp_path,
            task_type=TaskType.CLASSIFICATION,
            classes=["a", "b"],
            name=name,
        )


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (ExportRecord("bafkx", "a", 1.5, 1, [], []), r"^record bafkx confidence: must be between"),
        (ExportRecord("bafkx", "a", 0.5, -1, [], []), r"^record bafkx n_answers: must be"),
        (
            ExportRecord("bafkx", "a", 0.5, 1, "0xa", []),
            r"^record bafkx contributors: must be a list",
        ),
        (ExportRecord("bafkx", "a", 0.5, 1, [], [1]), r"^record bafkx signature_hashes: must be"),
        (
            ExportRecord("bafkx", "a", 0.5, 1, [], [], meta={"x": float("nan")}),
            r"^record bafkx meta: is not JSON data",
        ),
        (
            ExportRecord("bafkx", "a", 0.5, 1, [], [], meta={"x": object()}),
            r"^record bafkx meta: is not JSON data",
        ),
    ],
)
def test_bad_provenance_and_meta(tmp_path: Path, bad: ExportRecord, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        write_export(
            [bad],
            "jsonl",
            tmp_path / "out",
            task_type=TaskType.CLASSIFICATION,
            classes=["a", "b"],
            name="x",
        )
    assert not (tmp_path / "out").exists()
