"""DatasetMarket: listings, sales and their split, licences, royalties; every revert path; gas."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from eth_account import Account

from datafair.chain.base import Contract, address_of
from datafair.chain.embedded import EmbeddedChain
from datafair.chain.market import ACC_SCALE, RoyaltyClaim, royalty_claim, royalty_tree
from datafair.contracts import compile_file, load_contract
from datafair.core.errors import ChainError

from ._market import (
    BUYERS,
    PRICE,
    SELLER,
    TERMS,
    MarketWorld,
    contributors,
    key_of,
    make_market_world,
)
from ._world import FEES, HERE, OTHER, OWNER, REQUESTER, UNIT, addr

ZERO = "0x" + "00" * 20
_BASE: MarketWorld | None = None


@pytest.fixture
def m() -> Iterator[MarketWorld]:
    """One deployment per module, rewound after every test."""
    global _BASE
    if _BASE is None:
        _BASE = make_market_world()
    start = _BASE.chain.snapshot()
    yield _BASE
    _BASE.chain.revert(start)


def reverts(reason: str) -> pytest.RaisesContext[ChainError]:
    """Expect a ChainError whose one-line message ends with the contract's reason."""
    return pytest.raises(ChainError, match=rf"reverted: {reason}$")


def raw_list(
    m: MarketWorld,
    dataset_id: int,
    *,
    token: str | None = None,
    price: int = PRICE,
    royalty: int = 3000,
    terms: str = TERMS,
    transferable: bool = True,
    zero_ok: bool = False,
    sender: str = SELLER,
) -> None:
    m.chain.transact(
        m.market.contract,
        "list",
        dataset_id,
        token or m.token.address,
        price,
        royalty,
        terms,
        transferable,
        zero_ok,
        sender=sender,
    )


def raw_buy(m: MarketWorld, dataset_id: int, buyer: str, max_price: int = PRICE) -> int:
    """Approve ``max_price`` of the listing's token, then buy one licence."""
    token = m.market.token(m.market.listing(dataset_id).token)
    token.approve(m.market.address, max_price, sender=buyer)
    receipt = m.chain.transact(m.market.contract, "buy", dataset_id, max_price, sender=buyer)
    (event,) = m.market.contract.decode_logs(receipt.logs, "LicenceSold")
    return int(event.args["licence_id"])


# --------------------------------------------------------------------------- constructor, fees


def test_constructor_and_the_shared_fee_cap(m: MarketWorld) -> None:
    market = m.market
    assert market.max_fee_bps() == 500 == m.world.escrow.max_fee_bps()
    assert market.fee_bps() == 250
    assert market.fee_recipient().lower() == FEES.lower()
    assert m.chain.call(market.contract, "owner").lower() == OWNER.lower()
    assert m.chain.call(market.contract, "registry") == m.market.registry.address
    assert m.chain.call(market.contract, "ACC_SCALE") == ACC_SCALE


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        ([addr(0), 100, FEES], "DatasetMarket: zero registry"),
        ([addr(1), 501, FEES], "DatasetMarket: fee above cap"),
        ([addr(1), 100, addr(0)], "DatasetMarket: zero fee recipient"),
    ],
)
def test_constructor_rejects(args: list[object], reason: str) -> None:
    with reverts(reason):
        EmbeddedChain(None).deploy(load_contract("DatasetMarket"), args, OWNER)


def test_owner_sets_fee_rate_up_to_the_cap_and_recipient(m: MarketWorld) -> None:
    m.market.set_fee_bps(500, sender=OWNER)
    assert m.market.fee_bps() == 500
    with reverts("DatasetMarket: fee above cap"):
        m.chain.transact(m.market.contract, "set_fee_bps", 501, sender=OWNER)
    with reverts("DatasetMarket: caller is not the owner"):
        m.market.set_fee_bps(100, sender=OTHER)
    m.market.set_fee_recipient(OTHER, sender=OWNER)
    assert m.market.fee_recipient().lower() == OTHER.lower()
    with reverts("DatasetMarket: zero fee recipient"):
        m.market.set_fee_recipient(addr(0), sender=OWNER)
    with reverts("DatasetMarket: caller is not the owner"):
        m.market.set_fee_recipient(OTHER, sender=OTHER)
    events = m.market.events("FeeRateChanged")
    assert events[-1].args == {"old_bps": 250, "new_bps": 500}


def test_fees_accrue_and_are_withdrawn(m: MarketWorld) -> None:
    release = m.listed(contributors(3))
    raw_buy(m, release.dataset_id, BUYERS[0])
    raw_buy(m, release.dataset_id, BUYERS[1])
    fee = PRICE * 250 // 10_000
    assert m.market.fees_owed(m.token.address) == 2 * fee
    before = m.token.balance_of(FEES)
    m.market.withdraw_fees(m.token.address, sender=OTHER)
    assert m.token.balance_of(FEES) - before == 2 * fee
    assert m.market.fees_owed(m.token.address) == 0
    with reverts("DatasetMarket: no fees"):
        m.market.withdraw_fees(m.token.address, sender=OTHER)
    (event,) = m.market.events("FeesWithdrawn")
    assert event.args["amount"] == 2 * fee


