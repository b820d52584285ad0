"""EscrowClient checks inputs before sending and reports contract reverts as one line."""

from __future__ import annotations

import pytest

from contracts._world import CID, DEADLINE, GOLD, OPERATOR, REQUESTER, World, make_world
from datafair.chain.escrow import MAX_CLAIMS, ClaimRequest, EscrowClient
from datafair.core.errors import ChainError, InvalidInput
from datafair.crypto.merkle import StandardMerkleTree

TASK = b"\x01" * 32


@pytest.fixture(scope="module")
def world() -> World:
    return make_world()


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda e, t: e.fund(b"short", t, 1, DEADLINE, GOLD, sender=REQUESTER), "task_id"),
        (lambda e, t: e.fund(TASK, t, 0, DEADLINE, GOLD, sender=REQUESTER), "amount"),
        (lambda e, t: e.fund(TASK, t, -1, DEADLINE, GOLD, sender=REQUESTER), "amount"),
        (lambda e, t: e.fund(TASK, t, 1, DEADLINE, b"", sender=REQUESTER), "gold_commitment"),
        (lambda e, t: e.fund(TASK, "nope", 1, DEADLINE, GOLD, sender=REQUESTER), "address"),
        (
            lambda e, t: e.fund(TASK, t, 1, DEADLINE, GOLD, sender=REQUESTER, royalty_bps=9_501),
            "royalty_bps",
        ),
        (
            lambda e, t: e.fund(TASK, t, 1, DEADLINE, GOLD, sender=REQUESTER, royalty_bps=-1),
            "royalty_bps",
        ),
        (lambda e, t: e.post_payout(TASK, 0, TASK, 1, 0, CID, sender=OPERATOR), "epoch"),
        (lambda e, t: e.post_payout(TASK, 1, TASK, 1, 0, "", sender=OPERATOR), "bundle_cid"),
        (lambda e, t: e.post_payout(TASK, 1, TASK, True, 0, CID, sender=OPERATOR), "total"),
        (
            lambda e, t: e.claim(TASK, 1, 0, REQUESTER, 1, [b"\0" * 32] * 33, sender=OPERATOR),
            "proof",
        ),
        (lambda e, t: e.claim_many(REQUESTER, [], sender=OPERATOR), "claims"),
        (
            lambda e, t: e.claim_many(
                REQUESTER, [ClaimRequest(TASK, 1, 0, 1, ())] * (MAX_CLAIMS + 1), sender=OPERATOR
            ),
            "claims",
        ),
    ],
)
def test_bad_inputs_name_the_field(world: World, call: object, field: str) -> None:
    with pytest.raises(InvalidInput, match=rf"^{field}: "):
        call(world.escrow, world.token.address)  # type: ignore[operator]


def test_post_tree_needs_a_payout_tree(world: World) -> None:
    tree = StandardMerkleTree.of([(b"\x01" * 32,)], ("bytes32",))
    with pytest.raises(InvalidInput, match="is not a payout tree"):
        world.escrow.post_tree(TASK, 1, tree, 0, CID, sender=OPERATOR)


def test_revert_reaches_the_caller_as_one_line(world: World) -> None:
    with pytest.raises(ChainError) as caught:
        world.escrow.refund(TASK, sender=REQUESTER)
    assert str(caught.value) == "TaskEscrow.refund reverted: TaskEscrow: unknown task"
    assert "\n" not in str(caught.value)


def test_client_reads(world: World) -> None:
    escrow = EscrowClient(world.chain, world.deployment)
    assert escrow.payout_root(TASK, 1) is None
    assert not escrow.is_claimed(TASK, 1, 0)
    assert escrow.events("PayoutPosted", task_id=TASK) == []


def test_top_up_with_another_promise_is_refused_before_sending() -> None:
    world = make_world()
    token = world.token.address
    world.escrow.fund(TASK, token, 10, DEADLINE, GOLD, sender=REQUESTER, royalty_bps=3000)
    with pytest.raises(InvalidInput, match=r"^royalty_bps: 2000 differs from the 3000 bps"):
        world.escrow.fund(TASK, token, 10, DEADLINE, GOLD, sender=REQUESTER, royalty_bps=2000)
    assert world.escrow.task(TASK).deposited == 10
