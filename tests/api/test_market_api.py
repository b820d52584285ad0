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


def test_purchase_plan_is_approve_then_buy_checked_first(sold_home: Settings) -> None:
    payer = wallet("payer")
    with TestClient(create_app(sold_home, extensions=())) as api:
        node = api.app.state.node  # type: ignore[attr-defined]
        node.with_chain(
            lambda escrow: escrow.token(node.deployment.address("DevToken")).mint(
                payer.address, 2 * 10**18, sender=node.deployment.owner
            )
        )
        release_id = api.get(f"{PREFIX}/releases").json()[0]["release_id"]
        url = f"{PREFIX}/releases/{release_id}/purchase"
        assert api.post(url, json={}).status_code == 401
        broke = _signed_in(api, wallet("broke"))
        refused = api.post(url, json={}, headers={"Authorization": f"Bearer {broke.token}"})
        assert refused.status_code == 422
        assert refused.json()["detail"].startswith("balance: 0x")
        buyer = _signed_in(api, payer)
        auth = {"Authorization": f"Bearer {buyer.token}"}
        plan = api.post(url, json={}, headers=auth).json()
        assert plan["price"] == str(10**18) and plan["allowance"] == "0"
        assert [c["function"] for c in plan["calls"]] == [
            "approve(address,uint256)",
            "buy(uint256,uint256)",
        ]
        assert plan["calls"][0]["to"] == plan["token"]
        assert plan["calls"][0]["args"] == [plan["market"], str(10**18)]
        assert plan["calls"][1]["to"] == plan["market"]
        permit = plan["permit"]  # DevToken has EIP-2612: one signature replaces the approve
        assert (
            permit["primaryType"] == "Permit"
            and permit["domain"]["verifyingContract"] == (plan["token"])
        )
        assert permit["message"]["spender"] == plan["market"]
        assert permit["message"]["value"] == str(10**18)
        signature = payer.sign_typed_data(full_message=permit).signature.hex()
        deadline = int(permit["message"]["deadline"])
        one = api.post(
            url,
            json={
                "permit": {"deadline": deadline, "signature": "0x" + signature.removeprefix("0x")}
            },
            headers=auth,
        ).json()
        assert [c["function"] for c in one["calls"]] == [
            "buy_with_permit(uint256,uint256,uint256,uint8,bytes32,bytes32)"
        ]
        assert one["calls"][0]["args"][:3] == [str(plan["dataset_id"]), str(10**18), str(deadline)]
        bad = api.post(
            url, json={"permit": {"deadline": deadline, "signature": "0x12"}}, headers=auth
        )
        assert bad.status_code == 422 and bad.json()["detail"].startswith("permit.signature: ")
        low = api.post(url, json={"max_price": str(10**18 - 1)}, headers=auth)
        assert low.status_code == 422 and low.json()["detail"].startswith("max_price: ")
        assert api.post(url, json={"max_price": "1e18"}, headers=auth).status_code == 422


def test_licences_and_the_royalty_claim_call(market_api: TestClient) -> None:
    from datafair.sim.population import derive_key

    assert market_api.get(f"{PREFIX}/licences").status_code == 401
    buyer = _signed_in(market_api, Account.from_key(derive_key(SEED, 2_000_000)))
    held = market_api.get(
        f"{PREFIX}/licences", headers={"Authorization": f"Bearer {buyer.token}"}
    ).json()
    assert len(held) == 1 and held[0]["licence_id"] >= 1 and held[0]["title"]
    assert market_api.post(f"{PREFIX}/royalties/claim-call").status_code == 401
    # the demo's contributors claimed everything: nothing to send
    nothing = market_api.post(
        f"{PREFIX}/royalties/claim-call", headers={"Authorization": f"Bearer {buyer.token}"}
    ).json()
    assert nothing == {"call": None, "amount": "0", "releases": 0}