# --------------------------------------------------------------------------- listing


def test_list_records_the_listing_and_adopts_the_weights(m: MarketWorld) -> None:
    release = m.release(contributors(3))
    assert m.market.listing(release.dataset_id).token == ZERO
    raw_list(m, release.dataset_id, royalty=3500, transferable=False)
    listing = m.market.listing(release.dataset_id)
    assert (listing.token, listing.price, listing.royalty_bps) == (m.token.address, PRICE, 3500)
    assert listing.terms_cid == TERMS and listing.listed and not listing.transferable
    assert not listing.zero_price_ok
    state = m.market.royalty_state(release.dataset_id)
    assert release.tree is not None
    assert state.weights_root == release.tree.root
    assert state.total_weight == sum(contributors(3).values()) and state.version == 1
    assert (state.acc, state.carry, state.held, state.outstanding) == (0, 0, 0, 0)
    (event,) = m.market.events("Listed", dataset_id=release.dataset_id)
    assert event.args["seller"] == address_of(SELLER) and event.args["terms_cid"] == TERMS
    (adopted,) = m.market.events("WeightsAdopted", dataset_id=release.dataset_id)
    assert adopted.args["released"] == 0
    # the owner changes the listing: same token, new price and terms
    raw_list(m, release.dataset_id, price=5 * UNIT, terms=TERMS + "2")
    assert m.market.listing(release.dataset_id).price == 5 * UNIT
    assert len(m.market.events("WeightsAdopted", dataset_id=release.dataset_id)) == 1


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"sender": OTHER}, "DatasetMarket: caller is not the dataset owner"),
        ({"token": addr(0)}, "DatasetMarket: zero token"),
        ({"price": 2**96}, "DatasetMarket: price too large"),
        ({"price": 0}, "DatasetMarket: zero price not allowed"),
        ({"terms": ""}, "DatasetMarket: empty licence terms"),
        ({"royalty": 9_501}, "DatasetMarket: royalty above 95%"),
        ({"royalty": 2_999}, "DatasetMarket: royalty below the promised floor"),
    ],
)
def test_list_rejects(m: MarketWorld, change: dict[str, object], reason: str) -> None:
    release = m.release(contributors(2))
    with reverts(reason):
        raw_list(m, release.dataset_id, **change)  # type: ignore[arg-type]
    assert m.market.listing(release.dataset_id).token == ZERO


def test_list_of_an_unknown_dataset_reverts(m: MarketWorld) -> None:
    with pytest.raises(ChainError, match="erc721: invalid token ID"):
        raw_list(m, 42)


def test_the_royalty_token_is_fixed_by_the_first_listing(m: MarketWorld) -> None:
    release = m.listed(contributors(2))
    other = m.world.mock_token(0)
    with reverts("DatasetMarket: token differs from the release's royalty token"):
        raw_list(m, release.dataset_id, token=other.address)


def test_a_new_owner_lists_and_is_paid(m: MarketWorld) -> None:
    release = m.listed(contributors(2))
    registry = m.market.registry
    m.chain.transact(registry, "transferFrom", SELLER, OTHER, release.dataset_id, sender=SELLER)
    with reverts("DatasetMarket: caller is not the dataset owner"):
        raw_list(m, release.dataset_id)
    before = m.token.balance_of(OTHER)
    raw_buy(m, release.dataset_id, BUYERS[0])
    fee, pool = PRICE * 250 // 10_000, PRICE * 3000 // 10_000
    assert m.token.balance_of(OTHER) - before == PRICE - fee - pool
    raw_list(m, release.dataset_id, price=UNIT, sender=OTHER)


def test_delist_stops_sales_only(m: MarketWorld) -> None:
    release = m.listed(contributors(2))
    raw_buy(m, release.dataset_id, BUYERS[0])
    with reverts("DatasetMarket: caller is not the dataset owner"):
        m.market.delist(release.dataset_id, sender=OTHER)
    m.market.delist(release.dataset_id, sender=SELLER)
    assert not m.market.listing(release.dataset_id).listed
    with reverts("DatasetMarket: not listed"):
        m.market.delist(release.dataset_id, sender=SELLER)
    with reverts("DatasetMarket: not listed"):
        raw_buy(m, release.dataset_id, BUYERS[1])
    assert m.market.licence(1).holder == BUYERS[0]
    raw_list(m, release.dataset_id)
    raw_buy(m, release.dataset_id, BUYERS[1])


# --------------------------------------------------------------------------- buying


