"""No peeking over HTTP: a signed-in contributor is never shown another's answer to an item
they may still answer. Every GET route of the API is walked as that contributor while the item
is open, the review queue excludes its reviewer from the item it showed, and a published
answer stays hidden from whoever may still answer its item."""

from __future__ import annotations

import re
from typing import Any

import pytest

from datafair.client import ApiError, DatafairClient

from .conftest import Market, Party

API = "/api/v1"


def _answer_one(client: DatafairClient, market: Market, answer: str) -> str:
    item = client.next_item(market.task_id)
    assert item is not None
    client.submit_answer(client.wallet, market.task_id, item["item_cid"], answer)  # type: ignore[attr-defined]
    return str(item["item_cid"])


def _get_paths(client: DatafairClient, market: Market, item_cid: str) -> list[str]:
    """Every GET path of the API, its path parameters filled with this market's ids."""
    paths = client.request("GET", "/openapi.json")["paths"]
    values = {
        "task_id": market.task_id,
        "manifest_cid": market.dataset_cid,
        "cid": item_cid,
        "ref": "1",
        "release_id": "1",
        "address": str(client.address),
    }
    filled = []
    for path, operations in paths.items():
        if "get" in operations:
            filled.append(re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path))
    return filled


def test_no_get_route_shows_another_contributors_answer_to_an_open_item(
    party: Party, market: Market
) -> None:
    bob, dave = party("bob"), party("dave")
    item_cid = _answer_one(bob, market, "pos")
    secrets = {str(bob.address).lower()}
    paths = _get_paths(dave, market, item_cid)
    assert f"{API}/tasks/{market.task_id}/answers" in paths and len(paths) > 20
    extra = [
        f"{API}/tasks/{market.task_id}/answers?contributor={bob.address}",
        f"{API}/tasks/{market.task_id}/quality",
        f"{API}/tasks/{market.task_id}/export",
    ]
    for path in paths + extra:
        response = dave.http.request("GET", path, headers=dave._headers())
        assert response.status_code < 500, (path, response.text)
        body = response.content.decode("utf-8", "replace").lower()
        assert not any(secret in body for secret in secrets), path
    for path in extra:  # answers, quality report and exports are the requester's
        assert dave.http.get(path, headers=dave._headers()).status_code == 403, path


def test_the_review_queue_excludes_its_reviewer_from_the_item_it_showed(
    party: Party, market: Market
) -> None:
    bob, dave = party("bob"), party("dave")
    item_cid = _answer_one(bob, market, "pos")
    target = dave.next_review(market.task_id)
    assert target is not None and target["item_cid"] == item_cid and target["answer"] == "pos"
    with pytest.raises(ApiError) as refused:
        dave.submit_answer(dave.wallet, market.task_id, item_cid, "pos")  # type: ignore[attr-defined]
    assert refused.value.status == 409 and "may no longer answer it" in str(refused.value)
    assert "\n" not in str(refused.value)
    offered: list[str] = []
    while (item := dave.next_item(market.task_id)) is not None:
        offered.append(item["item_cid"])
        dave.submit_answer(dave.wallet, market.task_id, item["item_cid"], "neg")  # type: ignore[attr-defined]
    assert offered and item_cid not in offered
    mine: list[dict[str, Any]] = dave.request("GET", f"{API}/me/answers")
    assert item_cid not in {row["item_cid"] for row in mine}
