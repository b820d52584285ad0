"""`datafair demo`: the plain run a newcomer sees, `--json` with its documented keys, and the
table of pay by contributor kind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from datafair.cli.app import main


def test_demo_json(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    contract_cache: Path,
) -> None:
    monkeypatch.setenv("DATAFAIR_CACHE", str(contract_cache))
    code = main(["demo", "--home", str(tmp_path), "--items", "30", "--seed", "2", "--json"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    for key in (
        "items",
        "submissions",
        "contributors",
        "accuracy",
        "exports",
        "funded",
        "paid_by_kind",
        "fee",
        "refunded",
        "contributor_share",
        "audit_ok",
        "sales",
        "royalties_by_kind",
        "royalty_share",
    ):
        assert key in report
    assert report["items"] == 30
    assert set(report["exports"]) == {"jsonl", "parquet", "hf"}
    assert report["audit_ok"] is True
    paid = sum(report["paid_by_kind"].values())
    assert report["funded"] == paid + report["fee"] + report["refunded"]
    assert report["royalty_share"] == 0.3 and report["sales"]["sales"] == 3
    # royalties follow what settlement paid for the data: no pay, no royalty
    for kind, paid_to_kind in report["paid_by_kind"].items():
        if paid_to_kind == 0:
            assert report["royalties_by_kind"][kind] == 0


def test_demo_rejects_bad_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--items", "0"]) == 2
    assert "--items" in capsys.readouterr().err
    assert main(["demo", "--method", "magic"]) == 2
    assert "unknown method" in capsys.readouterr().err


def test_demo_as_make_demo_runs_it(tmp_path: Path, contract_cache: Path) -> None:
    """The plain `datafair demo` a newcomer runs: progress bars and tables on a real console."""
    script = Path(sys.executable).with_name("datafair")
    env = {**os.environ, "DATAFAIR_CACHE": str(contract_cache), "COLUMNS": "120"}
    done = subprocess.run(
        [str(script), "demo", "--home", str(tmp_path), "--items", "30", "--seed", "2"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "unexpected" not in done.stderr
    assert "audit" in done.stdout.lower()


def test_demo_table_shows_what_the_ring_and_the_copier_earn(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    contract_cache: Path,
) -> None:
    monkeypatch.setenv("DATAFAIR_CACHE", str(contract_cache))
    code = main(["demo", "--home", str(tmp_path), "--items", "30", "--seed", "2"])
    assert code == 0
    out = capsys.readouterr().out
    assert "per answer (× skilled)" in out
    assert "paid to ring contributors (3)" in out
    assert "paid to copier contributors (1)" in out
    assert "the worker the copier copies" in out
