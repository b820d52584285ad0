"""The end-to-end money scenario run on every chain: fund → post → claims → refund."""

from __future__ import annotations

from dataclasses import dataclass

from eth_utils.crypto import keccak

from datafair.chain.base import Chain, Sender
from datafair.chain.deploy import contract, deploy_all
from datafair.chain.escrow import EscrowClient, claim_request
from datafair.chain.tokens import TokenClient
from datafair.core.errors import ChainError
from datafair.crypto.merkle import PAYOUT_LEAF_ENCODING, StandardMerkleTree

UNIT = 10**18
CID = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"


@dataclass
class Outcome:
    """What the scenario measured, for comparing chains."""

    gas: dict[str, int]
    balances: dict[str, int]
    errors: list[str]
    state_after: tuple[int, int, int]


def run_scenario(
    chain: Chain, owner: Sender, requester: Sender, evm_version: str | None = None
) -> Outcome:
    """Deploy, fund a task, post two epochs, claim singly and in bulk, refund after the deadline.

    The contracts are compiled for ``evm_version`` (Vyper's default when ``None``).
    """
    deployment = deploy_all(chain, owner, fee_bps=200, evm_version=evm_version)
    escrow = EscrowClient(chain, deployment)
    token = TokenClient(chain, contract(chain, deployment, "DevToken"))
    requester_address = requester if isinstance(requester, str) else requester.address
    token.mint(requester_address, 1000 * UNIT, sender=owner)
    tid = keccak(text="scenario task")
    # No zero byte in the deadline's four low bytes: calldata gas depends on zero bytes, and the
    # chains' clocks differ, so a plain "now + 3600" would cost 12 gas less on one of them now
    # and then.
    deadline = (chain.timestamp() + 3600) | 0x01010101
    gas: dict[str, int] = {}
    gas["fund"] = escrow.fund(
        tid, token.address, 500 * UNIT, deadline, keccak(text="gold"), sender=requester
    ).gas_used
    accounts = ["0x" + f"{0xC0DE00 + i:040x}" for i in range(6)]
    trees = {}
    for epoch in (1, 2):
        leaves = [(i, a, (epoch * 10 + i) * UNIT) for i, a in enumerate(accounts)]
        tree = StandardMerkleTree.of(leaves, PAYOUT_LEAF_ENCODING)
        total = sum(v[2] for v in leaves)
        fee = total * 200 // 9800
        gas[f"post_payout {epoch}"] = escrow.post_payout(
            tid, epoch, tree.root, total, fee, CID, sender=owner
        ).gas_used
        trees[epoch] = tree
    for position in (0, 1):
        account, req = claim_request(trees[1], tid, 1, position)
        gas[f"claim {position}"] = escrow.claim(
            tid, 1, req.index, account, req.amount, req.proof, sender=owner
        ).gas_used
    bulk_account = accounts[2]
    requests = [claim_request(trees[e], tid, e, 2)[1] for e in (1, 2)]
    gas["claim_many 2"] = escrow.claim_many(bulk_account, requests, sender=owner).gas_used
    errors = []
    account, req = claim_request(trees[1], tid, 1, 0)
    for attempt in (
        lambda: escrow.claim(tid, 1, req.index, account, req.amount, req.proof, sender=owner),
        lambda: escrow.refund(tid, sender=requester),
        lambda: escrow.post_payout(tid, 3, b"\x01" * 32, 10**30, 0, CID, sender=owner),
    ):
        try:
            attempt()
        except ChainError as error:
            errors.append(str(error))
    chain.advance_time(deadline - chain.timestamp() + 1)
    gas["refund"] = escrow.refund(tid, sender=requester).gas_used
    state = escrow.task(tid)
    balances = {a: token.balance_of(a) for a in accounts[:3]}
    balances["requester"] = token.balance_of(requester_address)
    balances["escrow"] = token.balance_of(escrow.address)
    return Outcome(gas, balances, errors, (state.deposited, state.unallocated, state.outstanding))


EXPECTED_ERRORS = [
    "TaskEscrow.claim reverted: TaskEscrow: already claimed",
    "TaskEscrow.refund reverted: TaskEscrow: deadline not reached",
    "TaskEscrow.post_payout reverted: TaskEscrow: payout exceeds unallocated balance",
]


def check_outcome(outcome: Outcome) -> None:
    """The balances and errors every chain must produce."""
    assert outcome.errors == EXPECTED_ERRORS
    assert outcome.balances["0x" + f"{0xC0DE00:040x}"] == 10 * UNIT
    assert outcome.balances["0x" + f"{0xC0DE01:040x}"] == 11 * UNIT
    assert outcome.balances["0x" + f"{0xC0DE02:040x}"] == (12 + 22) * UNIT
    posted = sum((e * 10 + i) for e in (1, 2) for i in range(6)) * UNIT
    fees = sum(sum((e * 10 + i) for i in range(6)) * UNIT * 200 // 9800 for e in (1, 2))
    claimed = (10 + 11 + 12 + 22) * UNIT
    deposited, unallocated, outstanding = outcome.state_after
    assert deposited == 500 * UNIT and unallocated == 0
    assert outstanding == posted - claimed
    assert outcome.balances["requester"] == 500 * UNIT + (500 * UNIT - posted - fees)
    assert outcome.balances["escrow"] == outstanding + fees
