"""The market pages in a real Chromium, over a home where the demo released, listed and sold a
dataset: a buyer with the dev wallet browses, filters and searches, opens the release, buys a
licence from the wallet (a signed EIP-2612 permit, then one buy_with_permit), sees it under My
licences and downloads the data; a contributor whose work built the data claims the royalty
that sale paid. Every market page passes axe-core with no serious or critical violation and
fits a 390 px wide phone.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from web_helpers import OPERATOR, mint_dev_tokens
from web_live import CHROMIUM, Person, serious_violations, serving, shoot, widths

from datafair.settings import Settings

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]
SEED = 4
# the dev wallet's key, put in the browser's storage as the page's "Use a dev wallet" keeps it
DEV_KEY = "0x" + "5d" * 32


def _contributor_with_weight(settings: Settings) -> str:
    """The private key of a demo contributor who holds royalty weight in the release."""
    from sqlalchemy import select

    from datafair.services.demo import DEMO_MIX, SENTIMENTS
    from datafair.sim import make_population
    from datafair.store.db import Database
    from datafair.store.market_models import ReleaseWeight

    database = Database.from_url(settings.resolved_database_url)
    with database.session() as session:
        holders = {a.lower() for a in session.scalars(select(ReleaseWeight.account))}
    database.dispose()
    population = make_population(len(SENTIMENTS), DEMO_MIX, seed=SEED)
    for contributor in population.contributors:
        if contributor.address.lower() in holders:
            return "0x" + contributor.private_key.hex()
    raise AssertionError("no demo contributor holds royalty weight")


@pytest.fixture(scope="module")
def sold(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The demo's home (20 items, released, listed at 1 DDEV, three licences sold, royalties
    claimed), DevTokens for the dev wallet, served by ``datafair serve``."""
    from eth_account import Account

    from datafair.services.demo import run_demo

    if not CHROMIUM.exists():
        pytest.fail("Chromium is needed: apt-get install -y chromium (make test does)")
    root = tmp_path_factory.mktemp("market-browser")
    settings = Settings(home=root / "home", operators=OPERATOR.address, cache=root / "cache")
    run_demo(settings, seed=SEED, n_items=20)
    buyer = Account.from_key(DEV_KEY).address
    mint_dev_tokens(settings, buyer, 5 * 10**18)
    contributor = _contributor_with_weight(settings)
    env = {"DATAFAIR_OPERATORS": OPERATOR.address, "DATAFAIR_CACHE": str(root / "cache")}
    with serving(settings.home, env) as url:
        yield {"url": url, "buyer": buyer, "contributor": contributor}


def _dev_wallet_buyer(browser: Any, url: str, width: int = 1280) -> Person:
    """A browser with no injected wallet whose dev wallet key is ``DEV_KEY``, signed in."""
    person = Person(browser, url, "buyer", width=width, injected=False)
    person.context.add_init_script(
        f"localStorage.setItem('datafair.devWallet.v1', {json.dumps(DEV_KEY)});"
    )
    page = person.open("/")
    page.click("[data-action=dev-wallet]")
    page.wait_for_selector(".wallet .address")
    return person


def _search(page: Any, **fields: str) -> str:
    page.click("text=Clear")
    page.wait_for_selector("#result-count")
    for name, value in fields.items():
        if name in ("modality", "task_type", "license", "language"):
            page.select_option(f"#{name}", value)
        else:
            page.fill(f"#{name}", value)
    with page.expect_response(lambda r: "/market?" in r.url):
        page.click("form.market-filters button[type=submit]")
    page.wait_for_timeout(200)
    return str(page.inner_text("#results"))


def test_buy_download_and_claim_in_the_browser(browser: Any, sold: dict[str, Any]) -> None:
    buyer = _dev_wallet_buyer(browser, sold["url"])
    assert buyer.page.inner_text(".wallet .address").startswith(sold["buyer"][:6])
    page = buyer.open("/market")
    assert "1 of 1 release" in page.inner_text("#results")
    shoot(page, "market-browse")
    assert "Product reviews" in _search(page, q="sentiment")
    assert "No release matches" in _search(page, q="spreadsheets")
    assert "Product reviews" in _search(page, license="CC0-1.0", language="en")
    assert "No release matches" in _search(page, min_items="1000000")
    assert "No release matches" in _search(page, max_price=str(10**18 - 1))
    refused = _search(page, min_agreement="2")
    assert "min_agreement: 2.0 is not a fraction" in refused
    assert page.is_visible("[data-error-for=min_agreement]")

    _search(page, q="sentiment")
    page.click("#results a[href^='/market/']")
    page.wait_for_selector("pre.card")
    card = page.inner_text("pre.card")
    assert card.startswith("---\nlicense:") or card.startswith("---\npretty_name:")
    facts = page.inner_text("dl.facts")
    assert "CC0-1.0" in facts and "commercial use: yes" in facts
    page.wait_for_function("!document.getElementById('gas').textContent.includes('asking')")
    assert "permit: a signature, no gas" in page.inner_text("#gas")
    shoot(page, "market-release")
    page.click("#buy")
    page.wait_for_function("document.getElementById('status').textContent.startsWith('Bought')")
    states = page.eval_on_selector_all(
        "#transactions li", "items => items.map(i => i.dataset.state)"
    )
    assert states == ["confirmed"]  # one transaction: buy_with_permit after a signed permit
    assert page.inner_text("#transactions li").startswith("buy_with_permit(")
    page = buyer.open("/market/licences")
    link = page.get_attribute("a.download", "href")
    assert link and "sig=" in link and "expires=" in link
    shoot(page, "market-licences")
    data = page.evaluate("href => fetch(href).then(r => r.json())", link)
    assert data["format"] == "datafair-release-data/1" and len(data["rows"]) > 0
    tampered = page.evaluate(
        "href => fetch(href.replace('sig=', 'sig=0').slice(0, href.length)).then(r => r.status)",
        link,
    )
    assert tampered == 403
    buyer.close()

    contributor = Person(browser, sold["url"], "contributor", key=sold["contributor"])
    contributor.sign_in()
    page = contributor.open("/market/royalties")
    claim = page.locator("#claim-royalties")
    assert claim.is_enabled()  # the buyer's sale paid this contributor's royalty pool
    shoot(page, "market-royalties")
    claim.click()
    page.wait_for_function("document.getElementById('status').textContent.startsWith('Claimed')")
    page = contributor.open("/market/royalties")
    assert page.locator("#claim-royalties").is_disabled()
    assert set(
        page.eval_on_selector_all(".royalties .claimable", "c => c.map(x => x.textContent)")
    ) == {"0"}
    contributor.close()


def test_market_pages_pass_axe_and_fit_a_phone(browser: Any, sold: dict[str, Any]) -> None:
    buyer = _dev_wallet_buyer(browser, sold["url"])
    paths = ["/market", "/market?q=sentiment", "/market/1", "/market/licences", "/market/royalties"]
    for path in paths:
        page = buyer.open(path)
        page.wait_for_load_state("networkidle")
        serious = serious_violations(page)
        assert not serious, (path, serious)
    buyer.close()
    phone = _dev_wallet_buyer(browser, sold["url"], width=390)
    too_wide = {path: width for path, width in widths(phone, paths).items() if width > 390}
    assert not too_wide, too_wide
    shoot(phone.page, "phone-market-release")
    phone.close()
