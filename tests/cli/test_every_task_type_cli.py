"""README "Every task type, end to end": label boxes, spans, preferences and transcriptions by
CLI, export each, and bring Label Studio and COCO files in with their labels."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from PIL import Image

from datafair.cli.app import main

CID = re.compile(r"bafkrei[a-z2-7]+")
TASK = re.compile(r"0x[0-9a-f]{64}")


class Cli:
    def __init__(self, capsys: pytest.CaptureFixture[str], home: Path) -> None:
        self.capsys, self.home = capsys, home

    def __call__(self, *args: str, code: int = 0) -> str:
        result = main([*args, "--home", str(self.home)])
        captured = self.capsys.readouterr()
        assert result == code, captured.err
        return captured.out if code == 0 else captured.err


@pytest.fixture
def cli(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.setenv("DATAFAIR_PASSWORD", "pw")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    run = Cli(capsys, tmp_path / "home")
    for name in ("ann", "bob", "cat"):
        run("account", "new", name)
    return run


def _label(cli: Cli, task: str, answers: dict[str, str]) -> None:
    """Each account takes its next item and answers by the item's first words."""
    for account in ("ann", "bob", "cat"):
        while True:
            out = cli("task", "next", task, "--account", account)
            if "no item left" in out:
                break
            item = CID.search(out).group(0)  # type: ignore[union-attr]
            key = next(key for key in answers if key in out or key == "*")
            cli("task", "submit", task, item, answers[key], "--account", account)


def _task(cli: Cli, source: Path, *options: str) -> str:
    dataset = CID.search(cli("dataset", "import", str(source))).group(0)  # type: ignore[union-attr]
    out = cli("task", "create", dataset, "--title", "t", "--overlap", "3", *options)
    return TASK.search(out).group(0)  # type: ignore[union-attr]


def test_boxes_label_export_and_labelstudio_round_trip(cli: Cli, tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.new("RGB", (64, 48)).save(photos / "street.png")
    task = _task(cli, photos, "--type", "boxes", "--classes", "car,person")
    box = '[{"x": 4, "y": 6, "w": 30, "h": 20, "label": "car"}]'
    _label(cli, task, {"*": box})
    out_dir = tmp_path / "export"
    for fmt in ("coco", "yolo", "labelstudio", "hf"):
        assert "wrote" in cli("export", task, "--format", fmt, "--out", str(out_dir))
    coco = json.loads((out_dir / f"task-{task[2:14]}.coco.json").read_text())
    assert coco["images"][0]["file_name"] == "street.png"
    err = cli("export", task, "--format", "conll", code=1)
    assert err.startswith("error: format: conll does not fit a boxes task (use one of jsonl")
    exported = out_dir / f"task-{task[2:14]}.labelstudio.json"
    out = cli("dataset", "import", str(exported), "--title", "back", "--annotator", "lab")
    assert "prior answers: 1 annotation boxes; 1 new" in out
    dataset = CID.search(out).group(0)  # type: ignore[union-attr]
    assert "1 annotation boxes" in cli("dataset", "show", dataset)


def test_spans_preference_transcription_by_cli(cli: Cli, tmp_path: Path) -> None:
    texts = tmp_path / "texts.jsonl"
    texts.write_text('{"text": "Alice met Bob"}\n')
    spans = _task(cli, texts, "--type", "spans", "--classes", "PER")
    answer = '[{"start": 0, "end": 5, "label": "PER"}, {"start": 10, "end": 13, "label": "PER"}]'
    _label(cli, spans, {"*": answer})
    out_dir = tmp_path / "export"
    cli("export", spans, "--format", "conll", "--out", str(out_dir))
    conll = (out_dir / f"task-{spans[2:14]}.conll").read_text()
    assert conll == "Alice B-PER\nmet O\nBob B-PER\n\n"

    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text('{"prompt": "2+2?", "response_a": "4", "response_b": "5"}\n')
    preference = _task(cli, pairs, "--type", "preference")
    _label(cli, preference, {"*": "a"})
    cli("export", preference, "--format", "jsonl", "--out", str(out_dir))
    row = json.loads((out_dir / f"task-{preference[2:14]}.jsonl").read_text())
    assert (row["prompt"], row["chosen"], row["rejected"]) == ("2+2?", "4", "5")

    scans = tmp_path / "scans"
    scans.mkdir()
    Image.new("RGB", (20, 10)).save(scans / "sign.png")
    transcription = _task(cli, scans, "--type", "transcription")
    _label(cli, transcription, {"*": "EXIT"})
    cli("export", transcription, "--format", "jsonl", "--out", str(out_dir))
    row = json.loads((out_dir / f"task-{transcription[2:14]}.jsonl").read_text())
    assert row["text"] == "EXIT" and row["image_path"]


def test_labelstudio_ground_truth_becomes_a_tasks_gold(cli: Cli, tmp_path: Path) -> None:
    export = tmp_path / "ls.json"
    choice = {"type": "choices", "from_name": "s", "to_name": "text", "value": {"choices": ["pos"]}}
    export.write_text(
        json.dumps(
            [
                {
                    "data": {"text": "great"},
                    "annotations": [{"ground_truth": True, "result": [choice]}],
                },
                {
                    "data": {"text": "meh"},
                    "predictions": [{"model_version": "m", "result": [choice]}],
                },
            ]
        )
    )
    out = cli("dataset", "import", str(export))
    assert "1 gold classification, 1 prediction classification; 2 new" in out
    assert "predictions hidden" in out
    dataset = CID.search(out).group(0)  # type: ignore[union-attr]
    out = cli(
        "task", "create", dataset, "--title", "g", "--classes", "pos,neg", "--gold-from-dataset"
    )
    assert TASK.search(out)
    err = cli(
        "task", "create", dataset, "--title", "h", "--type", "spans", "--classes", "X",
        "--gold-from-dataset", code=1,
    )  # fmt: skip
    assert "has no imported gold for a spans task" in err
    seen = cli("task", "next", TASK.search(out).group(0), "--account", "ann")  # type: ignore[union-attr]
    assert "pre-annotation" not in seen  # predictions are shown to nobody by default
    out = cli("dataset", "import", str(export), "--title", "shown", "--show-predictions")
    shown = CID.search(out).group(0)  # type: ignore[union-attr]
    task = TASK.search(cli("task", "create", shown, "--title", "s", "--classes", "pos,neg"))
    hints = [cli("task", "next", task.group(0), "--account", "bob") for _ in range(2)]  # type: ignore[union-attr]
    assert sum('pre-annotation (model:m): "pos"' in hint for hint in hints) == 1


def test_bad_labelstudio_file_stores_nothing(cli: Cli, tmp_path: Path) -> None:
    export = tmp_path / "ls.json"
    polygon = {"type": "polygonlabels", "value": {"points": [], "polygonlabels": ["x"]}}
    export.write_text(json.dumps([{"data": {"text": "a"}, "annotations": [{"result": [polygon]}]}]))
    err = cli("dataset", "import", str(export), code=1)
    assert err.count("\n") == 1 and "result type 'polygonlabels' has no datafair equivalent" in err
    assert "no datasets yet" in cli("dataset", "list")
    out = cli("dataset", "import", str(export), "--skip-unsupported")
    assert "1 results with no datafair equivalent skipped" in out
