"""TaskEscrow: every function's success path, every revert path, exact gas figures."""

from __future__ import annotations

import pytest
from eth_abi.abi import encode
from eth_utils.abi import function_signature_to_4byte_selector

from datafair.chain.deploy import deploy_all
from datafair.chain.embedded import EmbeddedChain
from datafair.chain.escrow import ClaimRequest, claim_request
from datafair.contracts import load_contract
from datafair.core.errors import ChainError
from datafair.crypto.merkle import StandardMerkleTree

from ._world import (
    CID,
    DEADLINE,
    FEES,
    GOLD,
    OPERATOR,
    OTHER,
    OWNER,
    REQUESTER,
    UNIT,
    World,
    addr,
    payout_tree,
    task_id,
)


def reverts(reason: str) -> pytest.RaisesContext[ChainError]:
    """Expect a ChainError whose one-line message ends with the contract's reason."""
    return pytest.raises(ChainError, match=rf"reverted: {reason}$")


def post(
    world: World, tid: bytes, epoch: int, amounts: list[int], fee: int = 0
) -> StandardMerkleTree:
    tree = payout_tree(amounts)
    world.escrow.post_tree(tid, epoch, tree, fee, CID, sender=OPERATOR)
    return tree


# --------------------------------------------------------------------------- constructor, roles


def test_constructor_sets_roles_and_rate(world: World) -> None:
    escrow = world.escrow
    assert escrow.owner().lower() == OWNER.lower()
    assert escrow.fee_bps() == 250
    assert escrow.max_fee_bps() == 500
    assert escrow.fee_recipient().lower() == FEES.lower()
    assert escrow.is_operator(OWNER) and escrow.is_operator(OPERATOR)
    assert not escrow.is_operator(OTHER)


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        ([501, FEES], "TaskEscrow: fee above cap"),
        ([100, addr(0)], "TaskEscrow: zero fee recipient"),
    ],
)
def test_constructor_rejects(args: list[object], reason: str) -> None:
    chain = EmbeddedChain(None)
    with reverts(reason):
        chain.deploy(load_contract("TaskEscrow"), args, OWNER)


def test_owner_sets_fee_rate_up_to_the_cap(world: World) -> None:
    world.escrow.set_fee_bps(500, sender=OWNER)
    assert world.escrow.fee_bps() == 500
    (event,) = world.escrow.events("FeeRateChanged", from_block=world.chain.block_number())
    assert event.args == {"old_bps": 250, "new_bps": 500}
    with reverts("TaskEscrow: fee above cap"):
        world.escrow.set_fee_bps(501, sender=OWNER)
    with reverts("TaskEscrow: caller is not the owner"):
        world.escrow.set_fee_bps(100, sender=OPERATOR)


def test_owner_sets_fee_recipient(world: World) -> None:
    world.escrow.set_fee_recipient(OTHER, sender=OWNER)
    assert world.escrow.fee_recipient().lower() == OTHER.lower()
    with reverts("TaskEscrow: zero fee recipient"):
        world.escrow.set_fee_recipient(addr(0), sender=OWNER)
    with reverts("TaskEscrow: caller is not the owner"):
        world.escrow.set_fee_recipient(OTHER, sender=OTHER)


def test_owner_grants_and_revokes_operators(world: World) -> None:
    world.escrow.set_operator(OTHER, True, sender=OWNER)
    assert world.escrow.is_operator(OTHER)
    world.escrow.set_operator(OTHER, False, sender=OWNER)
    assert not world.escrow.is_operator(OTHER)
    with reverts("TaskEscrow: zero operator"):
        world.escrow.set_operator(addr(0), True, sender=OWNER)
    with reverts("TaskEscrow: caller is not the owner"):
        world.escrow.set_operator(OTHER, True, sender=OPERATOR)


def test_ownership_transfers_only_by_the_owner(world: World) -> None:
    escrow = world.escrow
    with reverts("ownable: caller is not the owner"):
        world.chain.transact(escrow.contract, "transfer_ownership", OTHER, sender=OTHER)
    world.chain.transact(escrow.contract, "transfer_ownership", OTHER, sender=OWNER)
    assert escrow.owner().lower() == OTHER.lower()
    escrow.set_fee_bps(0, sender=OTHER)
    with reverts("TaskEscrow: caller is not the owner"):
        escrow.set_fee_bps(1, sender=OWNER)


