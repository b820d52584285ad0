"""Pages render from the same services as the API, check the same policies, escape user text,
and show one clear message for bad input."""

from __future__ import annotations

from fastapi.testclient import TestClient
from web_helpers import sign_in_browser

from datafair.client import DatafairClient


def test_every_public_page_renders(site: TestClient, task_id: str) -> None:
    for path in ("/", f"/tasks/{task_id}", "/audit", "/datasets/new", "/tasks/new"):
        response = site.get(path)
        assert response.status_code == 200, (path, response.text[:300])
        assert response.headers["content-type"].startswith("text/html")
        assert '<script src="/static/vendor/htmx.min.js"' in response.text


def test_user_text_is_escaped(site: TestClient, task_id: str) -> None:
    board = site.get("/").text
    assert "Sentiment &lt;script&gt;alert(1)&lt;/script&gt;" in board
    assert "<script>alert(1)</script>" not in board


def test_the_board_shows_price_pay_and_items_left(site: TestClient, task_id: str) -> None:
    page = site.get("/").text
    assert f"/tasks/{task_id}/label" in page
    assert "no timed answers yet" in page
    assert "<td>6</td>" in page  # six items, none full


def test_the_label_page_carries_the_task_for_its_script(site: TestClient, task_id: str) -> None:
    page = site.get(f"/tasks/{task_id}/label").text
    assert '"task_type": "classification"' in page and '"classes": ["pos", "neg"]' in page
    assert "/static/label.js" in page


def test_unknown_task_is_a_404_page(site: TestClient) -> None:
    response = site.get("/tasks/0x" + "ab" * 32)
    assert response.status_code == 404
    assert "Not found" in response.text


def test_a_malformed_task_id_is_a_422_page_naming_the_field(site: TestClient) -> None:
    response = site.get("/tasks/0xnothex/label")
    assert response.status_code == 422
    assert "task_id" in response.text


def test_the_dashboard_is_the_requesters(site: TestClient, signed_in, task_id: str) -> None:
    anonymous = site.get(f"/tasks/{task_id}/dashboard")
    assert anonymous.status_code == 401
    sign_in_browser(site, "stranger")
    assert site.get(f"/tasks/{task_id}/dashboard").status_code == 403
    sign_in_browser(site, "requester")
    page = site.get(f"/tasks/{task_id}/dashboard")
    assert page.status_code == 200, page.text[:500]
    assert "<svg" in page.text and "Answers per hour" in page.text


def test_fund_page_only_for_the_requester(site: TestClient, task_id: str) -> None:
    sign_in_browser(site, "stranger")
    assert site.get(f"/tasks/{task_id}/fund").status_code == 403
    sign_in_browser(site, "requester")
    page = site.get(f"/tasks/{task_id}/fund")
    assert page.status_code == 200 and "Approve and fund" in page.text


def test_the_fair_pay_check_names_the_price_needed(site: TestClient) -> None:
    # floor 3600 base units per hour (see web_settings): at a median of 14 s that is 14 each
    below = site.get(
        "/fragments/fair-pay", params={"price_per_answer": "10", "median_s": "14"}
    ).text
    assert "below the floor" in below and "raise the price to ≥ 14" in below
    fine = site.get("/fragments/fair-pay", params={"price_per_answer": "20", "median_s": "14"}).text
    assert "at or above the floor" in fine
    bad = site.get("/fragments/fair-pay", params={"price_per_answer": "ten", "median_s": "14"}).text
    assert "price: must be a whole number" in bad


def test_api_errors_are_pages_for_browsers_and_problems_for_programs(site: TestClient) -> None:
    page = site.get("/api/v1/tasks/0x" + "cd" * 32, headers={"accept": "text/html"})
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    problem = site.get("/api/v1/tasks/0x" + "cd" * 32)
    assert problem.headers["content-type"] == "application/problem+json"


def test_earnings_ask_to_sign_in_then_show_nothing_yet(site: TestClient) -> None:
    assert "Sign in with your wallet" in site.get("/me").text
    sign_in_browser(site, "contributor")
    assert "No payouts yet" in site.get("/me").text


def test_earnings_show_answers_to_open_items_as_pending(
    site: TestClient, signed_in, task_id: str
) -> None:
    from web_helpers import web_wallet

    contributor: DatafairClient = signed_in("contributor")
    item = contributor.next_item(task_id)
    assert item is not None
    contributor.submit_answer(web_wallet("contributor"), task_id, item["item_cid"], "pos")
    sign_in_browser(site, "contributor")
    page = site.get("/me").text
    assert "Pending answers" in page and "pending: item still open" in page


def test_audit_of_an_unknown_bundle_fails_in_one_line(site: TestClient) -> None:
    cid = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
    page = site.get("/audit", params={"cid": cid}, headers={"hx-request": "true"})
    assert page.status_code == 200
    assert "Fail" in page.text and cid in page.text


def test_contracts_and_totals_pages(site: TestClient, signed_in, task_id: str) -> None:
    from datafair.api.app import create_app  # noqa: F401

    contracts = site.get("/contracts")
    assert contracts.status_code == 200, contracts.text[:400]
    assert "TaskEscrow" in contracts.text and "on-chain cap 5.0 %" in contracts.text
    totals = site.get("/totals")
    assert totals.status_code == 200 and "Paid to contributors" in totals.text


def test_session_key_delegation_over_http(site: TestClient, signed_in, task_id: str) -> None:
    from eth_account import Account

    from datafair.client.client import sign_typed

    contributor: DatafairClient = signed_in("contributor")
    key = Account.create()
    typed = contributor.request(
        "POST",
        "/api/v1/delegations/typed-data",
        json={"session_key": key.address, "task_ids": [task_id], "max_answers": 3},
    )
    from web_helpers import wallet_of

    signature = sign_typed(wallet_of("contributor"), typed)
    registered = contributor.request(
        "POST", "/api/v1/delegations", json={"message": typed["message"], "signature": signature}
    )
    assert registered["max_answers"] == 3 and registered["used"] == 0
    item = contributor.next_item(task_id)
    assert item is not None
    prepared = contributor.sign_request(
        task_id, item["item_cid"], "pos", nonce=int(item["nonce"]), duration_ms=1200
    )
    stored = contributor.submit(
        task_id,
        {
            "item_cid": item["item_cid"],
            "answer": prepared["answer"],
            "contributor": wallet_of("contributor").address,
            "nonce": item["nonce"],
            "duration_ms": 1200,
            "signature": sign_typed(key, prepared["typed_data"]),
            "answer_hash": prepared["answer_hash"],
        },
    )
    assert stored["id"] >= 1
    mine = contributor.request("GET", "/api/v1/me/delegations")
    assert mine[0]["used"] == 1
    revoked = contributor.request("POST", f"/api/v1/delegations/{registered['id']}/revoke")
    assert revoked["revoked"]


def test_amounts_read_as_tokens_and_small_ones_as_base_units() -> None:
    from datafair.web.pages import _units

    assert _units(1_500_000_000_000_000_000) == "1.5"
    assert _units(2 * 10**18) == "2"
    assert _units(12_000) == "12,000 base units"
    assert _units(0) == "0"
    assert _units(None) == "–"
