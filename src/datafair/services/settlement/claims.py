"""Claims: pay an account every leaf it holds in posted payout trees, each exactly once.

Inputs: an open ``Session`` (the ``payout_leaves`` of posted epochs), an
:class:`~datafair.chain.escrow.EscrowClient`, the account's address and the sender of the
transaction (anyone may send a claim; the tokens always go to the leaf's account).

For every posted epoch (state ``posted`` or ``done``) holding a leaf of the account, the tree is
rebuilt from the stored leaves and checked against the stored root, the proof is taken from it
(OpenZeppelin StandardMerkleTree layout, :mod:`datafair.crypto.merkle`), and leaves the escrow
already marks as claimed (``is_claimed``) are skipped. One leaf is claimed with ``claim``,
several with ``claim_many`` in transactions of at most 32 claims; the escrow's claim bitmap
refuses any leaf twice, so rerunning after a crash only sends what is still unpaid.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from datafair.chain.base import Sender, address_of
from datafair.chain.escrow import MAX_CLAIMS, ClaimRequest, EscrowClient
from datafair.core.errors import Conflict
from datafair.crypto.merkle import StandardMerkleTree
from datafair.services.settlement.bundle import payout_tree
from datafair.services.tasks import load_task
from datafair.store.repositories.settlement import SettlementRepository


@dataclass(frozen=True)
class ClaimReport:
    """What ``claim_all`` paid to ``account``: the claims, their sum and the transactions."""

    account: str
    claims: tuple[ClaimRequest, ...]
    amount: int
    tx_hashes: tuple[str, ...]
    already_claimed: int


def _trees(session: Session, settlement_ids: list[int]) -> dict[int, StandardMerkleTree]:
    leaves = SettlementRepository(session).leaves_of(settlement_ids)
    return {sid: payout_tree(values) for sid, values in leaves.items()}


def claimable(
    session: Session, escrow: EscrowClient, account: str
) -> tuple[list[ClaimRequest], int]:
    """The account's unclaimed leaves with proofs, and how many leaves were already claimed."""
    address = address_of(account)
    rows = SettlementRepository(session).posted_leaves_of(address, escrow.address)
    trees = _trees(session, sorted({settlement.id for settlement, *_ in rows}))
    requests: list[ClaimRequest] = []
    claimed = 0
    for settlement, task_id, index, amount in rows:
        tree = trees[settlement.id]
        if tree.root != settlement.root:
            raise Conflict(
                f"task 0x{task_id.hex()} epoch {settlement.epoch}: stored leaves do not hash to "
                "the posted root; rerun `datafair settle` for it"
            )
        if escrow.is_claimed(task_id, settlement.epoch, index):
            claimed += 1
            continue
        requests.append(
            ClaimRequest(task_id, settlement.epoch, index, amount, tuple(tree.proof(index)))
        )
    return requests, claimed


def claim_all(
    session: Session, escrow: EscrowClient, account: str, *, sender: Sender
) -> ClaimReport:
    """Claim every unclaimed leaf of ``account`` (see the module docstring)."""
    address = address_of(account)
    requests, already = claimable(session, escrow, address)
    hashes: list[str] = []
    if len(requests) == 1:
        only = requests[0]
        receipt = escrow.claim(
            only.task_id, only.epoch, only.index, address, only.amount, only.proof, sender=sender
        )
        hashes.append(receipt.tx_hash)
    else:
        for start in range(0, len(requests), MAX_CLAIMS):
            batch = requests[start : start + MAX_CLAIMS]
            hashes.append(escrow.claim_many(address, batch, sender=sender).tx_hash)
    return ClaimReport(
        account=address,
        claims=tuple(requests),
        amount=sum(request.amount for request in requests),
        tx_hashes=tuple(hashes),
        already_claimed=already,
    )


def payout_amounts(session: Session, task_id: bytes | str) -> dict[str, int]:
    """What each account was allotted by the task's posted epochs (claimed or not), summed."""
    task = load_task(session, task_id)
    return SettlementRepository(session).posted_amounts(task.id)