# --------------------------------------------------------------------------- fund


def test_fund_creates_then_tops_up_a_task(world: World) -> None:
    tid = world.fund("a", 100 * UNIT)
    state = world.escrow.task(tid)
    assert state.exists and state.requester.lower() == REQUESTER.lower()
    assert (state.deposited, state.unallocated, state.outstanding) == (100 * UNIT, 100 * UNIT, 0)
    assert state.deadline == DEADLINE and state.gold_commitment == GOLD
    world.escrow.fund(tid, world.token.address, 5 * UNIT, DEADLINE + 10, GOLD, sender=REQUESTER)
    state = world.escrow.task(tid)
    assert state.deposited == state.unallocated == 105 * UNIT
    assert state.deadline == DEADLINE + 10
    events = world.escrow.events("TaskFunded", task_id=tid)
    assert [e.args["amount"] for e in events] == [100 * UNIT, 5 * UNIT]
    assert world.token.balance_of(world.escrow.address) == 105 * UNIT


def test_unknown_task_reads_as_empty(world: World) -> None:
    state = world.escrow.task(task_id("never"))
    assert not state.exists and state.deposited == 0


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"amount": 0}, "TaskEscrow: zero amount"),
        ({"token": addr(0)}, "TaskEscrow: zero token"),
        ({"deadline": 1}, "TaskEscrow: deadline in the past"),
        ({"sender": OTHER}, "TaskEscrow: not the requester"),
        ({"gold": b"\x01" * 32}, "TaskEscrow: gold commitment mismatch"),
        ({"deadline": DEADLINE - 1}, "TaskEscrow: deadline moved earlier"),
    ],
)
def test_fund_rejects(world: World, change: dict[str, object], reason: str) -> None:
    tid = world.fund("a", UNIT)
    world.token.mint(OTHER, UNIT, sender=OWNER)
    world.token.approve(world.escrow.address, UNIT, sender=OTHER)
    args = {
        "amount": UNIT,
        "token": world.token.address,
        "deadline": DEADLINE,
        "gold": GOLD,
        "sender": REQUESTER,
    } | change
    with reverts(reason):
        world.chain.transact(
            world.escrow.contract,
            "fund",
            tid,
            args["token"],
            args["amount"],
            args["deadline"],
            args["gold"],
            sender=args["sender"],
        )
    assert world.escrow.task(tid).deposited == UNIT


def test_fund_top_up_in_another_token_is_refused(world: World) -> None:
    tid = world.fund("a", UNIT)
    other = world.mock_token(0)
    other.approve(world.escrow.address, UNIT, sender=REQUESTER)
    with reverts("TaskEscrow: token mismatch"):
        world.chain.transact(
            world.escrow.contract,
            "fund",
            tid,
            other.address,
            UNIT,
            DEADLINE,
            GOLD,
            sender=REQUESTER,
        )


def test_fund_without_allowance_fails_in_the_token(world: World) -> None:
    with reverts("erc20: insufficient allowance"):
        world.escrow.fund(
            task_id("a"), world.token.address, UNIT, DEADLINE, GOLD, sender=REQUESTER, approve=False
        )


def test_fee_on_transfer_token_is_credited_what_arrived(world: World) -> None:
    lossy = world.mock_token(1)
    tid = world.fund("lossy", 1000, token=lossy)
    assert world.escrow.task(tid).deposited == 990
    assert lossy.balance_of(world.escrow.address) == 990


@pytest.mark.parametrize(
    ("mode", "reason"),
    [(2, "TaskEscrow: token transfer failed"), (4, "TaskEscrow: nothing received")],
)
def test_fund_rejects_tokens_that_deliver_nothing(world: World, mode: int, reason: str) -> None:
    bad = world.mock_token(mode)
    with reverts(reason):
        world.fund("bad", 1000, token=bad)


def test_fund_rejects_amounts_above_96_bits(world: World) -> None:
    big = world.mock_token(0)
    world.chain.transact(big.contract, "mint", REQUESTER, 2**97, sender=OWNER)
    tid = world.fund("big", 2**96 - 1, token=big)
    with reverts("TaskEscrow: amount too large"):
        world.escrow.fund(tid, big.address, 1, DEADLINE, GOLD, sender=REQUESTER)
    with reverts("TaskEscrow: amount too large"):
        world.fund("bigger", 2**96, token=big)