def test_buy_splits_the_price_and_mints_a_licence(m: MarketWorld) -> None:
    release = m.listed(contributors(3))
    buyer, dataset_id = BUYERS[0], release.dataset_id
    m.token.approve(m.market.address, PRICE, sender=buyer)
    seller_before = m.token.balance_of(SELLER)
    buyer_before = m.token.balance_of(buyer)
    licence_id = raw_buy(m, dataset_id, buyer)
    fee, pool = PRICE * 250 // 10_000, PRICE * 3000 // 10_000
    assert buyer_before - m.token.balance_of(buyer) == PRICE
    assert m.token.balance_of(SELLER) - seller_before == PRICE - fee - pool
    assert m.token.balance_of(m.market.address) == fee + pool
    assert m.market.fees_owed(m.token.address) == fee
    state = m.market.royalty_state(dataset_id)
    total = sum(contributors(3).values())
    assert state.outstanding == pool
    assert state.acc == pool * ACC_SCALE // total and state.carry == pool * ACC_SCALE % total
    licence = m.market.licence(licence_id)
    assert (licence.holder, licence.dataset_id, licence.transferable) == (buyer, dataset_id, True)
    assert m.market.licence_balance(buyer) == 1
    assert m.chain.call(m.market.contract, "ownerOf", licence_id) == buyer
    assert m.chain.call(m.market.contract, "licence_count") == licence_id == 1
    (sale,) = m.market.sales(dataset_id)
    assert (sale.buyer, sale.seller, sale.price, sale.fee, sale.royalty) == (
        buyer,
        address_of(SELLER),
        PRICE,
        fee,
        pool,
    )
    assert sale.acc == state.acc and sale.to_seller == PRICE - fee - pool
    (mint,) = m.market.events("Transfer", token_id=licence_id)
    assert mint.args["sender"] == ZERO and mint.args["receiver"] == buyer


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        ("unlisted", "DatasetMarket: not listed"),
        ("max_price", "DatasetMarket: price above max_price"),
        ("no_allowance", "erc20: insufficient allowance"),
        ("poor", "erc20: transfer amount exceeds balance"),
    ],
)
def test_buy_rejects(m: MarketWorld, setup: str, reason: str) -> None:
    release = m.release(contributors(2)) if setup == "unlisted" else m.listed(contributors(2))
    buyer = OTHER if setup == "poor" else BUYERS[0]
    if setup != "no_allowance":
        m.token.approve(m.market.address, PRICE, sender=buyer)
    limit = PRICE - 1 if setup == "max_price" else PRICE
    with reverts(reason):
        m.chain.transact(m.market.contract, "buy", release.dataset_id, limit, sender=buyer)
    assert m.market.licence_balance(buyer) == 0
    assert m.token.balance_of(m.market.address) == 0


def test_free_listing_mints_without_payment(m: MarketWorld) -> None:
    release = m.listed(contributors(2), price=0)
    assert m.market.listing(release.dataset_id).zero_price_ok
    licence_id = raw_buy(m, release.dataset_id, OTHER, max_price=0)
    assert m.market.licence(licence_id).holder.lower() == OTHER.lower()
    assert m.market.royalty_state(release.dataset_id).outstanding == 0


def test_a_seller_taking_every_share_receives_nothing_and_the_sale_works(m: MarketWorld) -> None:
    release = m.listed(contributors(2), royalty_bps=9_500)
    m.market.set_fee_bps(500, sender=OWNER)
    before = m.token.balance_of(SELLER)
    m.token.approve(m.market.address, PRICE, sender=BUYERS[0])
    raw_buy(m, release.dataset_id, BUYERS[0])
    assert m.token.balance_of(SELLER) == before
    assert m.market.royalty_state(release.dataset_id).outstanding == PRICE * 9_500 // 10_000


def test_fee_on_transfer_token_is_refused(m: MarketWorld) -> None:
    lossy = m.world.mock_token(1)
    release = m.listed(contributors(2), token=lossy)
    lossy.approve(m.market.address, PRICE, sender=REQUESTER)
    with reverts("DatasetMarket: token delivered less than sent"):
        m.chain.transact(m.market.contract, "buy", release.dataset_id, PRICE, sender=REQUESTER)


def test_buy_with_permit_is_one_transaction(m: MarketWorld) -> None:
    release = m.listed(contributors(2))
    signer = key_of(BUYERS[2])
    assert m.token.allowance(signer.address, m.market.address) == 0
    purchase = m.market.buy_with_permit(release.dataset_id, signer)
    assert m.market.licence(purchase.licence_id).holder == signer.address
    assert m.token.allowance(signer.address, m.market.address) == 0


def test_a_used_permit_falls_back_on_the_allowance(m: MarketWorld) -> None:
    release = m.listed(contributors(2))
    signer = key_of(BUYERS[3])
    deadline = m.chain.timestamp() + 3600
    v, r, s = m.market.permit_signature(signer, m.token.address, PRICE, deadline)
    # someone copies the permit and submits it first: the allowance is there all the same
    m.chain.transact(
        m.token.contract,
        "permit",
        signer.address,
        m.market.address,
        PRICE,
        deadline,
        v,
        r,
        s,
        sender=OTHER,
    )
    args = (release.dataset_id, PRICE, deadline, v, r, s)
    m.chain.transact(m.market.contract, "buy_with_permit", *args, sender=signer.address)
    assert m.market.licence_balance(signer.address) == 1
    # a second use of the same permit finds no allowance left
    with reverts("erc20: insufficient allowance"):
        m.chain.transact(m.market.contract, "buy_with_permit", *args, sender=signer.address)


