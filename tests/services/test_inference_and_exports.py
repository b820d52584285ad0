"""Inference over stored submissions, and exports with provenance."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from sqlalchemy.orm import Session

from datafair.core.canonical import keccak256
from datafair.core.errors import InvalidInput
from datafair.services.exports import export_task
from datafair.services.inference import infer_task
from datafair.services.submissions import submit_many
from datafair.store.blobs import BlobStore


def _label_all(
    session: Session, made: Any, contributors: list[Any], answers: list[list[str]]
) -> None:
    entries = []
    for worker, row in zip(contributors, answers, strict=False):
        for nonce, (cid, answer) in enumerate(zip(made.items, row, strict=True), start=1):
            entries.append(worker.sign(made.info, cid, answer, nonce))
    assert all(result.ok for result in submit_many(session, entries))


def test_infer_and_export(
    session: Session, make_task: Any, contributors: list[Any], tmp_path: Path
) -> None:
    made = make_task(3, overlap=3)
    _label_all(
        session,
        made,
        contributors[:3],
        [["pos", "neg", "pos"], ["pos", "neg", "neg"], ["neg", "neg", "pos"]],
    )
    for method in ("mv", "auto"):
        result = infer_task(session, made.task_id, method=method)
        labels = result.label_of()
        assert labels == dict(zip(made.items, ["pos", "neg", "pos"], strict=True))
        assert all(item.n_answers == 3 for item in result.items)
    paths = export_task(session, BlobStore(tmp_path / "b"), made.task_id, "jsonl", tmp_path)
    rows = [json.loads(line) for line in paths[0].read_text().splitlines()]
    assert [row["item_cid"] for row in rows] == sorted(made.items)
    first = rows[0]
    assert first["n_answers"] == 3 and len(first["contributors"]) == 3
    assert all(h.startswith("0x") and len(h) == 66 for h in first["signature_hashes"])
    parquet = export_task(session, BlobStore(tmp_path / "b"), made.task_id, "parquet", tmp_path)
    table = pq.read_table(parquet[0])
    assert table.num_rows == 3 and "confidence" in table.column_names


def test_signature_hashes_are_keccak_of_signatures(
    session: Session, make_task: Any, contributors: list[Any]
) -> None:
    made = make_task(1, overlap=1)
    entry = contributors[0].sign(made.info, made.items[0], "pos", 1)
    assert submit_many(session, [entry])[0].ok
    (item,) = infer_task(session, made.task_id, method="mv").items
    assert item.signature_hashes == ["0x" + keccak256(bytes(entry.signature)).hex()]  # type: ignore[arg-type]


def test_no_submissions_is_a_clear_error(session: Session, make_task: Any) -> None:
    made = make_task(2)
    with pytest.raises(InvalidInput, match="no submissions"):
        infer_task(session, made.task_id)


def test_the_quality_report_names_dependent_contributors_with_evidence() -> None:
    import numpy as np

    from datafair.quality import get_aggregator
    from datafair.quality.synthetic import dawid_skene_crowd
    from datafair.services.inference import dependence_report

    crowd = dawid_skene_crowd(
        n_items=1500, n_workers=40, n_classes=3, answers_per_item=5, seed=1, accuracy=(0.65, 0.95)
    )
    right = crowd.labels == crowd.truth[crowd.items]
    source = int(np.argmin(np.bincount(crowd.workers, weights=right) / np.bincount(crowd.workers)))
    rows = crowd.workers == source
    workers = [f"0x{w:040x}" for w in crowd.workers] + ["0xcopy"] * int(rows.sum())
    model = get_aggregator("auto").fit(
        np.concatenate([crowd.items, crowd.items[rows]]),
        workers,
        np.concatenate([crowd.labels, crowd.labels[rows]]),
    )
    report = dependence_report(model)
    assert set(report) == {"0xcopy", f"0x{source:040x}"}
    assert report["0xcopy"]["partner"] == f"0x{source:040x}"
    assert report["0xcopy"]["p_value"] < 0.01 and report["0xcopy"]["group"] == 0