def test_fund_counts_outstanding_payouts_towards_the_limit(world: World) -> None:
    big = world.mock_token(0)
    world.chain.transact(big.contract, "mint", REQUESTER, 2**97, sender=OWNER)
    tid = world.fund("big", 2**96 - 1, token=big)
    tree = post(world, tid, 1, [2**95, 2**94])  # moves 3 * 2**94 to outstanding
    state = world.escrow.task(tid)
    assert state.outstanding == 3 * 2**94
    assert state.unallocated + state.outstanding == 2**96 - 1
    assert state.token.lower() == big.address.lower()
    with reverts("TaskEscrow: amount too large"):
        world.escrow.fund(tid, big.address, 1, DEADLINE, GOLD, sender=REQUESTER)
    account, req = claim_request(tree, tid, 1, 0)
    world.escrow.claim(tid, 1, req.index, account, req.amount, req.proof, sender=account)
    assert world.escrow.task(tid).outstanding == 3 * 2**94 - req.amount
    world.escrow.fund(tid, big.address, req.amount, DEADLINE, GOLD, sender=REQUESTER)
    after = world.escrow.task(tid)
    assert after.unallocated + after.outstanding == 2**96 - 1


# --------------------------------------------------------------------------- post_payout


def test_post_payout_commits_total_and_fee(world: World) -> None:
    tid = world.fund("a", 1000 * UNIT)
    tree = payout_tree([60 * UNIT, 40 * UNIT])
    fee = 100 * UNIT * 250 // 9750  # the largest fee the 2.5 % rate allows on total 100
    world.escrow.post_tree(tid, 1, tree, fee, CID, sender=OPERATOR)
    state = world.escrow.task(tid)
    assert state.outstanding == 100 * UNIT
    assert state.unallocated == 1000 * UNIT - 100 * UNIT - fee
    assert world.escrow.payout_root(tid, 1) == tree.root
    assert world.escrow.payout_root(tid, 2) is None
    assert world.escrow.fees_owed(world.token.address) == fee
    (event,) = world.escrow.events("PayoutPosted", task_id=tid, epoch=1)
    assert event.args["bundle_cid"] == CID and event.args["total"] == 100 * UNIT
    assert event.args["root"] == tree.root and event.args["fee"] == fee


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"sender": OTHER}, "TaskEscrow: caller is not an operator"),
        ({"epoch": 0}, "TaskEscrow: zero epoch"),
        ({"root": b"\0" * 32}, "TaskEscrow: zero root"),
        ({"total": 0, "fee": 0}, "TaskEscrow: zero total"),
        ({"fee": 3 * UNIT}, "TaskEscrow: fee above rate"),
        ({"task": task_id("unknown")}, "TaskEscrow: unknown task"),
        ({"total": 1000 * UNIT}, "TaskEscrow: payout exceeds unallocated balance"),
    ],
)
def test_post_payout_rejects(world: World, change: dict[str, object], reason: str) -> None:
    tid = world.fund("a", 1000 * UNIT)
    args = {
        "task": tid,
        "epoch": 1,
        "root": b"\x07" * 32,
        "total": 100 * UNIT,
        "fee": UNIT,
        "sender": OPERATOR,
    } | change
    with reverts(reason):
        world.chain.transact(
            world.escrow.contract,
            "post_payout",
            args["task"],
            args["epoch"],
            args["root"],
            args["total"],
            args["fee"],
            CID,
            sender=args["sender"],
        )
    assert world.escrow.task(tid).unallocated == 1000 * UNIT


def test_each_epoch_posts_once(world: World) -> None:
    tid = world.fund("a")
    post(world, tid, 1, [UNIT])
    with reverts("TaskEscrow: epoch already posted"):
        post(world, tid, 1, [2 * UNIT])


def test_fee_rate_zero_allows_only_zero_fee(world: World) -> None:
    tid = world.fund("a")
    world.escrow.set_fee_bps(0, sender=OWNER)
    with reverts("TaskEscrow: fee above rate"):
        post(world, tid, 1, [UNIT], fee=1)
    post(world, tid, 1, [UNIT], fee=0)
    assert world.escrow.fees_owed(world.token.address) == 0