def test_buy_with_a_bad_permit_and_no_allowance_reverts(m: MarketWorld) -> None:
    release = m.listed(contributors(2))
    stranger = Account.create()
    v, r, s = m.market.permit_signature(stranger, m.token.address, PRICE, 4_000_000_000)
    with reverts("erc20: insufficient allowance"):
        m.chain.transact(
            m.market.contract,
            "buy_with_permit",
            release.dataset_id,
            PRICE,
            4_000_000_000,
            v,
            r,
            s,
            sender=BUYERS[0],
        )
    with reverts("DatasetMarket: not listed"):
        m.chain.transact(
            m.market.contract, "buy_with_permit", 77, PRICE, 1, v, r, s, sender=BUYERS[0]
        )


def test_token_without_permit_uses_the_approval(m: MarketWorld) -> None:
    plain = m.world.mock_token(0)
    release = m.listed(contributors(2), token=plain)
    plain.approve(m.market.address, PRICE, sender=REQUESTER)
    m.chain.transact(
        m.market.contract,
        "buy_with_permit",
        release.dataset_id,
        PRICE,
        1,
        27,
        b"\1" * 32,
        b"\2" * 32,
        sender=REQUESTER,
    )
    assert m.market.licence_balance(REQUESTER) == 1


def test_a_reentering_token_gains_nothing(m: MarketWorld) -> None:
    hostile = m.world.mock_token(3)
    release = m.listed(contributors(2), token=hostile)
    hostile.approve(m.market.address, 10 * PRICE, sender=REQUESTER)
    buy = m.market.contract.function("buy")
    from datafair.chain.abi import encode_call

    data = encode_call(buy, [release.dataset_id, PRICE])
    m.chain.transact(hostile.contract, "set_hook", m.market.address, data, sender=OWNER)
    raw_buy(m, release.dataset_id, REQUESTER)
    assert m.chain.call(hostile.contract, "hook_calls") >= 1
    assert m.chain.call(hostile.contract, "hook_successes") == 0
    assert m.market.licence_balance(REQUESTER) == 1


# --------------------------------------------------------------------------- royalties


def test_claims_pay_each_weight_its_share_since_its_last_claim(m: MarketWorld) -> None:
    weights = contributors(3)
    release = m.listed(weights)
    assert release.tree is not None
    dataset_id, total = release.dataset_id, sum(weights.values())
    for buyer in BUYERS[:2]:
        m.token.approve(m.market.address, PRICE, sender=buyer)
        raw_buy(m, dataset_id, buyer)
    acc = m.market.royalty_state(dataset_id).acc
    account = addr(0x5002)
    weight, claim = royalty_claim(release.tree, dataset_id, account)
    assert weight == weights[account]
    owed = weight * acc // ACC_SCALE
    assert m.market.claimable(dataset_id, account, weight) == owed
    m.market.claim(dataset_id, account, weight, claim.proof, sender=OTHER)
    assert m.token.balance_of(account) == owed
    assert m.market.paid(dataset_id, account) == owed
    assert m.market.claimable(dataset_id, account, weight) == 0
    (event,) = m.market.events("RoyaltyClaimed", dataset_id=dataset_id, account=account)
    assert event.args["amount"] == owed and event.args["paid_total"] == owed
    with reverts("DatasetMarket: nothing to claim"):
        m.chain.transact(
            m.market.contract,
            "claim",
            dataset_id,
            account,
            weight,
            release.tree.root,
            list(claim.proof),
            sender=OTHER,
        )
    m.token.approve(m.market.address, PRICE, sender=BUYERS[2])
    raw_buy(m, dataset_id, BUYERS[2])
    acc = m.market.royalty_state(dataset_id).acc
    m.market.claim(dataset_id, account, weight, claim.proof, sender=account)
    assert m.token.balance_of(account) == weight * acc // ACC_SCALE
    # three sales' pools, minus what is still claimable, is what was paid: to the base unit
    pool = 3 * (PRICE * 3000 // 10_000)
    assert acc * total + m.market.royalty_state(dataset_id).carry == pool * ACC_SCALE


def _claim_args(m: MarketWorld, release_tree: object, dataset_id: int, account: str) -> list:
    weight, claim = royalty_claim(release_tree, dataset_id, account)  # type: ignore[arg-type]
    return [dataset_id, account, weight, claim.expected_root, list(claim.proof)]


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        ("weight", "DatasetMarket: invalid proof"),
        ("account", "DatasetMarket: invalid proof"),
        ("proof", "DatasetMarket: invalid proof"),
        ("root", "DatasetMarket: weights root differs from the expected root"),
        ("dataset", "DatasetMarket: no weights committed"),
    ],
)
def test_claim_rejects(m: MarketWorld, tamper: str, reason: str) -> None:
    release = m.listed(contributors(4))
    m.token.approve(m.market.address, PRICE, sender=BUYERS[0])
    raw_buy(m, release.dataset_id, BUYERS[0])
    args = _claim_args(m, release.tree, release.dataset_id, addr(0x5001))
    if tamper == "weight":
        args[2] += 1
    elif tamper == "account":
        args[1] = addr(0x5002)
    elif tamper == "proof":
        args[4] = args[4][:-1]
    elif tamper == "root":
        args[3] = b"\x07" * 32
    else:
        args[0] = 99
    with reverts(reason):
        m.chain.transact(m.market.contract, "claim", *args, sender=OTHER)
    assert m.token.balance_of(addr(0x5001)) == 0


