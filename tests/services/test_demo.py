"""The demo round end to end on a small crowd: labels beat majority vote, exports load."""

from __future__ import annotations

import json
from pathlib import Path

from datafair.services.demo import OVERLAP, run_demo
from datafair.settings import load_settings


def test_small_demo_round(tmp_path: Path) -> None:
    report = run_demo(load_settings(home=tmp_path / "home"), seed=3, n_items=60)
    assert report.items == 60 and report.rejected == 0
    # every item filled to k; gold items take k answers too
    assert report.submissions == 60 * OVERLAP
    assert report.accuracy >= report.accuracy_majority_vote - 0.02
    assert report.accuracy > 0.8
    assert sum(report.contributors.values()) == 20
    rows = Path(report.exports["jsonl"]).read_text().splitlines()
    assert len(rows) == 60 and json.loads(rows[0])["n_answers"] == OVERLAP
    assert Path(report.exports["hf"]).is_dir()


def test_rerun_in_same_home_makes_a_new_task(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path / "home")
    first = run_demo(settings, seed=1, n_items=20)
    second = run_demo(settings, seed=1, n_items=20)
    assert first.dataset_cid == second.dataset_cid
    assert first.task_id != second.task_id
    assert second.submissions == 20 * OVERLAP
