"""The market end to end on the embedded chain: release and register, audit, list, three buyers,
royalties claimed by contributors in proportion to their weights, downloads for licence holders
only; every bad input refused in one line with nothing stored or spent."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datafair.chain.market import MarketClient, royalty_claim
from datafair.core.errors import ChainError, InvalidInput
from datafair.services.market import (
    LicenceCache,
    ReleaseFilter,
    browse,
    buy_release,
    claim_royalties,
    issue_download,
    list_release,
    open_download,
    public_view,
    release_weights,
    royalties_of,
)
from datafair.services.release_files import AccessDenied
from datafair.services.releases import ReleaseMismatch, audit_release, release
from datafair.store.market_models import Release

SECRET = b"test download secret"
PRICE = 1_000_000
BUYERS = ["0x" + f"{n:02x}" * 20 for n in (0xB1, 0xB2, 0xB3)]


@pytest.fixture
def released(session: Session, settled: Any, clock: Any) -> Any:
    from settle_helpers import OWNER

    world = settled.world
    market = MarketClient(world.chain, world.escrow.deployment)
    info = release(
        session,
        world.blobs,
        ["0x" + settled.labelling.hex(), "0x" + settled.collection.hex()],
        market,
        sender=OWNER,
        secret=SECRET,
        title="Product reviews, labelled and collected",
        clock=clock,
    )
    return market, info


def test_release_registers_and_audits(session: Session, settled: Any, released: Any) -> None:
    from settle_helpers import OWNER

    market, info = released
    on_chain = market.release(info.token_id)
    assert on_chain.owner == market.dataset_owner(info.token_id) == info.owner
    assert on_chain.weights_root == info.weights_root
    assert on_chain.total_weight == info.total_weight
    assert on_chain.royalty_floor_bps == info.royalty_bps == 4_000
    report = audit_release(settled.world.blobs, info.manifest_cid, market)
    assert report.root == info.weights_root and report.settlement_bundles == 2
    # a tampered bundle is caught: a weight that the rule does not give
    blobs = settled.world.blobs
    manifest = json.loads(blobs.get(info.manifest_cid))
    bundle = json.loads(blobs.get(manifest["release_bundle"]))
    account = next(iter(bundle["weights"]))
    bundle["weights"][account] = str(int(bundle["weights"][account]) + 1)
    from datafair.core.canonical import canonical_json

    manifest["release_bundle"] = blobs.put(canonical_json(bundle))
    forged = blobs.put(canonical_json(manifest))
    with pytest.raises(ReleaseMismatch, match="weights do not follow the rule"):
        audit_release(blobs, forged, market)
    # releasing the same data again freezes a new version under a new token
    again = release(
        session,
        blobs,
        ["0x" + settled.labelling.hex(), "0x" + settled.collection.hex()],
        market,
        sender=OWNER,
        secret=SECRET,
    )
    assert again.version == 2 and again.token_id != info.token_id
    assert session.scalar(select(func.count(Release.id))) == 2


def test_listing_rules(session: Session, settled: Any, released: Any) -> None:
    from settle_helpers import OWNER

    market, info = released
    token = settled.world.token.address
    with pytest.raises(InvalidInput, match=r"^royalty_bps: 3000 is below the 4000 bps promised"):
        list_release(
            session,
            market,
            info.release_id,
            price=PRICE,
            token=token,
            sender=OWNER,
            royalty_bps=3_000,
        )
    with pytest.raises(InvalidInput, match=r"^price: is 0"):
        list_release(session, market, info.release_id, price=0, token=token, sender=OWNER)
    with pytest.raises(InvalidInput, match=r"^sender: .* does not own dataset"):
        list_release(session, market, info.release_id, price=PRICE, token=token, sender=BUYERS[0])
    assert not market.listing(info.token_id).listed
    assert session.get(Release, info.release_id).price is None
    listed = list_release(session, market, info.release_id, price=PRICE, token=token, sender=OWNER)
    assert listed.price == PRICE and market.listing(info.token_id).royalty_bps == 4_000
    assert [r.release_id for r in browse(session, ReleaseFilter(max_price=PRICE))] == [
        info.release_id
    ]
    assert browse(session, ReleaseFilter(max_price=PRICE - 1)) == []


def test_sales_pay_contributors_by_weight(session: Session, settled: Any, released: Any) -> None:
    from settle_helpers import OWNER, crowd_keys

    market, info = released
    world = settled.world
    list_release(
        session, market, info.release_id, price=PRICE, token=world.token.address, sender=OWNER
    )
    poor = BUYERS[0]
    world.token.mint(poor, PRICE - 1, sender=OWNER)
    with pytest.raises(InvalidInput, match=r"^balance: .* holds 999999, the price is 1000000"):
        buy_release(session, market, info.release_id, sender=poor)
    world.token.mint(poor, 1, sender=OWNER)
    with pytest.raises(InvalidInput, match=r"^allowance: .* allows the market 0"):
        buy_release(session, market, info.release_id, sender=poor, approve=False)
    assert market.licence_balance(poor) == 0
    pool = 0
    for buyer in BUYERS:
        if buyer != poor:
            world.token.mint(buyer, PRICE, sender=OWNER)
        purchase = buy_release(session, market, info.release_id, sender=buyer)
        pool += purchase.sale.royalty
        assert market.holds_licence(buyer, info.token_id)
    assert pool == 3 * (PRICE * 4_000 // 10_000)

    row = session.get(Release, info.release_id)
    weights = release_weights(session, row)
    wallets = crowd_keys(6)
    spammer = wallets[4][1]
    claimed: dict[str, int] = {}
    for account, weight in weights.items():
        amount, receipt = claim_royalties(session, market, account, sender=account)
        assert receipt is not None
        claimed[account] = amount
        assert (
            amount == weight * pool // info.total_weight
            or abs(amount - weight * pool // info.total_weight) <= 1
        )
    assert sum(claimed.values()) <= pool and pool - sum(claimed.values()) < len(weights) + 1
    assert claimed.get(spammer, 0) < min(claimed[w[1]] for w in wallets[:4])
    # nothing more to claim, and a wrong weight or proof is refused before sending
    assert claim_royalties(session, market, wallets[0][1], sender=wallets[0][1]) == (0, None)
    assert all(line.claimable == 0 for line in royalties_of(session, market, wallets[0][1]))
    tree = market.weights_tree(info.token_id, 1, weights)
    weight, good = royalty_claim(tree, info.token_id, wallets[0][1])
    with pytest.raises(InvalidInput, match=r"^proof: does not prove weight"):
        market.claim(
            info.token_id, wallets[0][1], weight + 1, list(good.proof), sender=wallets[0][1]
        )
    with pytest.raises(InvalidInput, match=r"^proof: does not prove"):
        market.claim_many(
            wallets[1][1], [dataclasses.replace(good, weight=weight)], sender=wallets[1][1]
        )


def test_downloads_only_for_licence_holders(
    session: Session, settled: Any, released: Any, clock: Any
) -> None:
    from settle_helpers import OWNER

    market, info = released
    world = settled.world
    list_release(
        session, market, info.release_id, price=PRICE, token=world.token.address, sender=OWNER
    )
    buyer, stranger = BUYERS[1], BUYERS[2]
    cache = LicenceCache(ttl=30, clock=clock)
    with pytest.raises(AccessDenied, match=r"^wallet: .* holds no licence of release"):
        issue_download(
            session, market, info.release_id, stranger, secret=SECRET, licences=cache, clock=clock
        )
    view = public_view(session, info.release_id)
    assert view["card"].startswith("---\n") and len(view["sample"]) == 5
    world.token.mint(buyer, PRICE, sender=OWNER)
    buy_release(session, market, info.release_id, sender=buyer)
    grant = issue_download(
        session, market, info.release_id, buyer, secret=SECRET, ttl=60, licences=cache, clock=clock
    )
    assert f"/{info.release_id}/download?wallet=" in grant.url
    data = open_download(
        session,
        world.blobs,
        grant.release_id,
        grant.wallet,
        grant.expires,
        grant.signature,
        secret=SECRET,
        clock=clock,
    )
    rows = json.loads(data)["rows"]
    assert len(rows) == info.items
    # the stored blob is ciphertext: its CID alone gives nothing readable
    row = session.get(Release, info.release_id)
    assert b'"rows"' not in world.blobs.get(row.encrypted_cid)
    with pytest.raises(AccessDenied, match=r"^sig: the download URL's signature does not match"):
        open_download(
            session,
            world.blobs,
            grant.release_id,
            BUYERS[2],
            grant.expires,
            grant.signature,
            secret=SECRET,
            clock=clock,
        )
    with pytest.raises(AccessDenied, match=r"^sig:"):
        open_download(
            session,
            world.blobs,
            grant.release_id,
            grant.wallet,
            grant.expires,
            grant.signature,
            secret=b"another node",
            clock=clock,
        )
    with pytest.raises(AccessDenied, match=r"^sig:"):  # not hex, not even ASCII
        open_download(
            session,
            world.blobs,
            grant.release_id,
            "\x92",
            grant.expires,
            "\x96\x8f\x04q\xf3",
            secret=SECRET,
            clock=clock,
        )
    clock.advance(61)
    with pytest.raises(AccessDenied, match=r"^expires: the download URL has expired"):
        open_download(
            session,
            world.blobs,
            grant.release_id,
            grant.wallet,
            grant.expires,
            grant.signature,
            secret=SECRET,
            clock=clock,
        )
    # the licence check is cached for its TTL, then asked again
    lookups = cache.lookups
    issue_download(
        session, market, info.release_id, buyer, secret=SECRET, licences=cache, clock=clock
    )
    assert cache.lookups == lookups + 1  # the earlier answer expired with the clock
    issue_download(
        session, market, info.release_id, buyer, secret=SECRET, licences=cache, clock=clock
    )
    assert cache.lookups == lookups + 1


def test_chain_errors_are_one_line(session: Session, released: Any) -> None:
    market, info = released
    with pytest.raises((InvalidInput, ChainError)) as raised:
        buy_release(session, market, info.release_id, sender=BUYERS[0])
    assert "\n" not in str(raised.value) and "not listed" in str(raised.value)