def test_a_proof_is_bound_to_its_dataset_and_market(m: MarketWorld) -> None:
    weights = contributors(2)
    first = m.listed(weights, label="one")
    second = m.listed(weights, label="two")
    for release in (first, second):
        m.token.approve(m.market.address, PRICE, sender=BUYERS[0])
        raw_buy(m, release.dataset_id, BUYERS[0])
    assert first.tree is not None and second.tree is not None
    assert first.tree.root != second.tree.root
    args = _claim_args(m, first.tree, first.dataset_id, addr(0x5000))
    args[0] = second.dataset_id
    args[3] = second.tree.root
    with reverts("DatasetMarket: invalid proof"):
        m.chain.transact(m.market.contract, "claim", *args, sender=OTHER)
    # the same weights built for another chain id or market do not prove either
    foreign = royalty_tree(1, m.market.address, first.dataset_id, 1, weights)
    assert foreign.root != first.tree.root
    elsewhere = royalty_tree(m.chain.chain_id, addr(0xBEEF), first.dataset_id, 1, weights)
    assert elsewhere.root != first.tree.root


def test_a_root_promising_more_than_the_pool_cannot_take_other_releases_money(
    m: MarketWorld,
) -> None:
    honest = m.listed(contributors(2), label="honest")
    # a release whose leaves add up to far more than its declared total
    inflated = {addr(0x6000): 10**18, addr(0x6001): 10**18}
    tree = m.market.weights_tree(m.market.next_dataset_id(), 1, inflated)
    dataset_id = m.market.next_dataset_id()
    m.chain.transact(
        m.market.registry,
        "register",
        dataset_id,
        "bafkreiinflated",
        1,
        tree.root,
        10**18,
        0,
        [],
        sender=SELLER,
    )
    raw_list(m, dataset_id, royalty=5000)
    for release_id in (honest.dataset_id, dataset_id):
        m.token.approve(m.market.address, PRICE, sender=BUYERS[0])
        raw_buy(m, release_id, BUYERS[0])
    args = _claim_args(m, tree, dataset_id, addr(0x6000))
    m.chain.transact(m.market.contract, "claim", *args, sender=OTHER)
    args = _claim_args(m, tree, dataset_id, addr(0x6001))
    with reverts("DatasetMarket: claim exceeds royalty balance"):
        m.chain.transact(m.market.contract, "claim", *args, sender=OTHER)
    assert m.market.royalty_state(honest.dataset_id).outstanding == PRICE * 3000 // 10_000


def test_claim_many_pays_across_releases_and_tokens(m: MarketWorld) -> None:
    weights = contributors(3)
    other_token = m.world.mock_token(0)
    m.chain.transact(other_token.contract, "mint", BUYERS[0], 10**30, sender=OWNER)
    releases = [
        m.listed(weights, label="a"),
        m.listed(weights, label="b"),
        m.listed(weights, label="c", token=other_token),
    ]
    for release, token in zip(releases, [m.token, m.token, other_token], strict=True):
        token.approve(m.market.address, PRICE, sender=BUYERS[0])
        raw_buy(m, release.dataset_id, BUYERS[0])
    account = addr(0x5001)
    claims = [royalty_claim(r.tree, r.dataset_id, account)[1] for r in releases]  # type: ignore[arg-type]
    owed = [m.market.claimable(c.dataset_id, account, c.weight) for c in claims]
    receipt = m.market.claim_many(account, claims, sender=OTHER)
    assert m.token.balance_of(account) == owed[0] + owed[1]
    assert other_token.balance_of(account) == owed[2]
    assert len(m.market.contract.decode_logs(receipt.logs, "RoyaltyClaimed")) == 3
    encoded = [(c.dataset_id, c.weight, c.expected_root, list(c.proof)) for c in claims]
    with reverts("DatasetMarket: nothing to claim"):
        m.chain.transact(m.market.contract, "claim_many", account, encoded, sender=OTHER)
    with reverts("DatasetMarket: no claims"):
        m.chain.transact(m.market.contract, "claim_many", account, [], sender=OTHER)
    bad = [(claims[0].dataset_id, claims[0].weight + 1, claims[0].expected_root, [])]
    with reverts("DatasetMarket: invalid proof"):
        m.chain.transact(m.market.contract, "claim_many", account, bad, sender=OTHER)


