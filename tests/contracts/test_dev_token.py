"""DevToken: snekmate's ERC-20; only minters mint."""

from __future__ import annotations

import pytest

from datafair.core.errors import ChainError

from ._world import OTHER, OWNER, World


def test_metadata_and_minting(world: World) -> None:
    chain, token = world.chain, world.token.contract
    assert chain.call(token, "symbol") == "DDEV" and chain.call(token, "decimals") == 18
    world.token.mint(OTHER, 5, sender=OWNER)
    assert world.token.balance_of(OTHER) == 5
    with pytest.raises(ChainError, match=r"reverted: erc20: access is denied$"):
        world.token.mint(OTHER, 5, sender=OTHER)


def test_transfer_and_allowance(world: World) -> None:
    world.token.mint(OTHER, 10, sender=OWNER)
    world.token.transfer(OWNER, 4, sender=OTHER)
    assert world.token.balance_of(OWNER) == 4
    assert world.token.ensure_allowance(OWNER, 3, sender=OTHER) is not None
    assert world.token.ensure_allowance(OWNER, 3, sender=OTHER) is None
    assert world.token.allowance(OTHER, OWNER) == 3
