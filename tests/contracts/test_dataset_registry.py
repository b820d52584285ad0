"""DatasetRegistry: a release mints a transferable ERC-721 recording its weights, version and
royalty floor; the floor honours the escrow's promises; every revert path."""

from __future__ import annotations

import pytest

from datafair.chain.deploy import contract
from datafair.chain.embedded import EmbeddedChain
from datafair.contracts import load_contract
from datafair.core.errors import ChainError

from ._world import DEADLINE, GOLD, OTHER, OWNER, REQUESTER, UNIT, World, addr, task_id

MANIFEST = "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"
ROOT = b"\x05" * 32
ZERO = b"\0" * 32


def reverts(reason: str) -> pytest.RaisesContext[ChainError]:
    return pytest.raises(ChainError, match=rf"reverted: {reason}$")


def register(
    world: World,
    cid: str = MANIFEST,
    root: bytes = ROOT,
    total: int = 1000,
    floor: int = 3000,
    tasks: tuple[bytes, ...] = (),
    version: int = 1,
    dataset_id: int | None = None,
    sender: str = REQUESTER,
) -> int:
    next_id = world.chain.call(world.registry, "next_id") if dataset_id is None else dataset_id
    receipt = world.chain.transact(
        world.registry,
        "register",
        next_id,
        cid,
        version,
        root,
        total,
        floor,
        list(tasks),
        sender=sender,
    )
    (event,) = world.registry.decode_logs(receipt.logs, "DatasetRegistered")
    return int(event.args["token_id"])


def promise(world: World, label: str, bps: int) -> bytes:
    tid = task_id(label)
    world.escrow.fund(
        tid, world.token.address, UNIT, DEADLINE, GOLD, sender=REQUESTER, royalty_bps=bps
    )
    return tid


def test_register_mints_to_the_caller(world: World) -> None:
    chain, registry = world.chain, world.registry
    assert chain.call(registry, "next_id") == 1
    tid = promise(world, "a", 3000)
    token_id = register(world, tasks=(tid,), version=2)
    assert token_id == 1
    assert chain.call(registry, "ownerOf", 1).lower() == REQUESTER.lower()
    assert chain.call(registry, "balanceOf", REQUESTER) == 1
    dataset = chain.call(registry, "dataset", 1)
    assert dataset["manifest_cid"] == MANIFEST and dataset["weights_root"] == ROOT
    assert (dataset["total_weight"], dataset["version"], dataset["royalty_floor_bps"]) == (
        1000,
        2,
        3000,
    )
    assert dataset["registered_at"] > 0
    assert chain.call(registry, "royalty_terms", 1) == (ROOT, 1000, 2, 3000)
    assert chain.call(registry, "tokenURI", 1) == "ipfs://" + MANIFEST
    assert chain.call(registry, "totalSupply") == 1
    (event,) = chain.events(registry, "DatasetRegistered", token_id=1)
    assert event.args["task_ids"] == [tid]
    assert register(world, cid=MANIFEST + "x") == 2
    assert chain.call(registry, "escrow").lower() == world.escrow.address.lower()


def test_dataset_tokens_transfer(world: World) -> None:
    register(world)
    world.chain.transact(world.registry, "transferFrom", REQUESTER, OTHER, 1, sender=REQUESTER)
    assert world.chain.call(world.registry, "ownerOf", 1).lower() == OTHER.lower()
    with pytest.raises(ChainError, match="erc721: caller is not token owner or approved"):
        world.chain.transact(world.registry, "transferFrom", OTHER, OWNER, 1, sender=REQUESTER)


