"""Helpers of the web tests: sign a TestClient in as a browser would (the cookie)."""

from __future__ import annotations

from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient

from datafair.client import DatafairClient


def wallet_of(label: str) -> LocalAccount:
    from conftest import web_wallet

    return web_wallet(label)


def sign_in_browser(site: TestClient, label: str) -> None:
    """Sign ``site`` in as wallet ``label``: the session cookie the pages read is set."""
    token = DatafairClient("http://testserver", http=site).sign_in(wallet_of(label))
    site.cookies.clear()
    site.cookies.set("datafair_session", token)
