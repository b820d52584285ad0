"""Helpers of the web tests: deterministic wallets, a deployed home, and signing a TestClient in
as a browser would (the session cookie)."""

from __future__ import annotations

from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient

from datafair.client import DatafairClient
from datafair.core.canonical import keccak256
from datafair.settings import Settings


def web_wallet(label: str) -> LocalAccount:
    """A deterministic test wallet."""
    return Account.from_key(keccak256(f"web test wallet {label}".encode()))


OPERATOR = web_wallet("operator")


def wallet_of(label: str) -> LocalAccount:
    return web_wallet(label)


def deploy_home(settings: Settings, cache: Path) -> None:
    """Deploy datafair's contracts on the home's embedded chain, owned by ``OPERATOR``."""
    from datafair.chain import open_chain
    from datafair.chain.deploy import deploy_all, deployment_path, save_deployment

    chain = open_chain(settings)
    try:
        deployment = deploy_all(chain, OPERATOR.address, cache_dir=cache)
        save_deployment(deployment, deployment_path(settings.chain_dir, chain))
    finally:
        chain.close()


def sign_in_browser(site: TestClient, label: str) -> None:
    """Sign ``site`` in as wallet ``label``: the session cookie the pages read is set."""
    token = DatafairClient("http://testserver", http=site).sign_in(wallet_of(label))
    site.cookies.clear()
    site.cookies.set("datafair_session", token)


def mint_dev_tokens(settings: Settings, to: str, amount: int) -> None:
    """Mint ``amount`` base units of the home's DevToken to ``to`` (its deployer mints)."""
    from datafair.chain import open_chain
    from datafair.chain.deploy import contract, load_deployment
    from datafair.chain.tokens import TokenClient

    chain = open_chain(settings)
    try:
        deployment = load_deployment(settings.chain_dir, chain)
        token = TokenClient(chain, contract(chain, deployment, "DevToken", settings.cache_dir))
        token.mint(to, amount, sender=deployment.owner)
    finally:
        chain.close()