def test_revoked_operator_cannot_post(world: World) -> None:
    tid = world.fund("a")
    world.escrow.set_operator(OPERATOR, False, sender=OWNER)
    with reverts("TaskEscrow: caller is not an operator"):
        post(world, tid, 1, [UNIT])


# --------------------------------------------------------------------------- claim


def test_anyone_claims_a_leaf_for_its_account_once(world: World) -> None:
    tid = world.fund("a")
    tree = post(world, tid, 1, [3 * UNIT, 5 * UNIT, 7 * UNIT])
    account, req = claim_request(tree, tid, 1, 1)
    world.escrow.claim(tid, 1, req.index, account, req.amount, req.proof, sender=OTHER)
    assert world.token.balance_of(account) == 5 * UNIT
    assert world.escrow.is_claimed(tid, 1, 1) and not world.escrow.is_claimed(tid, 1, 0)
    assert world.escrow.task(tid).outstanding == 10 * UNIT
    (event,) = world.escrow.events("Claimed", task_id=tid, account=account)
    assert event.args["index"] == 1 and event.args["amount"] == 5 * UNIT
    with reverts("TaskEscrow: already claimed"):
        world.escrow.claim(tid, 1, req.index, account, req.amount, req.proof, sender=account)
    assert world.token.balance_of(account) == 5 * UNIT


def test_claim_rejects_wrong_leaves_and_proofs(world: World) -> None:
    tid = world.fund("a")
    tree = post(world, tid, 1, [3 * UNIT, 5 * UNIT, 7 * UNIT])
    account, req = claim_request(tree, tid, 1, 2)
    escrow = world.escrow
    with reverts("TaskEscrow: invalid proof"):
        escrow.claim(tid, 1, req.index, account, req.amount + 1, req.proof, sender=OTHER)
    with reverts("TaskEscrow: invalid proof"):
        escrow.claim(tid, 1, req.index, OTHER, req.amount, req.proof, sender=OTHER)
    with reverts("TaskEscrow: invalid proof"):
        escrow.claim(tid, 1, 0, account, req.amount, req.proof, sender=OTHER)
    with reverts("TaskEscrow: invalid proof"):
        escrow.claim(tid, 1, req.index, account, req.amount, req.proof[:-1], sender=OTHER)
    with reverts("TaskEscrow: unknown payout"):
        escrow.claim(tid, 2, req.index, account, req.amount, req.proof, sender=OTHER)
    with reverts("TaskEscrow: unknown payout"):
        escrow.claim(task_id("b"), 1, req.index, account, req.amount, req.proof, sender=OTHER)
    with reverts("TaskEscrow: zero amount"):
        escrow.claim(tid, 1, req.index, account, 0, req.proof, sender=OTHER)
    assert world.token.balance_of(account) == 0


def test_overcommitting_root_pays_at_most_its_total(world: World) -> None:
    tid = world.fund("a", 1000 * UNIT)
    other_tid = world.fund("b", 1000 * UNIT)
    tree = payout_tree([60 * UNIT, 60 * UNIT])  # leaves sum to 120 ...
    world.escrow.post_payout(
        tid, 1, tree.root, 100 * UNIT, 0, CID, sender=OPERATOR
    )  # ... total 100
    first, req = claim_request(tree, tid, 1, 0)
    world.escrow.claim(tid, 1, req.index, first, req.amount, req.proof, sender=OTHER)
    second, req = claim_request(tree, tid, 1, 1)
    with reverts("TaskEscrow: claim exceeds payout"):
        world.escrow.claim(tid, 1, req.index, second, req.amount, req.proof, sender=OTHER)
    assert world.escrow.task(other_tid).unallocated == 1000 * UNIT
    assert world.token.balance_of(world.escrow.address) == 1940 * UNIT


def test_claim_many_across_tasks_epochs_and_tokens(world: World) -> None:
    other_token = world.mock_token(0)
    t1, t2, t3 = world.fund("a"), world.fund("b"), world.fund("c", 10**24, token=other_token)
    trees = {
        (t1, 1): post(world, t1, 1, [UNIT, 2 * UNIT]),
        (t1, 2): post(world, t1, 2, [3 * UNIT, 4 * UNIT]),
        (t2, 1): post(world, t2, 1, [5 * UNIT, 6 * UNIT]),
        (t3, 1): post(world, t3, 1, [7 * UNIT, 8 * UNIT]),
    }
    account = addr(0x1001)  # index 1 of every tree
    requests = [claim_request(tree, tid, epoch, 1)[1] for (tid, epoch), tree in trees.items()]
    receipt = world.escrow.claim_many(account, requests, sender=OTHER)
    assert world.token.balance_of(account) == 12 * UNIT
    assert other_token.balance_of(account) == 8 * UNIT
    assert len(world.escrow.contract.decode_logs(receipt.logs, "Claimed")) == 4
    transfers = [log for log in receipt.logs if log.address != world.escrow.address]
    assert len(transfers) == 2  # one transfer per run of claims in the same token
    with reverts("TaskEscrow: already claimed"):
        world.escrow.claim_many(account, requests[:1], sender=OTHER)