def test_claim_many_skips_releases_with_nothing_owed(m: MarketWorld) -> None:
    weights = contributors(2)
    sold, unsold = m.listed(weights, label="sold"), m.listed(weights, label="unsold")
    m.token.approve(m.market.address, PRICE, sender=BUYERS[0])
    raw_buy(m, sold.dataset_id, BUYERS[0])
    account = addr(0x5000)
    claims = [royalty_claim(r.tree, r.dataset_id, account)[1] for r in (unsold, sold)]  # type: ignore[arg-type]
    m.market.claim_many(account, claims, sender=OTHER)
    assert m.token.balance_of(account) == m.market.paid(sold.dataset_id, account) > 0


def test_royalties_without_weights_are_held_then_released(m: MarketWorld) -> None:
    release = m.release(None, label="later")
    dataset_id = release.dataset_id
    with reverts("DatasetMarket: never listed"):
        m.market.sync_weights(dataset_id, sender=OTHER)
    raw_list(m, dataset_id)
    for buyer in BUYERS[:2]:
        m.token.approve(m.market.address, PRICE, sender=buyer)
        raw_buy(m, dataset_id, buyer)
    pool = PRICE * 3000 // 10_000
    state = m.market.royalty_state(dataset_id)
    assert (state.held, state.acc, state.outstanding, state.weights_root) == (2 * pool, 0, 0, None)
    with reverts("DatasetMarket: no weights committed"):
        m.market.sync_weights(dataset_id, sender=OTHER)
    weights = {addr(0x7000): 3, addr(0x7001): 7}
    tree = m.market.commit_weights(dataset_id, weights, sender=SELLER)  # also syncs
    state = m.market.royalty_state(dataset_id)
    assert state.held == 0 and state.outstanding == 2 * pool
    assert state.acc == 2 * pool * ACC_SCALE // 10 and state.weights_root == tree.root
    (event,) = m.market.events("WeightsAdopted", dataset_id=dataset_id)
    assert event.args["released"] == 2 * pool
    with reverts("DatasetMarket: weights already adopted"):
        m.market.sync_weights(dataset_id, sender=OTHER)
    for account, weight in weights.items():
        _, claim = royalty_claim(tree, dataset_id, account)
        m.market.claim(dataset_id, account, weight, claim.proof, sender=OTHER)
        assert m.token.balance_of(account) == 2 * pool * weight // 10


# --------------------------------------------------------------------------- licence ERC-721


def test_licence_metadata_and_interfaces(m: MarketWorld) -> None:
    release = m.listed(contributors(2))
    m.token.approve(m.market.address, PRICE, sender=BUYERS[0])
    licence_id = raw_buy(m, release.dataset_id, BUYERS[0])
    market = m.market.contract
    assert m.chain.call(market, "name") == "datafair licences"
    assert m.chain.call(market, "symbol") == "DFLIC"
    assert m.chain.call(market, "tokenURI", licence_id) == "ipfs://" + TERMS
    for interface in ("01ffc9a7", "80ac58cd", "5b5e139f"):
        assert m.chain.call(market, "supportsInterface", bytes.fromhex(interface))
    assert not m.chain.call(market, "supportsInterface", bytes.fromhex("780e9d63"))
    for view in ("ownerOf", "getApproved", "tokenURI"):
        with pytest.raises(ChainError, match="DatasetMarket: unknown licence"):
            m.chain.call(market, view, 999)
    with pytest.raises(ChainError, match="DatasetMarket: zero address"):
        m.chain.call(market, "balanceOf", addr(0))
    assert not m.market.licence(999).exists


