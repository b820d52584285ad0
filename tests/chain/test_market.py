"""MarketClient: bad input is refused before sending, in one line naming the field; reads."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from contracts._market import (
    BUYERS,
    PRICE,
    SELLER,
    TERMS,
    MarketWorld,
    contributors,
    key_of,
    make_market_world,
)
from contracts._world import OTHER, UNIT, addr, task_id
from datafair.chain.base import address_of
from datafair.chain.market import (
    MAX_CLAIMS,
    RoyaltyClaim,
    royalty_claim,
    royalty_tree,
)
from datafair.core.errors import InvalidInput, NotFound
from datafair.crypto.merkle import ROYALTY_LEAF_ENCODING

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


def refused(field: str) -> pytest.RaisesContext[InvalidInput]:
    return pytest.raises(InvalidInput, match=rf"^{field}: ")


def test_royalty_tree_binds_chain_market_dataset_and_version() -> None:
    weights = {addr(2): 5, addr(1): 3}
    tree = royalty_tree(31337, addr(0xAA), 4, 2, weights)
    assert tree.leaf_encoding == ROYALTY_LEAF_ENCODING
    assert [v[4] for v in tree.values()] == [address_of(addr(1)), address_of(addr(2))]
    assert tree.values()[0][:4] == (31337, address_of(addr(0xAA)), 4, 2)
    for changed in (
        royalty_tree(1, addr(0xAA), 4, 2, weights),
        royalty_tree(31337, addr(0xAB), 4, 2, weights),
        royalty_tree(31337, addr(0xAA), 5, 2, weights),
        royalty_tree(31337, addr(0xAA), 4, 3, weights),
    ):
        assert changed.root != tree.root
    weight, claim = royalty_claim(tree, 4, addr(2))
    assert weight == 5 and claim.expected_root == tree.root
    with refused("account"):
        royalty_claim(tree, 4, addr(3))
    with refused("dataset_id"):
        royalty_claim(tree, 5, addr(2))


@pytest.mark.parametrize(
    ("weights", "problem"),
    [
        ({}, "is empty"),
        ({addr(1): 0}, "has weight 0"),
        ({addr(1): -3}, "has weight -3"),
        ([(addr(1), 1), (addr(1).upper().replace("0X", "0x"), 2)], "appears twice"),
        ({addr(1): 2**128}, "is at least 2\\*\\*128"),
    ],
)
def test_weights_are_checked(weights: object, problem: str) -> None:
    with pytest.raises(InvalidInput, match=rf"^weights: .*{problem}"):
        royalty_tree(1, addr(0xAA), 1, 1, weights)  # type: ignore[arg-type]


def test_register_release_checks_before_sending(m: MarketWorld) -> None:
    tid = task_id("client promise")
    m.world.escrow.fund(
        tid, m.token.address, UNIT, 4_000_000_000, b"\1" * 32, sender=SELLER, royalty_bps=3000
    )
    market = m.market
    assert market.promised_floor([tid]) == 3000
    with pytest.raises(InvalidInput, match=r"^royalty_floor_bps: 2999 is below the 3000 bps"):
        market.register_release("bafkreia", 1, contributors(2), 2999, [tid], sender=SELLER)
    with refused("version"):
        market.register_release("bafkreia", 0, contributors(2), 3000, [tid], sender=SELLER)
    with refused("royalty_floor_bps"):
        market.register_release("bafkreia", 1, contributors(2), 9_501, [tid], sender=SELLER)
    with refused("manifest_cid"):
        market.register_release("", 1, contributors(2), 3000, [tid], sender=SELLER)
    with refused("task_ids"):
        market.register_release("bafkreia", 1, contributors(2), 3000, [b"x"], sender=SELLER)
    with refused("weights"):
        market.register_release("bafkreia", 1, {}, 3000, [tid], sender=SELLER)
    assert market.next_dataset_id() == 1
    release = market.register_release("bafkreia", 1, contributors(2), 3000, [tid], sender=SELLER)
    with refused("manifest_cid"):
        market.register_release("bafkreia", 2, contributors(2), 3000, [tid], sender=SELLER)
    info = market.release(release.dataset_id)
    assert info.owner == address_of(SELLER) and info.royalty_floor_bps == 3000
    assert release.tree is not None and info.weights_root == release.tree.root
    assert info.total_weight == sum(contributors(2).values())
    (event,) = market.registry_events("DatasetRegistered", token_id=release.dataset_id)
    assert event.args["task_ids"] == [tid]
    with pytest.raises(NotFound):
        market.release(99)


def test_register_release_rebuilds_its_tree_when_the_id_was_taken(
    m: MarketWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    market = m.market
    real = market.next_dataset_id
    answers = iter([real()])

    def stale() -> int:
        first = next(answers, None)
        return real() if first is None else first

    # another release takes the id between our read and our transaction
    monkeypatch.setattr(market, "next_dataset_id", stale)
    m.chain.transact(
        market.registry, "register", real(), "bafkreiother", 1, b"\0" * 32, 0, 0, [], sender=OTHER
    )
    release = market.register_release("bafkreimine", 1, contributors(2), 0, sender=SELLER)
    assert release.dataset_id == 2 and release.tree is not None
    assert release.tree.values()[0][2] == 2


def test_listing_bad_input_names_the_field(m: MarketWorld) -> None:
    release = m.release(contributors(2))
    market, token = m.market, m.token.address
    with pytest.raises(InvalidInput, match=r"^sender: .* does not own dataset 1"):
        market.list_release(1, token, PRICE, 3000, TERMS, sender=OTHER)
    with pytest.raises(InvalidInput, match=r"^royalty_bps: 2999 is below the 3000 bps promised"):
        market.list_release(1, token, PRICE, 2999, TERMS, sender=SELLER)
    with pytest.raises(InvalidInput, match=r"^price: is 0"):
        market.list_release(1, token, 0, 3000, TERMS, sender=SELLER)
    with refused("price"):
        market.list_release(1, token, 2**96, 3000, TERMS, sender=SELLER)
    with refused("royalty_bps"):
        market.list_release(1, token, PRICE, 9_501, TERMS, sender=SELLER)
    with refused("terms_cid"):
        market.list_release(1, token, PRICE, 3000, "", sender=SELLER)
    assert not market.listing(release.dataset_id).listed
    market.list_release(1, token, PRICE, 3000, TERMS, sender=SELLER)
    other = m.world.mock_token(0)
    with refused("token"):
        market.list_release(1, other.address, PRICE, 3000, TERMS, sender=SELLER)
    with pytest.raises(NotFound):
        market.list_release(7, token, PRICE, 3000, TERMS, sender=SELLER)


def test_buying_bad_input_names_the_field(m: MarketWorld) -> None:
    release = m.listed(contributors(2))
    market, dataset_id = m.market, release.dataset_id
    with pytest.raises(InvalidInput, match=r"^allowance: .* allows the market 0, the price is"):
        market.buy(dataset_id, sender=BUYERS[0], approve=False)
    with refused("max_price"):
        market.buy(dataset_id, sender=BUYERS[0], max_price=PRICE - 1)
    with refused("balance"):
        market.buy(dataset_id, sender=OTHER)
    with refused("dataset_id"):
        market.buy(42, sender=BUYERS[0])
    assert market.licence_balance(BUYERS[0]) == 0
    purchase = market.buy(dataset_id, sender=BUYERS[0])
    assert purchase.sale.price == PRICE and purchase.licence_id == 1
    assert market.holds_licence(BUYERS[0], dataset_id)
    assert market.holds_licence(BUYERS[0], dataset_id, purchase.licence_id)
    assert not market.holds_licence(BUYERS[1], dataset_id)
    assert market.licences_of(BUYERS[0]) == [1]
    assert [s.licence_id for s in market.sales(dataset_id)] == [1]


def test_buy_with_permit_needs_a_permit_token(m: MarketWorld) -> None:
    plain = m.world.mock_token(0)
    release = m.listed(contributors(2), token=plain)
    assert m.market.supports_permit(m.token.address)
    assert not m.market.supports_permit(plain.address)
    with refused("token"):
        m.market.buy_with_permit(release.dataset_id, key_of(BUYERS[0]))
    with refused("signer"):
        m.market.buy_with_permit(release.dataset_id, BUYERS[0])  # type: ignore[arg-type]


def test_claims_bad_input_names_the_field(m: MarketWorld) -> None:
    release = m.listed(contributors(3))
    assert release.tree is not None
    market, dataset_id, account = m.market, release.dataset_id, addr(0x5001)
    weight, claim = royalty_claim(release.tree, dataset_id, account)
    with pytest.raises(InvalidInput, match=r"^account: .* has nothing to claim"):
        market.claim(dataset_id, account, weight, claim.proof, sender=OTHER)
    market.buy(dataset_id, sender=BUYERS[0])
    with pytest.raises(InvalidInput, match=rf"^proof: does not prove weight {weight + 1} for"):
        market.claim(dataset_id, account, weight + 1, claim.proof, sender=OTHER)
    with refused("proof"):
        market.claim(dataset_id, account, weight, claim.proof[:-1], sender=OTHER)
    with refused("proof"):
        market.claim(dataset_id, account, weight, [b"\0" * 32] * 33, sender=OTHER)
    with refused("expected_root"):
        market.claim(
            dataset_id, account, weight, claim.proof, sender=OTHER, expected_root=b"\1" * 32
        )
    with refused("weight"):
        market.claim(dataset_id, account, -1, claim.proof, sender=OTHER)
    assert m.token.balance_of(account) == 0
    market.claim(dataset_id, account, weight, claim.proof, sender=OTHER)
    assert m.token.balance_of(account) == market.paid(dataset_id, account) > 0
    with refused("claims"):
        market.claim_many(account, [], sender=OTHER)
    with refused("claims"):
        market.claim_many(account, [claim] * (MAX_CLAIMS + 1), sender=OTHER)
    with pytest.raises(InvalidInput, match=r"^claims: .* has nothing to claim"):
        market.claim_many(account, [claim], sender=OTHER)


def test_claims_before_the_weights_are_named(m: MarketWorld) -> None:
    release = m.release(None, label="later")
    market = m.market
    market.list_release(release.dataset_id, m.token.address, PRICE, 3000, TERMS, sender=SELLER)
    market.buy(release.dataset_id, sender=BUYERS[0])
    claim = RoyaltyClaim(release.dataset_id, 1, b"\1" * 32, ())
    with pytest.raises(InvalidInput, match=r"^dataset_id: dataset 1 has no weights on the market"):
        market.claim_many(addr(0x9000), [claim], sender=OTHER)
    with pytest.raises(InvalidInput, match=r"^sender: .* does not own dataset 1"):
        market.commit_weights(release.dataset_id, {addr(0x9000): 1}, sender=OTHER)
    tree = market.commit_weights(release.dataset_id, {addr(0x9000): 1}, sender=SELLER)
    assert market.royalty_state(release.dataset_id).weights_root == tree.root
    with refused("dataset_id"):
        market.commit_weights(release.dataset_id, {addr(0x9000): 1}, sender=SELLER)
    _, claim = royalty_claim(tree, release.dataset_id, addr(0x9000))
    market.claim_many(addr(0x9000), [claim], sender=OTHER)
    assert m.token.balance_of(addr(0x9000)) == PRICE * 3000 // 10_000


def test_fee_reads_and_owner_calls(m: MarketWorld) -> None:
    market = m.market
    assert (market.fee_bps(), market.max_fee_bps()) == (250, 500)
    with refused("fee_bps"):
        market.set_fee_bps(501, sender=SELLER)
    assert market.fees_owed(m.token.address) == 0
    assert market.events("Listed") == []


def test_audit_release_reports_each_problem_in_one_line(m: MarketWorld) -> None:
    release = m.listed(contributors(2), label="audited")
    market, dataset_id = m.market, release.dataset_id
    assert release.tree is not None
    tasks = market.release_tasks(dataset_id)
    assert tasks == [task_id("task audited")]
    total = sum(contributors(2).values())
    assert market.audit_release(dataset_id, tasks, release.tree.root, total) == []
    other = task_id("client other")
    m.world.escrow.fund(
        other, m.token.address, UNIT, 4_000_000_000, b"\1" * 32, sender=SELLER, royalty_bps=5000
    )
    problems = market.audit_release(dataset_id, [*tasks, other], b"\2" * 32, total + 1)
    assert len(problems) == 4
    assert "names tasks" in problems[0]
    assert "royalty floor 3000 bps is below the 5000 bps task" in problems[1]
    assert "weights root differs" in problems[2] and "total weight" in problems[3]
    with pytest.raises(NotFound):
        market.release_tasks(99)
