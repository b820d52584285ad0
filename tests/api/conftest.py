"""Fixtures of the API tests: an app over a fresh home, wallets, a requester's task.

``api`` is an in-process app (Starlette's TestClient, the real ASGI stack); the tests that need
real clients (uvicorn, ethers, the CLI, schemathesis) start a server process in
``tests/api/_live.py``.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient

from datafair.api.app import create_app
from datafair.client import DatafairClient
from datafair.settings import Settings

OPERATOR_KEY = "0x" + "0f" * 32


def wallet(label: str) -> LocalAccount:
    """A deterministic test wallet."""
    from datafair.core.canonical import keccak256

    return Account.from_key(keccak256(f"api test wallet {label}".encode()))


OPERATOR = wallet("operator")


def write_reviews_csv(path: Path, n: int) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text"])
        for i in range(n):
            writer.writerow([f"review number {i}: {'great' if i % 2 else 'awful'} product"])
    return path


def server_settings(home: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "home": home,
        "operators": OPERATOR.address,
        "claim_rate_limit": 3,
        "max_body_bytes": 2_000_000,
        "max_upload_bytes": 200_000,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return server_settings(tmp_path / "home")


@pytest.fixture
def api(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, extensions=())) as client:
        yield client


Party = Callable[[str], DatafairClient]


@pytest.fixture
def party(api: TestClient) -> Party:
    """``party(label)``: a client signed in with wallet ``label`` (its wallet is ``.wallet``)."""

    def make(label: str) -> DatafairClient:
        client = DatafairClient("http://testserver", http=api)
        client.sign_in(wallet(label))
        client.wallet = wallet(label)  # type: ignore[attr-defined]
        return client

    return make


@dataclass
class Market:
    """A requester's task made over HTTP: its id, its items and the gold item."""

    task_id: str
    dataset_cid: str
    items: list[str]
    gold_item: str


@pytest.fixture
def market(party: Party, tmp_path: Path) -> Market:
    """A requester uploads 6 reviews and creates a classification task (k = 2, one gold)."""
    requester = party("requester")
    source = write_reviews_csv(tmp_path / "reviews.csv", 6)
    imported = requester.upload_dataset(source, title="Reviews", languages=["en"])
    from datafair.core.canonical import canonical_json  # noqa: F401
    from datafair.crypto.cid import compute_cid

    items = [
        compute_cid(f"review number {i}: {'great' if i % 2 else 'awful'} product".encode())
        for i in range(6)
    ]
    task = requester.create_task(
        dataset_cid=imported["manifest_cid"],
        title="Sentiment",
        classes=["pos", "neg"],
        overlap=2,
        gold={items[0]: "neg"},
        price_per_answer="1000",
        deadline=int(time.time()) + 365 * 86_400,
    )
    return Market(task["task_id"], imported["manifest_cid"], items, items[0])
