"""Fixtures of the web tests: the app with its pages over a fresh home, signed-in parties, and a
requester's task made over HTTP (the same JSON API the pages' scripts call)."""

from __future__ import annotations

import csv
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from web_helpers import OPERATOR, deploy_home, web_wallet
from web_live import CHROMIUM, CHROMIUM_ARGS

from datafair.api.app import create_app
from datafair.client import DatafairClient
from datafair.settings import Settings

TEXTS = [f"review {i}: {'great' if i % 2 else 'awful'} product" for i in range(6)]


@pytest.fixture
def web_settings(tmp_path: Path) -> Settings:
    return Settings(
        home=tmp_path / "home",
        operators=OPERATOR.address,
        fair_pay_floor=3600,
        cache=tmp_path / "cache",
    )


@pytest.fixture
def site(web_settings: Settings, contract_cache: Path) -> Iterator[TestClient]:
    """The app with its pages (the default extensions), in process, on a deployed home."""
    deploy_home(web_settings, contract_cache)
    with TestClient(create_app(web_settings)) as client:
        yield client


Party = Callable[[str], DatafairClient]


@pytest.fixture
def signed_in(site: TestClient) -> Party:
    """``signed_in(label)``: a client signed in with wallet ``label``, sharing ``site``'s cookies
    only through its own bearer token (pages read the cookie, set by sign-in)."""

    def make(label: str) -> DatafairClient:
        client = DatafairClient("http://testserver", http=site)
        client.sign_in(web_wallet(label))
        return client

    return make


@pytest.fixture
def task_id(signed_in: Party, tmp_path: Path) -> str:
    """A requester uploads six reviews and creates a classification task (k = 2)."""
    requester = signed_in("requester")
    source = tmp_path / "reviews.csv"
    with source.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text"])
        writer.writerows([text] for text in TEXTS)
    imported = requester.upload_dataset(source, title="Reviews <b>bold</b>", languages=["en"])
    task: dict[str, Any] = requester.create_task(
        dataset_cid=imported["manifest_cid"],
        title="Sentiment <script>alert(1)</script>",
        classes=["pos", "neg"],
        overlap=2,
        price_per_answer="1000",
        deadline=int(time.time()) + 365 * 86_400,
    )
    return str(task["task_id"])


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
