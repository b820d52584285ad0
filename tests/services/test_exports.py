"""Every task type, labelled by signed answers, exported and loaded by the library its trainers
use: pycocotools (COCO + COCOeval), Hugging Face ``datasets`` (typed features), seqeval (CoNLL),
and the preference layout (prompt / chosen / rejected) TRL's DPO trainer reads."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy.orm import Session
from tests.conftest import Contributor, sqlite_database

from datafair.core.errors import InvalidInput
from datafair.core.schemas import LabelSchema, TaskType
from datafair.core.task import DatasetCard, TaskSpec
from datafair.formats import parse_dataset
from datafair.services.datasets import import_dataset
from datafair.services.exports import export_task
from datafair.services.signing import signed_submission
from datafair.services.submissions import submit
from datafair.services.tasks import TaskInfo, create_task
from datafair.store.blobs import BlobStore
from datafair.store.db import Database

os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture
def sqlite_session(sqlite_template: Path, tmp_path: Path) -> Iterator[Session]:
    database: Database = sqlite_database(sqlite_template, tmp_path)
    with database.session() as opened:
        yield opened
    database.dispose()


@pytest.fixture
def blobs(tmp_path: Path) -> BlobStore:
    return BlobStore(tmp_path / "blobs")


def _task(
    session: Session,
    blobs: BlobStore,
    source: Path,
    task_type: TaskType,
    classes: Sequence[str] = (),
) -> tuple[TaskInfo, list[str]]:
    report = import_dataset(session, blobs, source, DatasetCard(title=source.name))
    spec = TaskSpec(
        dataset_cid=report.manifest_cid,
        title=f"{task_type} task",
        schema=LabelSchema(task_type, tuple(classes)),
        overlap=3,
        price_per_answer=1,
        deadline=int(time.time()) + 3600,
        chain_id=31337,
        salt=1,
    )
    info = create_task(session, spec)
    manifest = json.loads(blobs.get(report.manifest_cid))
    return info, list(manifest["items"])


def _answer(
    session: Session,
    info: TaskInfo,
    crowd: Sequence[Contributor],
    answers: dict[str, Sequence[Any]],
) -> None:
    for nonce, (cid, per_worker) in enumerate(answers.items(), start=1):
        for worker, value in zip(crowd, per_worker, strict=True):
            entry = signed_submission(
                session, info.task_id, cid, value, worker.key, nonce=nonce, duration_ms=2000
            )
            submit(session, entry)


def _images(folder: Path) -> Path:
    folder.mkdir()
    Image.new("RGB", (64, 48), (200, 10, 10)).save(folder / "street.png")
    Image.new("RGB", (80, 60), (10, 200, 10)).save(folder / "park.jpg")
    return folder


def _by_name(session: Session, blobs: BlobStore, cids: list[str]) -> dict[str, str]:
    from datafair.store.repositories import ItemRepository

    items = ItemRepository(session).get_many(cids)
    return {items[cid].meta["file_name"]: cid for cid in cids}


def test_boxes_to_coco_yolo_and_hf(
    sqlite_session: Session, blobs: BlobStore, contributors: list[Contributor], tmp_path: Path
) -> None:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    info, cids = _task(
        sqlite_session, blobs, _images(tmp_path / "photos"), TaskType.BOXES, ("car", "person")
    )
    named = _by_name(sqlite_session, blobs, cids)
    car = {"x": 4, "y": 6, "w": 30, "h": 20, "label": "car"}
    person = {"x": 40, "y": 10, "w": 10, "h": 30, "label": "person"}
    _answer(
        sqlite_session,
        info,
        contributors[:3],
        {
            named["street.png"]: [[car, person], [car, person], [car]],
            named["park.jpg"]: [[person], [person], []],
        },
    )
    out = tmp_path / "out"
    (coco_path,) = export_task(sqlite_session, blobs, info.task_id, "coco", out)
    coco = COCO(str(coco_path))
    images = {image["file_name"]: image for image in coco.dataset["images"]}
    assert sorted(images) == ["park.jpg", "street.png"]
    assert (images["street.png"]["width"], images["street.png"]["height"]) == (64, 48)
    assert (out / "images" / "street.png").read_bytes() == blobs.get(named["street.png"])
    street = coco.getAnnIds(imgIds=[images["street.png"]["id"]])
    assert sorted(a["bbox"] for a in coco.loadAnns(street)) == [[4, 6, 30, 20], [40, 10, 10, 30]]
    assert images["street.png"]["n_answers"] == 3 and 0 < images["street.png"]["confidence"] <= 1
    detections = [dict(a, score=0.9) for a in coco.dataset["annotations"]]
    evaluator = COCOeval(coco, coco.loadRes(detections), "bbox")
    evaluator.evaluate()
    evaluator.accumulate()
    evaluator.summarize()
    assert evaluator.stats[0] == pytest.approx(1.0)  # the export is its own perfect detector

    ls_json, ls_config = export_task(sqlite_session, blobs, info.task_id, "labelstudio", out)
    assert "<RectangleLabels" in ls_config.read_text()
    tasks = json.loads(ls_json.read_text())
    value = tasks[0]["annotations"][0]["result"][0]["value"]
    assert 0 < value["x"] < 100 and "rectanglelabels" in value  # percent of the image
    back = parse_dataset(ls_json)  # Label Studio's export, read back: the same consensus
    consensus = {image["item_cid"]: image for image in coco.dataset["images"]}
    assert len(back.prior) == 2
    for prior in back.prior:
        cid = back.cid_of_source()[prior.item_source]
        expected = sorted(
            a["bbox"] for a in coco.loadAnns(coco.getAnnIds(imgIds=[consensus[cid]["id"]]))
        )
        assert sorted([b["x"], b["y"], b["w"], b["h"]] for b in prior.answer) == expected

    (yolo,) = export_task(sqlite_session, blobs, info.task_id, "yolo", out)
    lines = (yolo / "labels" / "street.txt").read_text().splitlines()
    assert sorted(lines) == [
        "0 0.296875 0.333333 0.468750 0.416667",
        "1 0.703125 0.520833 0.156250 0.625000",
    ]
    assert (yolo / "images" / "park.jpg").is_file()
    assert 'names:\n  0: "car"\n  1: "person"\n' in (yolo / "data.yaml").read_text()

    import datasets

    (hf_path,) = export_task(sqlite_session, blobs, info.task_id, "hf", out)
    loaded = datasets.load_from_disk(str(hf_path))
    objects = loaded.features["objects"]
    assert objects.feature["bbox"] == datasets.List(datasets.Value("float32"), length=4)
    assert objects.feature["category"].names == ["car", "person"]
    row = next(r for r in loaded if r["item_cid"] == named["street.png"])
    assert sorted(o["category"] for o in row["objects"]) == [0, 1]
    assert row["image"].size == (64, 48) and (row["width"], row["height"]) == (64, 48)


def test_spans_to_conll_read_by_seqeval_and_hf_token_classification(
    sqlite_session: Session, blobs: BlobStore, contributors: list[Contributor], tmp_path: Path
) -> None:
    from seqeval.metrics import f1_score
    from seqeval.metrics.sequence_labeling import get_entities

    source = tmp_path / "texts.jsonl"
    texts = ["Alice flew to New York today", "Bob stayed home"]
    source.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
    info, cids = _task(sqlite_session, blobs, source, TaskType.SPANS, ("PER", "LOC"))
    alice = [{"start": 0, "end": 5, "label": "PER"}, {"start": 14, "end": 22, "label": "LOC"}]
    bob = [{"start": 0, "end": 3, "label": "PER"}]
    _answer(
        sqlite_session,
        info,
        contributors[:3],
        {cids[0]: [alice, alice, alice[:1]], cids[1]: [bob, bob, []]},
    )
    out = tmp_path / "out"
    conll, index = export_task(sqlite_session, blobs, info.task_id, "conll", out)
    sentences = [
        [line.split(" ") for line in block.splitlines()]
        for block in conll.read_text().strip().split("\n\n")
    ]
    order = index.read_text().split()
    by_cid = dict(zip(order, sentences, strict=True))
    tags = [tag for _, tag in by_cid[cids[0]]]
    assert get_entities(tags) == [("PER", 0, 0), ("LOC", 3, 4)]
    truth = [[tag for _, tag in sentence] for sentence in sentences]
    assert f1_score(truth, truth) == 1.0

    import datasets

    (hf_path,) = export_task(sqlite_session, blobs, info.task_id, "hf", out)
    loaded = datasets.load_from_disk(str(hf_path))
    names = loaded.features["ner_tags"].feature.names
    assert names == ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    row = next(r for r in loaded if r["item_cid"] == cids[0])
    assert row["tokens"] == texts[0].split()
    assert [names[t] for t in row["ner_tags"]] == ["B-PER", "O", "O", "B-LOC", "I-LOC", "O"]


def test_preference_pairs_in_the_dpo_layout(
    sqlite_session: Session, blobs: BlobStore, contributors: list[Contributor], tmp_path: Path
) -> None:
    import datasets

    source = tmp_path / "pairs.jsonl"
    pairs = [
        {"prompt": "2+2?", "response_a": "4", "response_b": "5"},
        {"prompt": "Capital of France?", "response_a": "Lyon", "response_b": "Paris"},
    ]
    source.write_text("".join(json.dumps(p) + "\n" for p in pairs))
    info, cids = _task(sqlite_session, blobs, source, TaskType.PREFERENCE)
    _answer(
        sqlite_session,
        info,
        contributors[:3],
        {cids[0]: ["a", "a", "b"], cids[1]: ["b", "b", "b"]},
    )
    out = tmp_path / "out"
    (jsonl,) = export_task(sqlite_session, blobs, info.task_id, "jsonl", out)
    loaded = datasets.load_dataset("json", data_files=str(jsonl), split="train")
    assert {"prompt", "chosen", "rejected"} <= set(loaded.column_names)
    rows = {row["prompt"]: (row["chosen"], row["rejected"]) for row in loaded}
    assert rows == {"2+2?": ("4", "5"), "Capital of France?": ("Paris", "Lyon")}
    (hf_path,) = export_task(sqlite_session, blobs, info.task_id, "hf", out)
    saved = datasets.load_from_disk(str(hf_path)).select_columns(["prompt", "chosen", "rejected"])
    assert sorted(saved["chosen"]) == ["4", "Paris"]


def test_transcription_as_image_text_pairs(
    sqlite_session: Session, blobs: BlobStore, contributors: list[Contributor], tmp_path: Path
) -> None:
    import datasets

    info, cids = _task(sqlite_session, blobs, _images(tmp_path / "scans"), TaskType.TRANSCRIPTION)
    named = _by_name(sqlite_session, blobs, cids)
    _answer(
        sqlite_session,
        info,
        contributors[:3],
        {
            named["street.png"]: ["Main Street", "Main Street", "Main Stret"],
            named["park.jpg"]: ["Park", "Park", "Bark"],
        },
    )
    (hf_path,) = export_task(sqlite_session, blobs, info.task_id, "hf", tmp_path / "out")
    loaded = datasets.load_from_disk(str(hf_path))
    assert isinstance(loaded.features["image"], datasets.Image)
    pairs = {row["image"].size: row["text"] for row in loaded}
    assert pairs == {(64, 48): "Main Street", (80, 60): "Park"}


def test_multilabel_as_a_list_of_class_labels(
    sqlite_session: Session, blobs: BlobStore, contributors: list[Contributor], tmp_path: Path
) -> None:
    import datasets

    source = tmp_path / "texts.jsonl"
    source.write_text('{"text": "cheap and fast"}\n{"text": "slow"}\n')
    info, cids = _task(sqlite_session, blobs, source, TaskType.MULTILABEL, ("cheap", "fast"))
    both, fast = ["cheap", "fast"], ["fast"]
    _answer(
        sqlite_session,
        info,
        contributors[:3],
        {cids[0]: [both, both, fast], cids[1]: [[], [], fast]},
    )
    (hf_path,) = export_task(sqlite_session, blobs, info.task_id, "hf", tmp_path / "out")
    loaded = datasets.load_from_disk(str(hf_path))
    assert loaded.features["label"].feature.names == ["cheap", "fast"]
    labels = {row["item_cid"]: row["label"] for row in loaded}
    assert labels == {cids[0]: [0, 1], cids[1]: []}


def test_a_format_that_does_not_fit_names_those_that_do(
    sqlite_session: Session, blobs: BlobStore, contributors: list[Contributor], tmp_path: Path
) -> None:
    source = tmp_path / "texts.jsonl"
    source.write_text('{"text": "Alice"}\n')
    info, cids = _task(sqlite_session, blobs, source, TaskType.SPANS, ("PER",))
    _answer(sqlite_session, info, contributors[:1], {cids[0]: [[]]})
    with pytest.raises(InvalidInput, match=r"coco does not fit a spans task.*conll, labelstudio"):
        export_task(sqlite_session, blobs, info.task_id, "coco", tmp_path / "out")
    assert not (tmp_path / "out").exists()
