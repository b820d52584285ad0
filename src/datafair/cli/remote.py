"""The CLI against a remote server (``datafair --server URL ...``), signing locally.

The keystore account signs in (EIP-4361) and signs every answer and review (EIP-712) in this
process; only signatures travel. Each function is one command's remote path; the command
modules call them when ``--server`` (or ``DATAFAIR_SERVER``) is given.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from datafair.cli.common import STATE, console, read_password, shown
from datafair.core.canonical import canonical_json
from datafair.settings import Settings

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

    from datafair.client import DatafairClient


@contextmanager
def signed_in(settings: Settings, account: str) -> Iterator[tuple[DatafairClient, LocalAccount]]:
    """A client of ``STATE.server`` signed in as keystore ``account``, and its wallet."""
    from datafair.client import DatafairClient
    from datafair.store.keystore import KeyStore

    assert STATE.server is not None
    wallet = KeyStore(settings.keys_dir).load(account, read_password(settings))
    with DatafairClient(STATE.server) as client:
        client.sign_in(wallet)
        yield client, wallet


def task_next(settings: Settings, task_id: str, account: str) -> None:
    with signed_in(settings, account) as (client, _):
        item = client.next_item(task_id)
    if item is None:
        console.print("no item left for you in this task")
        return
    console.print(f"item {item['item_cid']}")
    if item.get("text") is not None:
        console.print(shown(item["text"], lines=True))
    elif item.get("image_url"):
        console.print(f"image: {STATE.server}{item['image_url']}")


def task_submit(
    settings: Settings, task_id: str, item: str, answer: Any, account: str, seconds: float
) -> None:
    with signed_in(settings, account) as (client, wallet):
        stored = client.submit_answer(
            wallet, task_id, item, answer, duration_ms=int(seconds * 1000)
        )
    again = " (already stored: same signature)" if stored["duplicate"] else ""
    console.print(f"submitted #{stored['id']} signed by {wallet.address}{again}")


def review_next(settings: Settings, task_id: str, account: str) -> None:
    with signed_in(settings, account) as (client, _):
        target = client.next_review(task_id)
    if target is None:
        console.print("no submission left for you to review in this task")
        return
    console.print(f"submission {target['submission_id']} on item {target['item_cid']}")
    if target.get("text") is not None:
        console.print(shown(target["text"], lines=True))
    console.print(f"answer: {shown(canonical_json(target['answer']).decode())}")


def review_submit(
    settings: Settings,
    task_id: str,
    submission_id: int,
    verdict: str | None,
    rating: int | None,
    account: str,
) -> None:
    with signed_in(settings, account) as (client, wallet):
        stored = client.review_by_id(wallet, task_id, submission_id, verdict=verdict, rating=rating)
    console.print(
        f"review #{stored['id']} of submission {submission_id} signed by {wallet.address}"
    )


def claim(settings: Settings, account: str) -> None:
    with signed_in(settings, account) as (client, wallet):
        report = client.claim()
    console.print(
        f"{account} {wallet.address}: claimed {report['amount']} in {report['claims']} leaves "
        f"({report['already_claimed']} already claimed), gas paid by the market's relayer"
    )
    for tx_hash in report["tx_hashes"]:
        console.print(f"  tx {tx_hash}")


def earnings(settings: Settings, account: str) -> list[dict[str, Any]]:
    with signed_in(settings, account) as (client, _):
        return client.earnings()


def pending(settings: Settings, account: str) -> list[dict[str, Any]]:
    with signed_in(settings, account) as (client, _):
        return client.pending()