def test_claim_many_is_all_or_nothing(world: World) -> None:
    tid = world.fund("a")
    tree = post(world, tid, 1, [UNIT, 2 * UNIT])
    good = claim_request(tree, tid, 1, 1)[1]
    bad = ClaimRequest(tid, 1, 0, UNIT, good.proof)
    with reverts("TaskEscrow: invalid proof"):
        world.escrow.claim_many(addr(0x1001), [good, bad], sender=OTHER)
    assert not world.escrow.is_claimed(tid, 1, 1)
    zero = ClaimRequest(tid, 1, 1, 0, good.proof)
    with reverts("TaskEscrow: zero amount"):
        world.escrow.claim_many(addr(0x1001), [zero], sender=OTHER)
    with reverts("TaskEscrow: no claims"):
        world.chain.transact(world.escrow.contract, "claim_many", addr(0x1001), [], sender=OTHER)


def test_claim_of_a_failing_token_reverts(world: World) -> None:
    flaky = world.mock_token(0)
    tid = world.fund("a", 1000, token=flaky)
    tree = post(world, tid, 1, [10, 20])
    world.chain.transact(flaky.contract, "set_mode", 2, sender=OWNER)  # transfers return false
    account, req = claim_request(tree, tid, 1, 0)
    with reverts("TaskEscrow: token transfer failed"):
        world.escrow.claim(tid, 1, req.index, account, req.amount, req.proof, sender=OTHER)
    assert not world.escrow.is_claimed(tid, 1, 0)
    world.chain.transact(flaky.contract, "set_mode", 0, sender=OWNER)
    world.escrow.claim(tid, 1, req.index, account, req.amount, req.proof, sender=OTHER)
    assert flaky.balance_of(account) == 10


# --------------------------------------------------------------------------- refund, fees


def test_refund_after_deadline_returns_the_unallocated_rest(world: World) -> None:
    tid = world.fund("a", 1000 * UNIT)
    tree = post(world, tid, 1, [100 * UNIT], fee=2 * UNIT)
    with reverts("TaskEscrow: deadline not reached"):
        world.escrow.refund(tid, sender=REQUESTER)
    world.chain.advance_time(DEADLINE - world.chain.timestamp() + 1)
    with reverts("TaskEscrow: not the requester"):
        world.escrow.refund(tid, sender=OTHER)
    before = world.token.balance_of(REQUESTER)
    world.escrow.refund(tid, sender=REQUESTER)
    assert world.token.balance_of(REQUESTER) - before == 898 * UNIT
    assert world.escrow.task(tid).unallocated == 0
    (event,) = world.escrow.events("Refunded", task_id=tid)
    assert event.args["amount"] == 898 * UNIT
    with reverts("TaskEscrow: nothing to refund"):
        world.escrow.refund(tid, sender=REQUESTER)
    with reverts("TaskEscrow: unknown task"):
        world.escrow.refund(task_id("none"), sender=REQUESTER)
    account, req = claim_request(tree, tid, 1, 0)
    world.escrow.claim(tid, 1, req.index, account, req.amount, req.proof, sender=OTHER)
    assert world.token.balance_of(account) == 100 * UNIT  # posted payouts survive the refund


def test_fees_go_to_the_recipient(world: World) -> None:
    tid = world.fund("a")
    post(world, tid, 1, [100 * UNIT], fee=2 * UNIT)
    world.escrow.withdraw_fees(world.token.address, sender=OTHER)
    assert world.token.balance_of(FEES) == 2 * UNIT
    assert world.escrow.fees_owed(world.token.address) == 0
    with reverts("TaskEscrow: no fees"):
        world.escrow.withdraw_fees(world.token.address, sender=OTHER)
    post(world, tid, 2, [100 * UNIT], fee=UNIT)
    assert world.escrow.fees_owed(world.token.address) == UNIT
    (event,) = world.escrow.events("FeesWithdrawn")
    assert event.args["amount"] == 2 * UNIT and event.args["recipient"].lower() == FEES.lower()