def test_transferable_licences_move_with_approvals(m: MarketWorld) -> None:
    release = m.listed(contributors(2))
    m.token.approve(m.market.address, 2 * PRICE, sender=BUYERS[0])
    first, second = (raw_buy(m, release.dataset_id, BUYERS[0]) for _ in range(2))
    market, holder = m.market.contract, BUYERS[0]
    with reverts("DatasetMarket: caller is not licence owner or approved"):
        m.chain.transact(market, "transferFrom", holder, OTHER, first, sender=OTHER)
    m.chain.transact(market, "approve", OTHER, first, sender=holder)
    assert m.chain.call(market, "getApproved", first).lower() == OTHER.lower()
    m.chain.transact(market, "transferFrom", holder, BUYERS[1], first, sender=OTHER)
    assert m.market.licence(first).holder == BUYERS[1]
    assert m.chain.call(market, "getApproved", first) == ZERO
    assert m.market.holds_licence(BUYERS[1], release.dataset_id, first)
    assert not m.market.holds_licence(holder, release.dataset_id, first)
    m.chain.transact(market, "setApprovalForAll", OTHER, True, sender=holder)
    assert m.chain.call(market, "isApprovedForAll", holder, OTHER)
    m.chain.transact(market, "safeTransferFrom", holder, BUYERS[2], second, sender=OTHER)
    assert (m.market.licence_balance(holder), m.market.licence_balance(BUYERS[2])) == (0, 1)
    assert m.market.licences_of(BUYERS[2]) == [second]
    assert m.market.licences_of(BUYERS[1], release.dataset_id) == [first]
    assert m.market.licences_of(holder) == []


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("locked", "DatasetMarket: licence not transferable"),
        ("wrong_owner", "DatasetMarket: transfer from incorrect owner"),
        ("zero_to", "DatasetMarket: transfer to the zero address"),
        ("unknown", "DatasetMarket: unknown licence"),
        ("approve_owner", "DatasetMarket: approval to current owner"),
        ("approve_stranger", "DatasetMarket: caller is not licence owner or approved for all"),
        ("operator_self", "DatasetMarket: approve to caller"),
        ("non_receiver", "DatasetMarket: transfer to non-IERC721Receiver implementer"),
    ],
)
def test_licence_transfers_reject(m: MarketWorld, case: str, reason: str) -> None:
    release = m.listed(contributors(2), transferable=case != "locked")
    m.token.approve(m.market.address, PRICE, sender=BUYERS[0])
    licence_id = raw_buy(m, release.dataset_id, BUYERS[0])
    market, holder = m.market.contract, BUYERS[0]
    calls = {
        "locked": ("transferFrom", holder, OTHER, licence_id),
        "wrong_owner": ("transferFrom", OTHER, BUYERS[1], licence_id),
        "zero_to": ("transferFrom", holder, addr(0), licence_id),
        "unknown": ("transferFrom", holder, OTHER, 999),
        "approve_owner": ("approve", holder, licence_id),
        "approve_stranger": ("approve", OTHER, licence_id),
        "operator_self": ("setApprovalForAll", holder, True),
        "non_receiver": ("safeTransferFrom", holder, m.token.address, licence_id),
    }
    function, *args = calls[case]
    sender = OTHER if case == "approve_stranger" else holder
    with reverts(reason):
        m.chain.transact(market, function, *args, sender=sender)
    assert m.market.licence(licence_id).holder == holder


def test_safe_transfer_to_a_receiver_contract(m: MarketWorld) -> None:
    receiver, _ = m.chain.deploy(compile_file(HERE / "LicenceReceiver.vy"), [], OWNER)
    release = m.listed(contributors(2))
    m.token.approve(m.market.address, PRICE, sender=BUYERS[0])
    licence_id = raw_buy(m, release.dataset_id, BUYERS[0])
    with_data = [
        entry
        for entry in m.market.contract.abi
        if entry.get("name") == "safeTransferFrom" and len(entry["inputs"]) == 4
    ]
    market = Contract("DatasetMarket", m.market.address, with_data)
    m.chain.transact(
        market,
        "safeTransferFrom",
        BUYERS[0],
        receiver.address,
        licence_id,
        b"hello",
        sender=BUYERS[0],
    )
    assert m.market.licence(licence_id).holder == receiver.address
    assert m.chain.call(receiver, "received") == licence_id


# --------------------------------------------------------------------------- gas


def test_exact_gas(m: MarketWorld) -> None:
    """Whole-transaction gas of the money paths, on a market that has sold before (its token
    balance, the fee total and the seller's balance exist), each buyer fresh."""
    weights = contributors(100)
    warm = m.listed(weights, label="warm")
    m.token.approve(m.market.address, PRICE, sender=BUYERS[0])
    raw_buy(m, warm.dataset_id, BUYERS[0])
    release = m.release(weights, label="gas")
    listed = m.chain.transact(
        m.market.contract,
        "list",
        release.dataset_id,
        m.token.address,
        PRICE,
        3000,
        TERMS,
        True,
        False,
        sender=SELLER,
    )
    gas = {"list": listed.gas_used}
    for label, buyer in (
        ("buy (fresh buyer)", BUYERS[1]),
        ("buy (holder of a licence)", BUYERS[0]),
    ):
        m.token.approve(m.market.address, PRICE, sender=buyer)
        gas[label] = m.chain.transact(
            m.market.contract, "buy", release.dataset_id, PRICE, sender=buyer
        ).gas_used
    # a fixed deadline: the permit's signature (calldata, so gas) must not depend on the clock
    gas["buy_with_permit (fresh buyer)"] = m.market.buy_with_permit(
        release.dataset_id, key_of(BUYERS[2]), deadline=4_000_000_000
    ).receipt.gas_used
    assert release.tree is not None
    account = addr(0x5000 + 40)
    weight, claim = royalty_claim(release.tree, release.dataset_id, account)
    args = [release.dataset_id, account, weight, claim.expected_root, list(claim.proof)]
    gas["claim (first, fresh recipient)"] = m.chain.transact(
        m.market.contract, "claim", *args, sender=OTHER
    ).gas_used
    m.token.approve(m.market.address, PRICE, sender=BUYERS[3])
    raw_buy(m, release.dataset_id, BUYERS[3])
    gas["claim (later)"] = m.chain.transact(
        m.market.contract, "claim", *args, sender=OTHER
    ).gas_used
    assert gas == {
        "list": 227_215,  # first listing: copies the weights root, total and version
        "buy (fresh buyer)": 137_770,
        "buy (holder of a licence)": 120_670,
        "buy_with_permit (fresh buyer)": 170_550,  # the permit's nonce and allowance writes
        "claim (first, fresh recipient)": 95_657,  # depth-7 proof (100 contributors)
        "claim (later)": 61_457,
    }
    assert gas["buy (fresh buyer)"] <= 150_000


