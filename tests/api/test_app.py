"""The API in-process: sign-in, labelling and reviewing with client-side signatures, idempotency,
policies over HTTP, and every bad input of the issue as a 4xx problem that stores nothing."""

from __future__ import annotations

import io
import time
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from datafair.client import ApiError, DatafairClient
from datafair.client.client import sign_typed, siwe_message
from datafair.store.api_models import ApiSession
from datafair.store.db import Database
from datafair.store.models import Dataset, Review, Submission

from .conftest import Market, Party, wallet

API = "/api/v1"


def count(settings: Any, model: Any) -> int:
    database = Database.open(settings)
    try:
        with database.session() as session:
            return int(session.scalar(select(func.count()).select_from(model)) or 0)
    finally:
        database.dispose()


def assert_problem(response: Any, status: int, field: str | None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["detail"] and body["type"].startswith("https://")
    if field is not None:
        assert body["field"] == field, body
    return dict(body)


def signed_message(api: TestClient, who: Any, **changes: Any) -> tuple[str, str]:
    nonce = api.get(f"{API}/auth/nonce").json()
    nonce.update(changes.pop("nonce_doc", {}))
    text = siwe_message(nonce, who.address, **changes)
    signature = Account.sign_message(encode_defunct(text=text), who.key).signature
    return text, "0x" + bytes(signature).hex()


# ------------------------------------------------------------------------------- sign-in


def test_sign_in_gives_a_bearer_token_and_an_httponly_cookie(api: TestClient) -> None:
    alice = wallet("alice")
    text, signature = signed_message(api, alice)
    response = api.post(f"{API}/auth/sign-in", json={"message": text, "signature": signature})
    assert response.status_code == 200
    token = response.json()["token"]
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and token in cookie
    me = api.get(f"{API}/auth/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me == {"address": alice.address, "operator": False}
    assert api.get(f"{API}/auth/me").json()["address"] == alice.address  # the cookie
    api.post(f"{API}/auth/sign-out", headers={"Authorization": f"Bearer {token}"})
    revoked = api.get(f"{API}/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert_problem(revoked, 401, "session")


@pytest.mark.parametrize(
    ("change", "field", "status"),
    [
        ({"nonce_doc": {"domain": "evil.example"}}, "message.domain", 422),
        ({"nonce_doc": {"chain_id": 1}}, "message.chain_id", 422),
        ({"ttl_s": -60}, "message.expiration_time", 422),
        ({"nonce_doc": {"nonce": "abcdefabcdef0123"}}, "message.nonce", 422),
    ],
)
def test_foreign_or_expired_sign_in_messages_are_refused(
    api: TestClient, settings: Any, change: dict[str, Any], field: str, status: int
) -> None:
    text, signature = signed_message(api, wallet("mallory"), **change)
    response = api.post(f"{API}/auth/sign-in", json={"message": text, "signature": signature})
    assert_problem(response, status, field)
    assert count(settings, ApiSession) == 0


def test_a_replayed_nonce_and_a_signature_by_another_key_are_refused(
    api: TestClient, settings: Any
) -> None:
    alice, mallory = wallet("alice"), wallet("mallory")
    text, signature = signed_message(api, alice)
    assert api.post(
        f"{API}/auth/sign-in", json={"message": text, "signature": signature}
    ).is_success
    replay = api.post(f"{API}/auth/sign-in", json={"message": text, "signature": signature})
    assert_problem(replay, 409, "message.nonce")
    text, _ = signed_message(api, alice)
    forged = Account.sign_message(encode_defunct(text=text), mallory.key).signature
    response = api.post(
        f"{API}/auth/sign-in", json={"message": text, "signature": "0x" + forged.hex()}
    )
    assert_problem(response, 422, "signature")
    garbage = api.post(f"{API}/auth/sign-in", json={"message": "hello", "signature": "0x00"})
    assert_problem(garbage, 422, "message")
    assert count(settings, ApiSession) == 1


# ------------------------------------------------------------------------------- labelling


def test_a_contributor_labels_with_typed_data_signed_by_their_own_wallet(
    party: Party, market: Market
) -> None:
    bob = party("bob")
    board = bob.tasks()
    assert [task["task_id"] for task in board] == [market.task_id]
    assert board[0]["price_per_answer"] == "1000" and board[0]["hourly_pay"] is None
    item = bob.next_item(market.task_id)
    assert item is not None and item["text"].startswith("review number")
    assert [choice["answer"] for choice in item["choices"]] == ["pos", "neg"]
    typed = item["choices"][0]["typed_data"]
    assert typed["primaryType"] == "Submission"
    assert typed["message"]["contributor"] == bob.address
    assert typed["domain"] == {"name": "datafair", "version": "1", "chainId": 31337}
    typed["message"]["durationMs"] = 30_000
    entry = {
        "item_cid": item["item_cid"],
        "answer": "pos",
        "contributor": bob.address,
        "nonce": item["nonce"],
        "duration_ms": 30_000,
        "signature": sign_typed(bob.wallet, typed),  # type: ignore[attr-defined]
    }
    first = bob.submit(market.task_id, entry)
    assert first["duplicate"] is False
    again = bob.submit(market.task_id, entry)  # a retry after a timeout
    assert again == {"id": first["id"], "duplicate": True}
    mine = bob.my_answers()
    assert [(row["submission_id"], row["answer"]) for row in mine] == [(first["id"], "pos")]
    assert bob.task(market.task_id)["hourly_pay"] == str(1000 * 3600 // 30)


def test_batches_report_each_entry_and_are_idempotent(
    party: Party, market: Market, settings: Any
) -> None:
    carol = party("carol")
    entries = []
    while (item := carol.next_item(market.task_id)) is not None:
        entries.append(
            carol.signed_answer(carol.wallet, market.task_id, item["item_cid"], "neg")  # type: ignore[attr-defined]
        )
    assert len(entries) == 5  # the ordinary items (gold_ratio 0: gold is never handed out)
    bad = dict(entries[1], answer="maybe")
    report = carol.submit_batch(market.task_id, [entries[0], bad, *entries[2:]])
    assert (report["accepted"], report["rejected"]) == (4, 1)
    problem = report["results"][1]["problem"]
    assert problem["field"].startswith("submissions[1].") and problem["status"] == 422
    retry = carol.submit_batch(market.task_id, entries)
    assert (retry["accepted"], retry["duplicates"], retry["rejected"]) == (1, 4, 0)
    assert count(settings, Submission) == 5


def test_reviews_are_signed_by_the_reviewer_and_never_of_their_own_answers(
    party: Party, market: Market, settings: Any
) -> None:
    bob, dave = party("bob"), party("dave")
    item = bob.next_item(market.task_id)
    assert item is not None
    bob.submit_answer(bob.wallet, market.task_id, item["item_cid"], "pos")  # type: ignore[attr-defined]
    assert bob.next_review(market.task_id) is None
    target = dave.next_review(market.task_id)
    assert target is not None and target["contributor"] == bob.address
    stored = dave.submit_review(dave.wallet, target, verdict="reject")  # type: ignore[attr-defined]
    assert dave.submit_review(dave.wallet, target, verdict="reject") == {  # type: ignore[attr-defined]
        "id": stored["id"],
        "duplicate": True,
    }
    with pytest.raises(ApiError) as refused:  # dave signs for a verdict he does not send
        dave.submit_review(
            dave.wallet, {**target, "submission_id": target["submission_id"]}, verdict="accept"
        )  # type: ignore[attr-defined]
    assert refused.value.status == 409
    assert count(settings, Review) == 1


def test_gold_never_leaves_and_answers_stay_private_before_publication(
    party: Party, market: Market, api: TestClient
) -> None:
    bob, eve, requester = party("bob"), party("eve"), party("requester")
    answered = []
    while (item := bob.next_item(market.task_id)) is not None:
        bob.submit_answer(bob.wallet, market.task_id, item["item_cid"], "pos")  # type: ignore[attr-defined]
        answered.append(item["item_cid"])
    assert market.gold_item not in answered  # gold_ratio 0: gold items are not handed out
    gold = api.get(f"{API}/tasks/{market.task_id}/gold")
    assert_problem(gold, 401, "session")
    with pytest.raises(ApiError) as hidden:
        eve.request("GET", f"{API}/tasks/{market.task_id}/gold")
    assert hidden.value.status == 403
    with pytest.raises(ApiError) as private:
        eve.request(
            "GET", f"{API}/tasks/{market.task_id}/answers", params={"contributor": bob.address}
        )
    assert private.value.status == 403
    own = bob.request(
        "GET", f"{API}/tasks/{market.task_id}/answers", params={"contributor": bob.address}
    )
    assert len(own) == len(answered)
    everything = requester.request("GET", f"{API}/tasks/{market.task_id}/answers")
    assert len(everything) == len(answered)
    report = requester.quality(market.task_id)
    assert market.gold_item not in {label["item_cid"] for label in report["labels"]}
    assert "neg" not in str(report)  # the gold answer, the only "neg", appears nowhere


# ------------------------------------------------------------------------------- bad input


def entry_for(client: DatafairClient, market: Market) -> dict[str, Any]:
    item = client.next_item(market.task_id)
    assert item is not None
    return client.signed_answer(client.wallet, market.task_id, item["item_cid"], "pos")  # type: ignore[attr-defined]


def test_bad_submissions_are_problems_naming_the_field_and_store_nothing(
    party: Party, market: Market, api: TestClient, settings: Any
) -> None:
    bob = party("bob")
    headers = {"Authorization": f"Bearer {bob.token}", "content-type": "application/json"}
    url = f"{API}/tasks/{market.task_id}/submissions"
    assert_problem(api.post(url, content=b"{not json", headers=headers), 422, "body")
    good = entry_for(bob, market)
    mallory = wallet("mallory")
    typed = bob.sign_request(
        market.task_id, good["item_cid"], "pos", nonce=int(good["nonce"]), duration_ms=0
    )["typed_data"]
    forged = dict(good, signature=sign_typed(mallory, typed))  # bob's message, mallory's key
    assert_problem(api.post(url, json=forged, headers=headers), 422, "signature")
    for part, key, value in (
        ("domain", "chainId", 1),  # signed for another chain
        ("domain", "name", "other-market"),  # for another domain
        ("message", "taskId", "0x" + "34" * 32),  # for another task
    ):
        changed = {**typed, part: {**typed[part], key: value}}
        signed_elsewhere = dict(good, signature=sign_typed(bob.wallet, changed))  # type: ignore[attr-defined]
        assert_problem(api.post(url, json=signed_elsewhere, headers=headers), 422, "signature")
    wrong_task = "0x" + "12" * 32
    assert_problem(
        api.post(f"{API}/tasks/{wrong_task}/submissions", json=good, headers=headers),
        404,
        "task_id",
    )
    unknown_item = dict(
        good, item_cid="bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
    )
    assert_problem(api.post(url, json=unknown_item, headers=headers), 404, "item_cid")
    traversal = dict(good, item_cid="../../etc/passwd")
    assert_problem(api.post(url, json=traversal, headers=headers), 422, "item_cid")
    not_mine = dict(good, contributor=mallory.address)
    assert_problem(api.post(url, json=not_mine, headers=headers), 403, "account")
    too_many = {"submissions": [good] * 1001}
    assert_problem(api.post(f"{url}/batch", json=too_many, headers=headers), 422, "submissions")
    assert count(settings, Submission) == 0
    huge = b'{"submissions": [' + b'"x",' * 600_000 + b'"x"]}'
    assert_problem(api.post(f"{url}/batch", content=huge, headers=headers), 413, "body")
    assert count(settings, Submission) == 0


def test_full_and_closed_items_and_non_owners_closing_are_refused(
    party: Party, market: Market, api: TestClient, settings: Any
) -> None:
    bob, carol, dave, requester = party("bob"), party("carol"), party("dave"), party("requester")
    first = entry_for(bob, market)
    bob.submit(market.task_id, first)
    carol_entry = carol.signed_answer(carol.wallet, market.task_id, first["item_cid"], "pos")  # type: ignore[attr-defined]
    carol.submit(market.task_id, carol_entry)
    late = dave.signed_answer(dave.wallet, market.task_id, first["item_cid"], "pos")  # type: ignore[attr-defined]
    with pytest.raises(ApiError) as full:
        dave.submit(market.task_id, late)
    assert full.value.status == 409 and full.value.field == "item_cid"
    with pytest.raises(ApiError) as not_owner:
        bob.close_task(market.task_id)
    assert not_owner.value.status == 403
    assert_problem(api.post(f"{API}/tasks/{market.task_id}/close"), 401, "session")
    assert requester.close_task(market.task_id)["status"] == "closed"
    closed = dave.signed_answer(dave.wallet, market.task_id, market.items[3], "pos")  # type: ignore[attr-defined]
    with pytest.raises(ApiError) as refused:
        dave.submit(market.task_id, closed)
    assert refused.value.status == 409
    assert count(settings, Submission) == 2


def test_uploads_of_the_wrong_type_traversing_names_or_too_large_store_nothing(
    party: Party, api: TestClient, settings: Any
) -> None:
    requester = party("requester")
    headers = {"Authorization": f"Bearer {requester.token}"}
    form = {"title": "Bad"}

    def upload(name: str, data: bytes, media: str) -> Any:
        return api.post(
            f"{API}/datasets", headers=headers, data=form, files={"file": (name, data, media)}
        )

    assert_problem(upload("a.csv", b"\x89PNG\r\n\x1a\n\x00\x00", "text/csv"), 422, "file")
    assert_problem(upload("a.csv", b"text\nhello\n", "image/png"), 422, "file.content_type")
    assert_problem(upload("../a.csv", b"text\nhello\n", "text/csv"), 422, "file.filename")
    assert_problem(upload("a.exe", b"text\nhello\n", "text/csv"), 422, "file.filename")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("../escape.png", b"\x89PNG")
    assert_problem(upload("a.zip", archive.getvalue(), "application/zip"), 422, None)
    assert_problem(upload("a.csv", b"text\n" + b"y" * 300_000, "text/csv"), 413, "body")
    anonymous = api.post(
        f"{API}/datasets", data=form, files={"file": ("a.csv", b"text\nhi\n", "text/csv")}
    )
    assert_problem(anonymous, 401, "session")
    assert count(settings, Dataset) == 0
    assert (
        not any((settings.home / "uploads").glob("*/*"))
        if (settings.home / "uploads").exists()
        else True
    )


def test_unknown_things_are_404_problems(api: TestClient) -> None:
    assert_problem(api.get(f"{API}/tasks/0x" + "00" * 32), 404, "task_id")
    assert_problem(api.get(f"{API}/datasets/bafkreinothing"), 404, None)
    assert_problem(
        api.get(f"{API}/bundles/bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"),
        404,
        "cid",
    )
    assert_problem(api.get("/nowhere"), 404, "path")


def test_openapi_and_offline_docs(api: TestClient) -> None:
    document = api.get("/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    for path, operations in document["paths"].items():
        assert path.startswith(("/api/v1/", "/health", "/ready", "/rpc")), path
        for operation in operations.values():
            assert operation.get("summary"), path
    page = api.get("/docs").text
    assert "/docs-assets/swagger-ui-bundle.js" in page and "cdn" not in page.lower()
    assert api.get("/docs-assets/swagger-ui-bundle.js").status_code == 200
    assert api.get("/health").json()["status"] == "ok"
    assert api.get("/ready").json()["status"] == "ok"


def test_expired_sessions_are_refused(api: TestClient, settings: Any) -> None:
    alice = wallet("alice")
    nonce = api.get(f"{API}/auth/nonce").json()
    text = siwe_message(nonce, alice.address, ttl_s=1)
    assert datetime.now(UTC) < datetime.now(UTC) + timedelta(seconds=1)
    signature = Account.sign_message(encode_defunct(text=text), alice.key).signature
    import time

    time.sleep(1.2)
    response = api.post(
        f"{API}/auth/sign-in", json={"message": text, "signature": "0x" + signature.hex()}
    )
    assert_problem(response, 422, "message.expiration_time")


def test_task_terms_out_of_range_are_422_naming_the_field(party: Any, tmp_path: Path) -> None:
    from datafair.client.client import ApiError

    from .conftest import write_reviews_csv

    requester = party("requester")
    imported = requester.upload_dataset(write_reviews_csv(tmp_path / "r.csv", 3), title="R")
    now = int(time.time())
    for deadline, problem in ((now - 60, "not in the future"), (2**62, "ten years away")):
        with pytest.raises(ApiError, match=problem) as raised:
            requester.create_task(
                dataset_cid=imported["manifest_cid"],
                title="T",
                classes=["a", "b"],
                deadline=deadline,
            )
        assert raised.value.status == 422 and raised.value.field == "deadline"


def test_a_server_process_freezes_its_long_lived_objects() -> None:
    import subprocess
    import sys

    code = (
        "import gc, sys; from datafair.api.app import WARM_MODULES, freeze_long_lived; "
        "before = gc.get_freeze_count(); freeze_long_lived(); "
        "print(before, gc.get_freeze_count() > 100_000, "
        "all(m in sys.modules for m in WARM_MODULES))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["0", "True", "True"]


def test_an_assigned_only_task_takes_answers_only_on_items_taken_with_next(
    party: Any, tmp_path: Path
) -> None:
    from datafair.client.client import ApiError
    from datafair.crypto.cid import compute_cid

    from .conftest import write_reviews_csv

    requester, bob = party("requester"), party("bob")
    imported = requester.upload_dataset(write_reviews_csv(tmp_path / "r.csv", 3), title="R")
    terms = {
        "dataset_cid": imported["manifest_cid"],
        "title": "T",
        "classes": ["pos", "neg"],
        "deadline": int(time.time()) + 3600,
    }
    with pytest.raises(ApiError, match="true or false") as raised:
        requester.create_task(**terms, extra={"assigned_only": "yes"})
    assert raised.value.status == 422 and raised.value.field == "extra.assigned_only"
    task_id = requester.create_task(**terms, extra={"assigned_only": True})["task_id"]
    assert bob.task(task_id)["assigned_only"] is True
    held = bob.next_item(task_id)
    assert held is not None
    texts = [f"review number {i}: {'great' if i % 2 else 'awful'} product" for i in range(3)]
    other = next(
        cid for cid in map(compute_cid, (t.encode() for t in texts)) if cid != held["item_cid"]
    )
    with pytest.raises(ApiError, match="does not hold item") as refused:
        bob.submit(task_id, bob.signed_answer(bob.wallet, task_id, other, "pos"))
    assert refused.value.status == 409 and refused.value.field == "item_cid"
    accepted = bob.submit(task_id, bob.signed_answer(bob.wallet, task_id, held["item_cid"], "pos"))
    assert accepted["duplicate"] is False