# --------------------------------------------------------------------------- re-entrancy


def _calldata(signature: str, types: list[str], values: list[object]) -> bytes:
    return function_signature_to_4byte_selector(signature) + encode(types, values)


def test_reentering_token_gains_nothing_on_claim(world: World) -> None:
    evil = world.mock_token(3)
    tid = world.fund("evil", 1000, token=evil)
    tree = post(world, tid, 1, [100, 200])
    account, req = claim_request(tree, tid, 1, 0)
    proof = [bytes(p) for p in req.proof]
    again = _calldata(
        "claim(bytes32,uint256,uint256,address,uint256,bytes32[])",
        ["bytes32", "uint256", "uint256", "address", "uint256", "bytes32[]"],
        [tid, 1, req.index, account, req.amount, proof],
    )
    world.chain.transact(evil.contract, "set_hook", world.escrow.address, again, sender=OWNER)
    world.escrow.claim(tid, 1, req.index, account, req.amount, req.proof, sender=OTHER)
    assert world.chain.call(evil.contract, "hook_calls") == 1
    assert world.chain.call(evil.contract, "hook_successes") == 0
    assert evil.balance_of(account) == 100
    assert world.escrow.task(tid).outstanding == 200


def test_reentering_token_gains_nothing_on_fund_and_refund(world: World) -> None:
    evil = world.mock_token(3)
    tid = world.fund("evil", 1000, token=evil)
    refund = _calldata("refund(bytes32)", ["bytes32"], [tid])
    world.chain.transact(evil.contract, "set_hook", world.escrow.address, refund, sender=OWNER)
    evil.approve(world.escrow.address, 500, sender=REQUESTER)
    world.escrow.fund(tid, evil.address, 500, DEADLINE, GOLD, sender=REQUESTER, approve=False)
    assert world.escrow.task(tid).deposited == 1500
    world.chain.advance_time(DEADLINE - world.chain.timestamp() + 1)
    world.escrow.refund(tid, sender=REQUESTER)  # the token re-enters refund during the payout
    assert world.chain.call(evil.contract, "hook_successes") == 0
    assert evil.balance_of(world.escrow.address) == 0
    assert evil.balance_of(REQUESTER) == 10**30


# --------------------------------------------------------------------------- royalty promise


def test_fund_with_royalty_records_the_promise_once(world: World) -> None:
    tid = task_id("promise")
    world.escrow.fund(
        tid, world.token.address, UNIT, DEADLINE, GOLD, sender=REQUESTER, royalty_bps=3000
    )
    assert world.escrow.royalty_promise(tid) == 3000
    (event,) = world.escrow.events("RoyaltyPromised", task_id=tid)
    assert event.args["royalty_bps"] == 3000
    assert event.args["requester"].lower() == REQUESTER.lower()
    # a top-up repeats the promise, through either entry point
    world.escrow.fund(
        tid, world.token.address, UNIT, DEADLINE, GOLD, sender=REQUESTER, royalty_bps=3000
    )
    world.escrow.fund(tid, world.token.address, UNIT, DEADLINE, GOLD, sender=REQUESTER)
    assert world.escrow.royalty_promise(tid) == 3000
    assert world.escrow.task(tid).deposited == 3 * UNIT
    assert len(world.escrow.events("RoyaltyPromised", task_id=tid)) == 1


def test_plain_fund_promises_nothing(world: World) -> None:
    tid = world.fund("plain", UNIT)
    assert world.escrow.royalty_promise(tid) == 0
    assert world.escrow.events("RoyaltyPromised", task_id=tid) == []


