"""Helpers for DatasetMarket tests: a deployed market with a release owner, buyers and releases."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from eth_account import Account
from eth_account.signers.local import LocalAccount

from datafair.chain.embedded import EmbeddedChain
from datafair.chain.market import MarketClient, RegisteredRelease
from datafair.chain.tokens import TokenClient

from ._world import DEADLINE, GOLD, OWNER, REQUESTER, UNIT, World, addr, make_world, task_id

SELLER = REQUESTER
TERMS = "bafkreiterms0licence0cc0by0sa0example0cid0for0tests0aaaa"
PRICE = 100 * UNIT
BUYER_KEYS = [Account.from_key(bytes([0x11 + i]) * 32) for i in range(4)]
BUYERS = [key.address for key in BUYER_KEYS]


def contributors(n: int, first: int = 0x5000) -> dict[str, int]:
    """``n`` contributors with weights 1, 2, ..., n (in whole units of 10**15)."""
    return {addr(first + i): (i + 1) * 10**15 for i in range(n)}


@dataclass
class MarketWorld:
    """A deployed datafair with MarketClient, buyers holding DevToken, and a promised task."""

    world: World
    market: MarketClient

    @property
    def chain(self) -> EmbeddedChain:
        return self.world.chain

    @property
    def token(self) -> TokenClient:
        return self.world.token

    def release(
        self,
        weights: Mapping[str, int] | None,
        *,
        label: str = "r",
        floor: int = 3000,
        promise: int | None = 3000,
        version: int = 1,
    ) -> RegisteredRelease:
        """Fund a task promising ``promise`` bps and register a release of it by SELLER."""
        tasks = []
        if promise is not None:
            tid = task_id(f"task {label}")
            self.world.escrow.fund(
                tid,
                self.token.address,
                UNIT,
                DEADLINE,
                GOLD,
                sender=REQUESTER,
                royalty_bps=promise,
            )
            tasks.append(tid)
        return self.market.register_release(
            f"bafkreimanifest{label}", version, weights, floor, tasks, sender=SELLER
        )

    def listed(
        self,
        weights: Mapping[str, int] | None,
        *,
        label: str = "r",
        price: int = PRICE,
        royalty_bps: int = 3000,
        transferable: bool = True,
        token: TokenClient | None = None,
    ) -> RegisteredRelease:
        """A release listed by SELLER."""
        release = self.release(weights, label=label)
        self.market.list_release(
            release.dataset_id,
            (token or self.token).address,
            price,
            royalty_bps,
            TERMS,
            sender=SELLER,
            transferable=transferable,
            zero_price_ok=price == 0,
        )
        return release


def make_market_world() -> MarketWorld:
    """A fresh in-memory chain with datafair deployed; buyers hold 10**6 DevToken each."""
    world = make_world()
    market = MarketClient(world.chain, world.deployment)
    for buyer in BUYERS:
        world.token.mint(buyer, 10**6 * UNIT, sender=OWNER)
    return MarketWorld(world, market)


def key_of(address: str) -> LocalAccount:
    """The test key of a buyer address."""
    return BUYER_KEYS[BUYERS.index(address)]
