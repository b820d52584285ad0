"""The market pages without a browser: browse with every filter and full-text search (the same
service as the API route), one message next to a field for a bad filter, a release's page with
its licence, price, quality and sample, user text (titles, cards) shown as text, and the wallet
pages asking for a wallet first."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from web_helpers import sign_in_browser

from datafair.settings import Settings

HOSTILE_TITLE = "Reviews <script>alert(1)</script>"
HOSTILE_CARD = "---\nlicense: cc-by-4.0\n---\n\n# Reviews\n\n<img src=x onerror=alert(1)> sentiment"


def _release(session: Any, dataset_id: int, number: int, **fields: Any) -> None:
    from datafair.services.release_files import index_release
    from datafair.store.market_models import Release

    values: dict[str, Any] = {
        "release_cid": f"bafkreirelease{number:044d}",
        "manifest_cid": f"bafkreimanifest{number:043d}",
        "dataset_id": dataset_id,
        "task_pk": None,
        "version": number,
        "card": {},
        "card_cid": f"bafkreicard{number:047d}",
        "royalty_bps": 3000,
        "weights_root": b"\1" * 32,
        "total_weight": 100,
        "owner": "0x" + "0a" * 20,
        "registry_address": None,
        "register_tx": None,
        "sample": [f"bafkreisample{number}"],
        "encrypted_cid": None,
        "created_at": number,
        **fields,
    }
    row = Release(**values)
    session.add(row)
    session.flush()
    index_release(session, row)
    session.commit()


@pytest.fixture
def releases(site: TestClient, web_settings: Settings, task_id: str) -> None:
    """Two releases: English text, listed, 1,000 items, CC-BY-4.0, agreement 0.9 (with a hostile
    title and card); French images, not listed, 50 items, non-commercial, agreement 0.5."""
    from sqlalchemy import select

    from datafair.store.db import Database
    from datafair.store.models import Dataset

    database = Database.from_url(web_settings.resolved_database_url)
    with database.session() as session:
        dataset_id = session.scalars(select(Dataset.id)).first()
        _release(
            session,
            dataset_id,
            1,
            title=HOSTILE_TITLE,
            card_text=HOSTILE_CARD,
            modality="text",
            task_type="classification",
            license="CC-BY-4.0",
            commercial_use=True,
            languages="en",
            item_count=1000,
            agreement=0.9,
            gold_accuracy=0.95,
            inferred_accuracy=0.92,
            price=5 * 10**18,
            payment_token="0x" + "0b" * 20,
            token_id=1,
        )
        _release(
            session,
            dataset_id,
            2,
            title="Photos of birds",
            card_text="---\nlicense: cc-by-nc-4.0\n---\n\n# Birds\n\nbounding boxes of birds",
            modality="image",
            task_type="boxes",
            license="CC-BY-NC-4.0",
            commercial_use=False,
            languages="fr",
            item_count=50,
            agreement=0.5,
            gold_accuracy=None,
            inferred_accuracy=None,
            price=None,
            payment_token=None,
            token_id=None,
        )
    database.dispose()


def _titles(site: TestClient, **params: Any) -> list[str]:
    page = site.get("/market", params=params, headers={"hx-request": "true"}).text
    return [t for t in ("Reviews", "Photos of birds") if f">{t}" in page.replace("&lt;", "<")]


BROWSE_CASES: list[tuple[dict[str, str], list[str]]] = [
    ({}, ["Reviews", "Photos of birds"]),
    ({"q": "sentiment"}, ["Reviews"]),
    ({"q": "birds"}, ["Photos of birds"]),
    ({"q": "spreadsheets"}, []),
    ({"modality": "image"}, ["Photos of birds"]),
    ({"task_type": "classification"}, ["Reviews"]),
    ({"license": "CC-BY-NC-4.0"}, ["Photos of birds"]),
    ({"language": "en"}, ["Reviews"]),
    ({"min_items": "100"}, ["Reviews"]),
    ({"max_items": "100"}, ["Photos of birds"]),
    ({"min_agreement": "0.8"}, ["Reviews"]),
    ({"min_gold_accuracy": "0.9"}, ["Reviews"]),
    ({"min_inferred_accuracy": "0.99"}, []),
    ({"max_price": str(5 * 10**18)}, ["Reviews"]),
    ({"max_price": str(5 * 10**18 - 1)}, []),
    ({"listed": "1"}, ["Reviews"]),
]


def test_browse_filters_and_search(site: TestClient, releases: None) -> None:
    for params, expected in BROWSE_CASES:
        assert _titles(site, **params) == expected, params


def test_a_bad_filter_is_one_message_next_to_its_field(site: TestClient, releases: None) -> None:
    for params, message in (
        ({"min_items": "many"}, "min_items: &#39;many&#39; is not a whole number"),
        ({"min_agreement": "2"}, "min_agreement: 2.0 is not a fraction (give a value in 0..1)"),
        ({"max_price": "-1"}, "max_price: must not be negative"),
    ):
        page = site.get("/market", params=params)
        assert page.status_code == 200
        assert message in page.text, params
        name = next(iter(params))
        assert f'id="{name}-error" data-error-for="{name}"  >' in page.text, params
        assert _titles(site, **params) == []
        fragment = site.get("/market", params=params, headers={"hx-request": "true"}).text
        assert "<h1>" not in fragment and 'hx-swap-oob="true"' in fragment


def test_user_text_is_shown_as_text(site: TestClient, releases: None) -> None:
    for path in ("/market", "/market/1"):
        page = site.get(path).text
        assert "<script>alert(1)</script>" not in page and "<img src=x" not in page
    release = site.get("/market/1").text
    assert "Reviews &lt;script&gt;alert(1)&lt;/script&gt;" in release
    assert "&lt;img src=x onerror=alert(1)&gt; sentiment" in release  # inside <pre class="card">


def test_a_release_page_shows_licence_price_quality_and_sample(
    site: TestClient, releases: None
) -> None:
    page = site.get("/market/1").text
    assert "<code>CC-BY-4.0</code> (SPDX id); commercial use: <strong>yes</strong>" in page
    assert "5 <small>(5,000,000,000,000,000,000 base units)</small>" in page
    assert "0x" + "0b" * 20 in page
    assert "90.00 %" in page and "95.00 %" in page and "92.00 %" in page
    assert "bafkreisample1" in page
    assert "Connect a wallet (above) to buy a licence" in page
    birds = site.get("/market/2").text
    assert (
        "commercial use: <strong>no</strong>" in birds and "This release is not for sale." in birds
    )
    assert site.get("/market/99").status_code == 404


def test_wallet_pages_ask_for_a_wallet_then_show_its_own(site: TestClient) -> None:
    assert "Connect a wallet (above) to see the licences" in site.get("/market/licences").text
    assert "Connect a wallet (above) to see your royalty" in site.get("/market/royalties").text
    sign_in_browser(site, "buyer")
    assert "This wallet holds no licence yet" in site.get("/market/licences").text
    assert "This wallet holds no royalty weight" in site.get("/market/royalties").text