def test_weights_committed_later_by_the_owner_once(world: World) -> None:
    register(world, root=ZERO, total=0)
    assert world.chain.call(world.registry, "royalty_terms", 1) == (ZERO, 0, 1, 3000)
    with reverts("DatasetRegistry: caller is not the dataset owner"):
        world.chain.transact(world.registry, "commit_weights", 1, ROOT, 5, sender=OTHER)
    with reverts("DatasetRegistry: zero weights root"):
        world.chain.transact(world.registry, "commit_weights", 1, ZERO, 0, sender=REQUESTER)
    with reverts("DatasetRegistry: weights root and total must be set together"):
        world.chain.transact(world.registry, "commit_weights", 1, ROOT, 0, sender=REQUESTER)
    with reverts("DatasetRegistry: total weight too large"):
        world.chain.transact(world.registry, "commit_weights", 1, ROOT, 2**128, sender=REQUESTER)
    receipt = world.chain.transact(world.registry, "commit_weights", 1, ROOT, 5, sender=REQUESTER)
    (event,) = world.registry.decode_logs(receipt.logs, "WeightsCommitted")
    assert event.args == {"token_id": 1, "weights_root": ROOT, "total_weight": 5}
    assert world.chain.call(world.registry, "royalty_terms", 1) == (ROOT, 5, 1, 3000)
    with reverts("DatasetRegistry: weights already committed"):
        world.chain.transact(world.registry, "commit_weights", 1, ROOT, 6, sender=REQUESTER)
    with pytest.raises(ChainError, match="erc721: invalid token ID"):
        world.chain.transact(world.registry, "commit_weights", 9, ROOT, 6, sender=REQUESTER)


def test_floor_must_honour_every_named_task(world: World) -> None:
    low, high = promise(world, "low", 1000), promise(world, "high", 4000)
    with reverts("DatasetRegistry: royalty floor below a task's promise"):
        register(world, floor=3999, tasks=(low, high))
    assert register(world, floor=4000, tasks=(low, high)) == 1
    # a task funded without a promise (plain fund) binds nothing
    world.fund("plain", UNIT)
    assert register(world, cid=MANIFEST + "2", floor=0, tasks=(task_id("plain"),)) == 2


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"dataset_id": 5}, "DatasetRegistry: dataset id is not the next id"),
        ({"cid": ""}, "DatasetRegistry: empty manifest"),
        ({"version": 0}, "DatasetRegistry: zero version"),
        ({"version": 2**64}, "DatasetRegistry: version too large"),
        ({"root": ZERO}, "DatasetRegistry: weights root and total must be set together"),
        ({"total": 0}, "DatasetRegistry: weights root and total must be set together"),
        ({"total": 2**128}, "DatasetRegistry: total weight too large"),
        ({"floor": 9_501}, "DatasetRegistry: royalty floor above 95%"),
        ({}, "DatasetRegistry: manifest already registered"),
    ],
)
def test_register_rejects(world: World, kwargs: dict[str, object], reason: str) -> None:
    register(world, cid=MANIFEST + "-first")
    if not kwargs:
        register(world)
    with reverts(reason):
        register(world, **kwargs)  # type: ignore[arg-type]
    assert world.chain.call(world.registry, "totalSupply") == (2 if not kwargs else 1)


def test_constructor_needs_an_escrow() -> None:
    chain = EmbeddedChain(None)
    with reverts("DatasetRegistry: zero escrow"):
        chain.deploy(load_contract("DatasetRegistry"), [addr(0)], OWNER)


def test_unknown_dataset_reverts(world: World) -> None:
    with pytest.raises(ChainError, match="DatasetRegistry: unknown dataset"):
        world.chain.call(world.registry, "dataset", 7)
    with pytest.raises(ChainError, match="DatasetRegistry: unknown dataset"):
        world.chain.call(world.registry, "royalty_terms", 7)
    with pytest.raises(ChainError, match="erc721: invalid token ID"):
        world.chain.call(world.registry, "ownerOf", 7)
    assert world.chain.call(world.registry, "balanceOf", addr(9)) == 0
    assert contract(world.chain, world.deployment, "DatasetRegistry").address


def test_exact_gas(world: World) -> None:
    """Whole-transaction gas of registering a release with its weights, naming one task."""
    tid = promise(world, "gas", 3000)
    receipt = world.chain.transact(
        world.registry,
        "register",
        1,
        MANIFEST,
        1,
        ROOT,
        1000,
        3000,
        [tid],
        sender=REQUESTER,
    )
    assert receipt.gas_used == 425_844
