"""Real clients against ``datafair serve`` running as its own process: an ethers v6 script, the
CLI in ``--server`` mode, and schemathesis against the live OpenAPI document."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from datafair.client import DatafairClient
from datafair.crypto.cid import compute_cid

from ._live import DATAFAIR, serving
from .conftest import OPERATOR, wallet, write_reviews_csv

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow]


@dataclass
class Live:
    url: str
    task_id: str
    items: list[str]
    requester_token: str
    cli_home: Path


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    root = tmp_path_factory.mktemp("live")
    env = {"DATAFAIR_OPERATORS": OPERATOR.address, "DATAFAIR_CLAIM_RATE_LIMIT": "5"}
    with serving(root / "server", env=env) as (url, _), DatafairClient(url) as requester:
        requester.sign_in(wallet("live requester"))
        source = write_reviews_csv(root / "reviews.csv", 8)
        imported = requester.upload_dataset(source, title="Live reviews")
        task = requester.create_task(
            dataset_cid=imported["manifest_cid"],
            title="Live sentiment",
            classes=["pos", "neg"],
            overlap=3,
            price_per_answer="100",
            deadline=int(time.time()) + 365 * 86_400,
        )
        items = [
            compute_cid(f"review number {i}: {'great' if i % 2 else 'awful'} product".encode())
            for i in range(8)
        ]
        yield Live(url, task["task_id"], items, str(requester.token), root / "cli")


@pytest.mark.node
def test_an_ethers_wallet_signs_in_and_submits_typed_data_it_signed(live: Live) -> None:
    if shutil.which("node") is None or not (REPO / "node_modules" / "ethers").exists():
        pytest.fail("node and the npm packages are needed: run 'npm ci' (make test does)")
    key = "0x" + "5a" * 32
    done = subprocess.run(
        ["node", str(REPO / "tests" / "js" / "siwe_submit.mjs"), live.url, live.task_id, key],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["first"]["status"] == 201, result
    assert result["retry"] == {
        "status": 200,
        "body": {"id": result["first"]["body"]["id"], "duplicate": True},
    }
    assert [row["answer"] for row in result["mine"]] == ["neg"]
    assert result["item"] in live.items


def run_cli(live: Live, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATAFAIR_PASSWORD": "correct horse", "DATAFAIR_HOME": str(live.cli_home)}
    return subprocess.run(
        [str(DATAFAIR), "--server", live.url, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_the_cli_labels_and_reviews_on_a_remote_server_signing_locally(live: Live) -> None:
    for name in ("alice", "bruno"):
        made = run_cli(live, "account", "new", name)
        assert made.returncode == 0, made.stderr
    taken = run_cli(live, "task", "next", live.task_id, "--account", "alice")
    assert taken.returncode == 0, taken.stderr
    item = taken.stdout.split()[1]
    assert item in live.items
    sent = run_cli(
        live, "task", "submit", live.task_id, item, "pos", "--account", "alice", "--seconds", "3"
    )
    assert sent.returncode == 0, sent.stderr
    assert sent.stdout.startswith("submitted #")
    wrong = run_cli(live, "task", "submit", live.task_id, item, "maybe", "--account", "alice")
    assert wrong.returncode == 1 and "answer" in wrong.stderr and wrong.stderr[-1:] == "\n"
    shown = run_cli(live, "review", "next", live.task_id, "--account", "bruno")
    assert shown.returncode == 0, shown.stderr
    submission = shown.stdout.split()[1]
    reviewed = run_cli(
        live, "review", "submit", live.task_id, submission, "accept", "--account", "bruno"
    )
    assert reviewed.returncode == 0, reviewed.stderr
    assert f"of submission {submission} signed by" in reviewed.stdout
    earned = run_cli(live, "earnings", "--account", "alice")
    assert earned.returncode == 0 and "no settled epoch" in earned.stdout
    offline = subprocess.run(
        [
            str(DATAFAIR),
            "--server",
            "http://127.0.0.1:9",
            "task",
            "next",
            live.task_id,
            "--account",
            "alice",
        ],
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "DATAFAIR_PASSWORD": "correct horse",
            "DATAFAIR_HOME": str(live.cli_home),
        },
        timeout=60,
        check=False,
    )
    assert offline.returncode == 1 and offline.stderr.startswith("error: server: cannot reach")


def test_schemathesis_finds_no_server_error_nor_schema_violation(live: Live) -> None:
    schemathesis = Path(sys.executable).with_name("schemathesis")
    done = subprocess.run(
        [
            str(schemathesis),
            "run",
            f"{live.url}/openapi.json",
            "--checks",
            "not_a_server_error,response_schema_conformance,status_code_conformance,"
            "content_type_conformance",
            "--max-examples",
            "6",
            "--seed",
            "7",
            "--generation-deterministic",
            "--phases",
            "examples,fuzzing",
            "--request-timeout",
            "30",
            "--exclude-path-regex",
            "^/(rpc|api/v1/tasks/\\{task_id\\}/settle)$",
            "-H",
            f"Authorization: Bearer {live.requester_token}",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert httpx.get(f"{live.url}/ready").status_code == 200