@pytest.mark.parametrize(
    ("bps", "reason"),
    [
        (9_501, "TaskEscrow: royalty promise above 95%"),
        (2_000, "TaskEscrow: royalty promise mismatch"),
    ],
)
def test_fund_with_royalty_rejects(world: World, bps: int, reason: str) -> None:
    tid = task_id("promise")
    world.escrow.fund(
        tid, world.token.address, UNIT, DEADLINE, GOLD, sender=REQUESTER, royalty_bps=3000
    )
    world.token.approve(world.escrow.address, UNIT, sender=REQUESTER)
    with reverts(reason):
        world.chain.transact(
            world.escrow.contract,
            "fund_with_royalty",
            tid,
            world.token.address,
            UNIT,
            DEADLINE,
            GOLD,
            bps,
            sender=REQUESTER,
        )
    assert world.escrow.royalty_promise(tid) == 3000
    assert world.escrow.task(tid).deposited == UNIT


def test_fund_with_royalty_top_up_by_another_is_refused(world: World) -> None:
    tid = task_id("promise")
    world.escrow.fund(
        tid, world.token.address, UNIT, DEADLINE, GOLD, sender=REQUESTER, royalty_bps=3000
    )
    world.token.mint(OTHER, UNIT, sender=OWNER)
    world.token.approve(world.escrow.address, UNIT, sender=OTHER)
    with reverts("TaskEscrow: not the requester"):
        world.chain.transact(
            world.escrow.contract,
            "fund_with_royalty",
            tid,
            world.token.address,
            UNIT,
            DEADLINE,
            GOLD,
            3000,
            sender=OTHER,
        )


def test_fund_with_royalty_exact_gas(world: World) -> None:
    """A new task with a promise: one more zero-to-nonzero slot and the RoyaltyPromised log."""
    world.token.approve(world.escrow.address, 10**30, sender=REQUESTER)
    receipt = world.escrow.fund(
        task_id("g2"),
        world.token.address,
        10**6 * UNIT,
        DEADLINE,
        GOLD,
        sender=REQUESTER,
        approve=False,
        royalty_bps=3000,
    )
    assert receipt.gas_used == 224_515


# --------------------------------------------------------------------------- gas


def test_exact_gas(world: World) -> None:
    """Whole-transaction gas (intrinsic and calldata included) of the three money paths."""
    world.token.approve(world.escrow.address, 10**30, sender=REQUESTER)
    escrow = world.escrow
    fund = escrow.fund(
        task_id("g1"),
        world.token.address,
        10**6 * UNIT,
        DEADLINE,
        GOLD,
        sender=REQUESTER,
        approve=False,
    )
    tid = task_id("g1")
    tree = payout_tree([UNIT + i for i in range(1024)])
    first_post = escrow.post_tree(tid, 1, tree, UNIT, CID, sender=OPERATOR)
    post = escrow.post_tree(tid, 2, tree, UNIT, CID, sender=OPERATOR)
    gas = {
        "fund": fund.gas_used,
        "post_payout (first)": first_post.gas_used,
        "post_payout": post.gas_used,
    }
    for label, position in (("claim (new word)", 300), ("claim (used word)", 301)):
        account, req = claim_request(tree, tid, 2, position)
        gas[label] = escrow.claim(
            tid, 2, req.index, account, req.amount, req.proof, sender=account
        ).gas_used
    assert gas == {
        "fund": 200_181,  # 86 more since `fund` wraps `_fund` (shared with fund_with_royalty)
        "post_payout (first)": 87_314,  # the token's first fee: a zero-to-nonzero write
        "post_payout": 70_214,
        "claim (new word)": 95_709,  # first claim in a 256-leaf bitmap word
        "claim (used word)": 78_645,
    }
    assert gas["post_payout"] <= 80_000


def test_claim_many_marginal_gas(world: World) -> None:
    tid = world.fund("m", 10**6 * UNIT)
    trees = [post(world, tid, epoch, [UNIT + i for i in range(1024)]) for epoch in range(1, 6)]
    requests = [claim_request(tree, tid, e + 1, 5)[1] for e, tree in enumerate(trees)]
    account = addr(0x1005)
    one = world.chain.snapshot()
    single = world.escrow.claim_many(account, requests[:1], sender=account).gas_used
    world.chain.revert(one)
    five = world.escrow.claim_many(account, requests, sender=account).gas_used
    marginal = (five - single) // 4
    assert (single, marginal) == (103_632, 37_111)
    assert marginal <= 45_000


def test_second_deployment_is_independent() -> None:
    chain = EmbeddedChain(None)
    first = deploy_all(chain, OWNER)
    second = deploy_all(chain, OWNER)
    assert first.addresses["TaskEscrow"] != second.addresses["TaskEscrow"]
