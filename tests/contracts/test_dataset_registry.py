"""DatasetRegistry: registration mints a transferable ERC-721; every revert path."""

from __future__ import annotations

import pytest

from datafair.core.errors import ChainError

from ._world import OTHER, OWNER, REQUESTER, World, addr

MANIFEST = "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"
SHARES = b"\x05" * 32


def register(world: World, cid: str = MANIFEST, root: bytes = SHARES, bps: int = 3000) -> int:
    receipt = world.chain.transact(world.registry, "register", cid, root, bps, sender=REQUESTER)
    (event,) = world.registry.decode_logs(receipt.logs, "DatasetRegistered")
    return int(event.args["token_id"])


def test_register_mints_to_the_caller(world: World) -> None:
    chain, registry = world.chain, world.registry
    token_id = register(world)
    assert token_id == 1
    assert chain.call(registry, "ownerOf", 1).lower() == REQUESTER.lower()
    assert chain.call(registry, "balanceOf", REQUESTER) == 1
    dataset = chain.call(registry, "dataset", 1)
    assert dataset["manifest_cid"] == MANIFEST and dataset["shares_root"] == SHARES
    assert dataset["royalty_bps"] == 3000 and dataset["registered_at"] > 0
    assert chain.call(registry, "tokenURI", 1) == "ipfs://" + MANIFEST
    assert chain.call(registry, "totalSupply") == 1
    assert register(world, cid=MANIFEST + "x") == 2


def test_dataset_tokens_transfer(world: World) -> None:
    register(world)
    world.chain.transact(world.registry, "transferFrom", REQUESTER, OTHER, 1, sender=REQUESTER)
    assert world.chain.call(world.registry, "ownerOf", 1).lower() == OTHER.lower()
    with pytest.raises(ChainError, match="erc721: caller is not token owner or approved"):
        world.chain.transact(world.registry, "transferFrom", OTHER, OWNER, 1, sender=REQUESTER)


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"cid": ""}, "DatasetRegistry: empty manifest"),
        ({"root": b"\0" * 32}, "DatasetRegistry: zero shares root"),
        ({"bps": 10_001}, "DatasetRegistry: royalty above 100%"),
        ({}, "DatasetRegistry: manifest already registered"),
    ],
)
def test_register_rejects(world: World, kwargs: dict[str, object], reason: str) -> None:
    register(world, cid=MANIFEST + "-first")
    if not kwargs:
        register(world)
    with pytest.raises(ChainError, match=rf"reverted: {reason}$"):
        register(world, **kwargs)  # type: ignore[arg-type]


def test_unknown_dataset_reverts(world: World) -> None:
    with pytest.raises(ChainError, match="DatasetRegistry: unknown dataset"):
        world.chain.call(world.registry, "dataset", 7)
    with pytest.raises(ChainError, match="erc721: invalid token ID"):
        world.chain.call(world.registry, "ownerOf", 7)
    assert world.chain.call(world.registry, "balanceOf", addr(9)) == 0
