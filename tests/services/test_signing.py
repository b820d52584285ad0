"""Signing requests: the canonical answer and typed data an external wallet signs.

The ethers v6 example of docs/signing.md (tests/js/sign_answer.mjs) builds the canonical answer
and the typed data itself; its bytes must equal ours and its signature must be accepted."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy.orm import Session
from tests.conftest import Contributor, sqlite_database

from datafair.core.canonical import canonical_json, keccak256
from datafair.core.errors import InvalidInput
from datafair.core.schemas import LabelSchema, TaskType
from datafair.core.task import DatasetCard, TaskSpec
from datafair.crypto.eip712 import SubmissionDomain, SubmissionMessage, signing_digest
from datafair.services.datasets import import_dataset
from datafair.services.signing import signing_request
from datafair.services.submissions import SubmissionInput, submit
from datafair.services.tasks import create_task
from datafair.store.blobs import BlobStore
from datafair.store.db import Database
from datafair.store.repositories import SubmissionRepository, TaskRepository

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "tests" / "js" / "sign_answer.mjs"


@pytest.fixture
def sqlite_session(sqlite_template: Path, tmp_path: Path) -> Iterator[Session]:
    database: Database = sqlite_database(sqlite_template, tmp_path)
    with database.session() as opened:
        yield opened
    database.dispose()


def _task(
    session: Session, tmp_path: Path, task_type: TaskType, classes: tuple[str, ...]
) -> tuple[Any, str]:
    blobs = BlobStore(tmp_path / "blobs")
    if task_type in (TaskType.BOXES,):
        source = tmp_path / "photos"
        source.mkdir()
        Image.new("RGB", (64, 48)).save(source / "a.png")
    else:
        source = tmp_path / "data.jsonl"
        row = (
            {"prompt": "p", "response_a": "x", "response_b": "y"}
            if task_type is TaskType.PREFERENCE
            else {"text": "Alice met Bob in Paris"}
        )
        source.write_text(json.dumps(row) + "\n")
    report = import_dataset(session, blobs, source, DatasetCard(title="t"))
    spec = TaskSpec(
        dataset_cid=report.manifest_cid,
        title="t",
        schema=LabelSchema(task_type, classes),
        overlap=1,
        deadline=int(time.time()) + 3600,
        chain_id=31337,
        salt=3,
    )
    info = create_task(session, spec)
    (cid,) = json.loads(blobs.get(report.manifest_cid))["items"]
    return info, cid


def _ethers(request: dict[str, Any]) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None or not (REPO / "node_modules" / "ethers").is_dir():
        pytest.fail("node and the npm packages are needed: run 'npm ci' (make test does)")
    done = subprocess.run(
        [node, str(SCRIPT)],
        input=json.dumps(request).encode(),
        capture_output=True,
        cwd=REPO,
        timeout=60,
        check=False,
        env={**os.environ, "NODE_PATH": str(REPO / "node_modules")},
    )
    assert done.returncode == 0, done.stderr.decode()
    return dict(json.loads(done.stdout))


CASES = [
    (TaskType.CLASSIFICATION, ("pos", "neg"), "neg", "neg"),
    (TaskType.MULTILABEL, ("a", "b", "c"), ["c", "a"], ["a", "c"]),
    (
        TaskType.SPANS,
        ("PER", "LOC"),
        [{"label": "LOC", "end": 22, "start": 17}, {"start": 0, "end": 5, "label": "PER"}],
        [{"end": 5, "label": "PER", "start": 0}, {"end": 22, "label": "LOC", "start": 17}],
    ),
    (
        TaskType.BOXES,
        ("car",),
        [
            {"x": 10.125, "y": 20, "w": 4.356, "h": 8.0, "label": "car"},
            {"x": 0.5, "y": 1.005, "w": 3, "h": 3, "label": "car"},
        ],
        [
            {"h": 3, "label": "car", "w": 3, "x": 0.5, "y": 1.0},
            {"h": 8, "label": "car", "w": 4.36, "x": 10.12, "y": 20},
        ],
    ),
    (TaskType.TRANSCRIPTION, (), "  Cafe\u0301 au lait \n", "Café au lait"),
    (TaskType.PREFERENCE, (), "b", "b"),
]


@pytest.mark.node
@pytest.mark.parametrize(("task_type", "classes", "answer", "canonical"), CASES)
def test_ethers_example_builds_the_same_bytes_and_its_signature_is_accepted(
    sqlite_session: Session,
    tmp_path: Path,
    contributors: list[Contributor],
    task_type: TaskType,
    classes: tuple[str, ...],
    answer: Any,
    canonical: Any,
) -> None:
    info, cid = _task(sqlite_session, tmp_path, task_type, classes)
    worker = contributors[0]
    request = signing_request(
        sqlite_session, info.task_id, cid, answer, worker.address, nonce=9, duration_ms=1234
    )
    assert request.canonical_answer == canonical
    assert request.canonical_json == canonical_json(canonical).decode()
    assert request.answer_hash == "0x" + keccak256(request.canonical_json.encode()).hex()
    signed = _ethers(
        {
            "privateKey": "0x" + worker.key.hex(),
            "chainId": 31337,
            "taskId": "0x" + info.task_id.hex(),
            "itemCid": cid,
            "taskType": str(task_type),
            "classes": list(classes),
            "answer": answer,
            "nonce": 9,
            "durationMs": 1234,
        }
    )
    assert signed["canonicalJson"] == request.canonical_json
    assert signed["answerHash"] == request.answer_hash
    assert signed["typedData"]["message"] == request.typed_data["message"]
    assert signed["typedData"]["domain"] == request.typed_data["domain"]
    entry = SubmissionInput(
        task_id=info.task_id,
        item_cid=cid,
        contributor=signed["contributor"],
        answer=answer,
        nonce=9,
        duration_ms=1234,
        signature=bytes.fromhex(signed["signature"][2:]),
        answer_hash=bytes.fromhex(signed["answerHash"][2:]),
    )
    submission_id = submit(sqlite_session, entry)
    task_pk = TaskRepository(sqlite_session).by_task_id(info.task_id)
    assert task_pk is not None
    stored = SubmissionRepository(sqlite_session).columns(task_pk.id)
    assert submission_id > 0 and stored.answers == [request.canonical_json]


def test_typed_data_digest_matches_the_message(
    sqlite_session: Session, tmp_path: Path, contributors: list[Contributor]
) -> None:
    info, cid = _task(sqlite_session, tmp_path, TaskType.CLASSIFICATION, ("pos", "neg"))
    request = signing_request(
        sqlite_session, info.task_id, cid, "pos", contributors[1].address, nonce=1, duration_ms=5
    )
    message = request.typed_data["message"]
    assert request.typed_data["primaryType"] == "Submission"
    digest = signing_digest(
        SubmissionDomain(chain_id=31337),
        SubmissionMessage(
            info.task_id,
            cid,
            bytes.fromhex(message["answerHash"][2:]),
            message["contributor"],
            1,
            5,
        ),
    )
    assert len(digest) == 32
    assert request.to_dict()["canonical_answer"] == "pos"


def test_a_refused_answer_is_one_clear_error(
    sqlite_session: Session, tmp_path: Path, contributors: list[Contributor]
) -> None:
    info, cid = _task(sqlite_session, tmp_path, TaskType.SPANS, ("PER",))
    with pytest.raises(InvalidInput, match=r"^answer\[0\]: span 0\.\.99 is out of range"):
        signing_request(
            sqlite_session,
            info.task_id,
            cid,
            [{"start": 0, "end": 99, "label": "PER"}],
            contributors[0].address,
            nonce=1,
            duration_ms=0,
        )
    with pytest.raises(InvalidInput, match=r"^contributor: 'nobody' is not a 20-byte hex address"):
        signing_request(sqlite_session, info.task_id, cid, [], "nobody", nonce=1, duration_ms=0)
