"""The market over HTTP, on a home where the demo released and sold a dataset: browse and
search, the public card, downloads only for licence holders through expiring signed URLs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from eth_account import Account
from fastapi.testclient import TestClient

from datafair.api.app import create_app
from datafair.client import DatafairClient
from datafair.settings import Settings

from .conftest import server_settings, wallet

SEED = 4
PREFIX = "/api/v1/market"


@pytest.fixture(scope="module")
def sold_home(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A home where the demo (20 items) released its data and three buyers bought it."""
    from datafair.services.demo import run_demo

    home = tmp_path_factory.mktemp("market-api") / "home"
    settings = server_settings(home)
    run_demo(settings, seed=SEED, n_items=20)
    return settings


@pytest.fixture
def market_api(sold_home: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(sold_home, extensions=())) as client:
        yield client


def _signed_in(api: TestClient, account: Any) -> DatafairClient:
    client = DatafairClient("http://testserver", http=api)
    client.sign_in(account)
    return client


def test_browse_and_search(market_api: TestClient) -> None:
    listed = market_api.get(f"{PREFIX}/releases").json()
    assert len(listed) == 1 and listed[0]["price"] == str(10**18)
    release_id = listed[0]["release_id"]
    for query, expected in (
        ({"q": "sentiment"}, [release_id]),
        ({"q": "spreadsheets"}, []),
        ({"language": "en", "min_items": 1}, [release_id]),
        ({"license": "MIT"}, []),
        ({"max_price": 10**18 - 1}, []),
        ({"min_inferred_accuracy": 0.1}, [release_id]),
    ):
        found = market_api.get(f"{PREFIX}/releases", params=query).json()
        assert [r["release_id"] for r in found] == expected, query
    bad = market_api.get(f"{PREFIX}/releases", params={"min_agreement": 2})
    assert bad.status_code == 422
    view = market_api.get(f"{PREFIX}/releases/{release_id}").json()
    assert view["card"].startswith("---\n") and len(view["sample"]) == 5
    assert market_api.get(f"{PREFIX}/releases/999").status_code == 404


def test_download_only_for_licence_holders(market_api: TestClient) -> None:
    from datafair.sim.population import derive_key

    release_id = market_api.get(f"{PREFIX}/releases").json()[0]["release_id"]
    url = f"{PREFIX}/releases/{release_id}/download-url"
    assert market_api.post(url).status_code == 401
    stranger = _signed_in(market_api, wallet("stranger"))
    denied = market_api.post(url, headers={"Authorization": f"Bearer {stranger.token}"})
    assert denied.status_code == 403
    assert "holds no licence" in denied.json()["detail"]
    buyer = _signed_in(market_api, Account.from_key(derive_key(SEED, 2_000_000)))
    granted = market_api.post(url, headers={"Authorization": f"Bearer {buyer.token}"})
    assert granted.status_code == 200, granted.text
    signed = granted.json()["url"]
    data = market_api.get(signed)
    assert data.status_code == 200 and data.json()["format"] == "datafair-release-data/1"
    tampered = signed.replace("sig=", "sig=0")[: len(signed)]
    assert market_api.get(tampered).status_code == 403


def test_royalties_of_an_address(market_api: TestClient, sold_home: Settings) -> None:
    from datafair.sim import make_population

    population = make_population(3, seed=SEED)
    rows = []
    for contributor in population.contributors:
        rows += market_api.get(f"{PREFIX}/royalties/{contributor.address}").json()
    assert rows and all(int(r["claimable"]) == 0 for r in rows)  # the demo claimed everything
    assert sum(int(r["paid"]) for r in rows) > 0