def test_cost_per_sale_does_not_grow_with_contributors(m: MarketWorld) -> None:
    """A sale costs the same whether a release has 2 contributors or a million (the tree is
    never read by a sale: only its total weight)."""
    small = m.listed(contributors(2), label="small")
    huge = m.release(None, label="huge", promise=None, floor=0)
    m.chain.transact(
        m.market.registry,
        "commit_weights",
        huge.dataset_id,
        b"\x09" * 32,
        10**6 * 10**18,
        sender=SELLER,
    )
    raw_list(m, huge.dataset_id)
    m.token.approve(m.market.address, 10 * PRICE, sender=BUYERS[0])
    raw_buy(m, small.dataset_id, BUYERS[0])
    raw_buy(m, huge.dataset_id, BUYERS[0])
    costs = []
    for release in (small, huge):
        m.token.approve(m.market.address, PRICE, sender=BUYERS[0])
        receipt = m.chain.transact(
            m.market.contract, "buy", release.dataset_id, PRICE, sender=BUYERS[0]
        )
        costs.append(receipt.gas_used)
    assert costs[0] == costs[1]


def test_claim_rejects_a_claim_struct_for_the_wrong_account(m: MarketWorld) -> None:
    release = m.listed(contributors(2))
    m.token.approve(m.market.address, PRICE, sender=BUYERS[0])
    raw_buy(m, release.dataset_id, BUYERS[0])
    _, claim = royalty_claim(release.tree, release.dataset_id, addr(0x5000))  # type: ignore[arg-type]
    encoded = [(claim.dataset_id, claim.weight, claim.expected_root, list(claim.proof))]
    with reverts("DatasetMarket: invalid proof"):
        m.chain.transact(m.market.contract, "claim_many", addr(0x5001), encoded, sender=OTHER)
    assert isinstance(claim, RoyaltyClaim)


# --------------------------------------------------------------------------- bounds and tokens


def test_dataset_ids_beyond_the_licence_packing_are_refused(m: MarketWorld) -> None:
    registry, _ = m.chain.deploy(compile_file(HERE / "MockRegistry.vy"), [SELLER], OWNER)
    market, _ = m.chain.deploy(load_contract("DatasetMarket"), [registry.address, 0, FEES], OWNER)
    args = [m.token.address, PRICE, 0, TERMS, True, False]
    m.chain.transact(market, "list", 2**95 - 1, *args, sender=SELLER)
    with reverts("DatasetMarket: dataset id too large"):
        m.chain.transact(market, "list", 2**95, *args, sender=SELLER)


@pytest.mark.parametrize("with_weights", [True, False])
def test_a_release_holds_at_most_2_96_unclaimed(m: MarketWorld, with_weights: bool) -> None:
    top = 2**96 - 1
    release = m.release(contributors(2) if with_weights else None, floor=0, promise=None)
    raw_list(m, release.dataset_id, price=top, royalty=9_500)
    m.token.mint(BUYERS[0], 2 * top, sender=OWNER)
    raw_buy(m, release.dataset_id, BUYERS[0], max_price=top)
    with reverts("DatasetMarket: royalty balance too large"):
        raw_buy(m, release.dataset_id, BUYERS[0], max_price=top)
    state = m.market.royalty_state(release.dataset_id)
    assert state.outstanding + state.held == top * 9_500 // 10_000


def test_a_token_that_refuses_transfers_stops_sales_and_claims(m: MarketWorld) -> None:
    stubborn = m.world.mock_token(0)
    release = m.listed(contributors(2), token=stubborn)
    raw_buy(m, release.dataset_id, REQUESTER)
    m.chain.transact(stubborn.contract, "set_mode", 2, sender=OWNER)
    with reverts("DatasetMarket: token transfer failed"):
        raw_buy(m, release.dataset_id, REQUESTER)
    args = _claim_args(m, release.tree, release.dataset_id, addr(0x5001))
    with reverts("DatasetMarket: token transfer failed"):
        m.chain.transact(m.market.contract, "claim", *args, sender=OTHER)
    assert m.market.paid(release.dataset_id, addr(0x5001)) == 0
