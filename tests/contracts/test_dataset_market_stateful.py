"""Hypothesis state machine over DatasetMarket: the money invariants hold after every step.

Three releases (small weights, large weights that exercise the rounding carry, and one registered
without weights and committed later) are listed, delisted, bought, claimed singly and in bulk by
random actors while the fee rate changes. A Python model (``economics.royalty_ledger``) predicts
each action's outcome, success or the exact revert reason. After every step, per release:
claimed + claimable + dust == royalties received, to the base unit, with
0 <= dust <= ceil(total_weight / 1e18) + contributors; nobody has been paid more than their
weight's share; the contract's accumulator, carry, held and unclaimed balance equal the model's;
every listing gives at least the promised floor; the market's token balance is exactly the
releases' unclaimed and held royalties plus unwithdrawn fees; the fee rate stays within the cap
and every sale's fee within its rate; a licence exists, held by the buyer, for every sale.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from datafair.chain.embedded import Head
from datafair.chain.market import royalty_claim
from datafair.core.errors import ChainError
from datafair.crypto.merkle import StandardMerkleTree
from datafair.economics.royalty_ledger import RoyaltyLedger, dust_bound, sale_split

from ._market import BUYERS, SELLER, TERMS, MarketWorld, make_market_world
from ._world import FEES, OTHER, OWNER, addr

ACCOUNTS = [addr(0x8000 + i) for i in range(4)]
WEIGHTS = [
    {ACCOUNTS[0]: 1, ACCOUNTS[1]: 2, ACCOUNTS[2]: 3, ACCOUNTS[3]: 5},
    {
        ACCOUNTS[0]: 3 * 10**20 + 7,
        ACCOUNTS[1]: 10**21,
        ACCOUNTS[2]: 1,
        ACCOUNTS[3]: 123_456_789 * 10**12,
    },
    {ACCOUNTS[0]: 7, ACCOUNTS[1]: 7, ACCOUNTS[2]: 7},
]
FLOORS = [3000, 1000, 0]
LATER = 2  # the release registered without weights


@dataclass
class ReleaseModel:
    dataset_id: int
    weights: dict[str, int]
    floor: int
    tree: StandardMerkleTree | None
    committed: bool
    ever_listed: bool = False
    listed: bool = False
    price: int = 0
    royalty_bps: int = 0
    ledger: RoyaltyLedger = field(default_factory=RoyaltyLedger)


_BASE: MarketWorld | None = None
_START: Head | None = None
_RELEASES: list[tuple[int, StandardMerkleTree | None]] = []


def _fresh() -> MarketWorld:
    """One deployment with three registered releases per process, rewound for every example."""
    global _BASE, _START
    if _BASE is None:
        _BASE = make_market_world()
        for i, weights in enumerate(WEIGHTS):
            release = _BASE.release(
                None if i == LATER else weights,
                label=f"stateful{i}",
                floor=FLOORS[i],
                promise=FLOORS[i],
            )
            _RELEASES.append((release.dataset_id, release.tree))
        for buyer in BUYERS:
            _BASE.token.approve(_BASE.market.address, 2**255, sender=buyer)
        _START = _BASE.chain.snapshot()
    assert _START is not None
    _BASE.chain.revert(_START)
    return _BASE


class MarketMachine(RuleBasedStateMachine):
    """Random listings, sales, claims and fee changes by random actors."""

    @initialize(
        prices=st.lists(st.integers(1, 10**22), min_size=3, max_size=3),
        extra=st.lists(st.integers(0, 2_000), min_size=3, max_size=3),
        listed=st.lists(st.sampled_from([True, True, True, False]), min_size=3, max_size=3),
    )
    def setup(self, prices: list[int], extra: list[int], listed: list[bool]) -> None:
        """A rewound world; most examples start with some releases listed, so sales happen."""
        self.m = _fresh()
        self.releases = [
            ReleaseModel(dataset_id, dict(WEIGHTS[i]), FLOORS[i], tree, i != LATER)
            for i, (dataset_id, tree) in enumerate(_RELEASES)
        ]
        self.fee_bps = 250
        self.fees_owed = 0
        self.sales: list[tuple[int, str, int]] = []  # licence id, buyer, dataset id
        for index, (price, more, on) in enumerate(zip(prices, extra, listed, strict=True)):
            if on:
                self.list_release(index, price, self.releases[index].floor + more, False, SELLER)

    def expect(self, reason: str | None, action: object) -> bool:
        """Run ``action``; it must succeed (``reason`` None) or revert with ``reason``."""
        if reason is None:
            action()  # type: ignore[operator]
            return True
        with pytest.raises(ChainError, match=f"reverted: {reason}$"):
            action()  # type: ignore[operator]
        return False

    def adopt(self, model: ReleaseModel) -> None:
        if model.committed and model.ledger.total_weight == 0:
            model.ledger.commit(sum(model.weights.values()))

    @rule(
        index=st.integers(0, 2),
        price=st.one_of(st.just(0), st.integers(1, 10**22)),
        royalty=st.one_of(st.integers(0, 9_600), st.integers(3_000, 9_500)),
        zero_ok=st.booleans(),
        sender=st.sampled_from([SELLER, SELLER, OTHER]),
    )
    def list_release(
        self, index: int, price: int, royalty: int, zero_ok: bool, sender: str
    ) -> None:
        model = self.releases[index]
        reason = None
        if sender != SELLER:
            reason = "DatasetMarket: caller is not the dataset owner"
        elif price == 0 and not zero_ok:
            reason = "DatasetMarket: zero price not allowed"
        elif royalty > 9_500:
            reason = "DatasetMarket: royalty above 95%"
        elif royalty < model.floor:
            reason = "DatasetMarket: royalty below the promised floor"
        m = self.m
        if self.expect(
            reason,
            lambda: m.chain.transact(
                m.market.contract,
                "list",
                model.dataset_id,
                m.token.address,
                price,
                royalty,
                TERMS,
                True,
                zero_ok,
                sender=sender,
            ),
        ):
            model.listed = model.ever_listed = True
            model.price, model.royalty_bps = price, royalty
            self.adopt(model)

    @rule(index=st.integers(0, 2), sender=st.sampled_from([SELLER, OTHER]))
    def delist(self, index: int, sender: str) -> None:
        model = self.releases[index]
        reason = None
        if sender != SELLER:
            reason = "DatasetMarket: caller is not the dataset owner"
        elif not model.listed:
            reason = "DatasetMarket: not listed"
        if self.expect(reason, lambda: self.m.market.delist(model.dataset_id, sender=sender)):
            model.listed = False

    @rule(
        index=st.integers(0, 2), buyer=st.sampled_from(BUYERS), slack=st.sampled_from([-1, 0, 0, 9])
    )
    def buy(self, index: int, buyer: str, slack: int) -> None:
        model = self.releases[index]
        max_price = max(0, model.price + slack)
        reason = None
        if not model.listed:
            reason = "DatasetMarket: not listed"
        elif model.price > max_price:
            reason = "DatasetMarket: price above max_price"
        m = self.m
        seller_before = m.token.balance_of(SELLER)
        result: list[int] = []

        def act() -> None:
            receipt = m.chain.transact(
                m.market.contract, "buy", model.dataset_id, max_price, sender=buyer
            )
            (event,) = m.market.contract.decode_logs(receipt.logs, "LicenceSold")
            result.append(int(event.args["licence_id"]))
            fee, pool, _ = sale_split(model.price, self.fee_bps, model.royalty_bps)
            assert (event.args["fee"], event.args["royalty"]) == (fee, pool)
            assert fee * 10_000 <= model.price * 500  # the cap, sale by sale

        if self.expect(reason, act):
            fee, pool, rest = sale_split(model.price, self.fee_bps, model.royalty_bps)
            model.ledger.credit(pool)
            self.fees_owed += fee
            assert m.token.balance_of(SELLER) - seller_before == rest
            self.sales.append((result[0], buyer, model.dataset_id))

    @rule(index=st.integers(0, 2), buyer=st.sampled_from(BUYERS))
    def buy_at_price(self, index: int, buyer: str) -> None:
        """Sales are what the invariants are about: a second, always well-priced, buy rule."""
        self.buy(index, buyer, 0)

    @rule()
    def commit_later_weights(self) -> None:
        model = self.releases[LATER]
        m = self.m
        reason = "DatasetRegistry: weights already committed" if model.committed else None

        def act() -> None:
            tree = m.market.weights_tree(model.dataset_id, 1, model.weights)
            m.chain.transact(
                m.market.registry,
                "commit_weights",
                model.dataset_id,
                tree.root,
                sum(model.weights.values()),
                sender=SELLER,
            )
            model.tree = tree

        if self.expect(reason, act):
            model.committed = True
            if model.ever_listed:
                m.market.sync_weights(model.dataset_id, sender=OTHER)
                self.adopt(model)

    @rule(index=st.integers(0, 2), who=st.integers(0, 3), sender=st.sampled_from([OTHER, OWNER]))
    def claim(self, index: int, who: int, sender: str) -> None:
        model = self.releases[index]
        account = ACCOUNTS[who]
        if model.tree is None or account not in model.weights:
            return
        weight, request = royalty_claim(model.tree, model.dataset_id, account)
        owed = model.ledger.claimable(account, weight)
        reason = None
        if model.ledger.total_weight == 0:
            reason = "DatasetMarket: no weights committed"
        elif owed == 0:
            reason = "DatasetMarket: nothing to claim"
        m = self.m
        before = m.token.balance_of(account)
        args = [model.dataset_id, account, weight, request.expected_root, list(request.proof)]
        if self.expect(
            reason, lambda: m.chain.transact(m.market.contract, "claim", *args, sender=sender)
        ):
            assert model.ledger.claim(account, weight) == owed
        assert m.token.balance_of(account) - before == (owed if reason is None else 0)

    @rule(index=st.integers(0, 2), who=st.integers(0, 3))
    def claim_for_self(self, index: int, who: int) -> None:
        """A second claim rule, the contributor sending its own claim."""
        self.claim(index, who, ACCOUNTS[who])

    @rule(who=st.integers(0, 2), picks=st.lists(st.integers(0, 2), min_size=1, max_size=3))
    def claim_many(self, who: int, picks: list[int]) -> None:
        account = ACCOUNTS[who]
        models = [self.releases[i] for i in picks]
        if any(model.tree is None for model in models):
            return
        requests = [royalty_claim(mo.tree, mo.dataset_id, account) for mo in models]  # type: ignore[arg-type]
        # a release claimed twice in one call pays once: the second sees nothing owed
        owed = {
            mo.dataset_id: mo.ledger.claimable(account, w)
            for mo, (w, _) in zip(models, requests, strict=True)
        }
        reason = None
        if any(mo.ledger.total_weight == 0 for mo in models):
            reason = "DatasetMarket: no weights committed"
        elif sum(owed.values()) == 0:
            reason = "DatasetMarket: nothing to claim"
        m = self.m
        before = m.token.balance_of(account)
        encoded = [(r.dataset_id, r.weight, r.expected_root, list(r.proof)) for _, r in requests]
        if self.expect(
            reason,
            lambda: m.chain.transact(
                m.market.contract, "claim_many", account, encoded, sender=OTHER
            ),
        ):
            for mo, (weight, _) in zip(models, requests, strict=True):
                mo.ledger.claim(account, weight)
        paid = sum(owed.values()) if reason is None else 0
        assert m.token.balance_of(account) - before == paid

    @rule(bps=st.integers(0, 1000), sender=st.sampled_from([OWNER, OTHER]))
    def set_fee(self, bps: int, sender: str) -> None:
        reason = None
        if sender != OWNER:
            reason = "DatasetMarket: caller is not the owner"
        elif bps > 500:
            reason = "DatasetMarket: fee above cap"
        m = self.m
        if self.expect(
            reason, lambda: m.chain.transact(m.market.contract, "set_fee_bps", bps, sender=sender)
        ):
            self.fee_bps = bps

    @rule()
    def withdraw(self) -> None:
        m = self.m
        reason = None if self.fees_owed else "DatasetMarket: no fees"
        before = m.token.balance_of(FEES)
        if self.expect(reason, lambda: m.market.withdraw_fees(m.token.address, sender=OTHER)):
            assert m.token.balance_of(FEES) - before == self.fees_owed
            self.fees_owed = 0

    @invariant()
    def money_is_conserved(self) -> None:
        if not hasattr(self, "m"):
            return
        market = self.m.market
        kept = 0
        for model in self.releases:
            ledger = model.ledger
            state = market.royalty_state(model.dataset_id)
            outstanding = ledger.received - ledger.held - ledger.claimed
            assert (state.acc, state.carry, state.held, state.outstanding) == (
                ledger.acc,
                ledger.carry,
                ledger.held,
                outstanding,
            )
            total = sum(model.weights.values())
            if ledger.total_weight:
                claimable = sum(
                    market.claimable(model.dataset_id, a, w) for a, w in model.weights.items()
                )
                dust = ledger.dust(model.weights)
                assert ledger.claimed + claimable + dust + ledger.held == ledger.received
                assert 0 <= dust <= dust_bound(total, len(model.weights))
            else:
                assert ledger.held == ledger.received  # held, never lost
            for account, weight in model.weights.items():
                assert market.paid(model.dataset_id, account) == ledger.paid.get(account, 0)
                assert ledger.paid.get(account, 0) * total <= weight * ledger.received
            if model.listed:
                listing = market.listing(model.dataset_id)
                assert listing.royalty_bps >= model.floor
            kept += state.outstanding + state.held
        token = self.m.token
        assert market.fees_owed(token.address) == self.fees_owed
        assert token.balance_of(market.address) == kept + self.fees_owed
        assert market.fee_bps() == self.fee_bps <= market.max_fee_bps() == 500
        assert self.m.chain.call(market.contract, "licence_count") == len(self.sales)
        for licence_id, buyer, dataset_id in self.sales:
            licence = market.licence(licence_id)
            assert (licence.holder, licence.dataset_id) == (buyer, dataset_id)


MarketMachine.TestCase.settings = settings(
    max_examples=12,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_market_invariants = pytest.mark.slow(MarketMachine.TestCase)
