"""The money half of the demo round, on the embedded chain in the data directory.

Inputs: a :class:`~datafair.node.Node` (its embedded chain lives in ``settings.chain_dir``), an
open ``Session``, the blob store, the task, the simulated population and the requester's
address. Steps: deploy the contracts once per data directory (DevToken, TaskEscrow,
DatasetRegistry) → mint dev tokens to the requester → fund the task's full budget (price × k ×
items) with its gold commitment (a Merkle root over one salted leaf per gold item) → (labelling
happens in between) → settle the epoch (inference, rewards, fee, Merkle root posted with the
bundle CID) → every contributor claims → after the deadline the requester takes back the rest →
the bundle is audited against the chain (each gold item it reveals opens the commitment with its
Merkle proof; those items are retired). Every amount is read back from the chain.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from datafair.core.task import TaskSpec
from datafair.node import Node
from datafair.services.settlement.audit import audit_bundle
from datafair.services.settlement.claims import claim_all, payout_amounts
from datafair.services.settlement.funding import fund_task, refund_task
from datafair.services.settlement.settle import settle_task
from datafair.sim import ContributorKind, Population
from datafair.store.blobs import BlobStore

OPERATOR = "0x" + "d0" * 20
"""The embedded chain's operator and contract owner in the demo (any address can send there)."""


@dataclass
class MoneyFlow:
    """Where the requester's money went, as the chain reports it."""

    token: str = ""
    escrow: str = ""
    funded: int = 0
    paid_by_kind: dict[str, int] = field(default_factory=dict)
    paid_by_address: dict[str, int] = field(default_factory=dict)
    fee: int = 0
    refunded: int = 0
    still_held: int = 0
    epoch: int = 0
    bundle_cid: str = ""
    root: str = ""
    claims: int = 0
    audit_ok: bool = False
    gold_revealed: int = 0
    """Gold items the bundle revealed (each checked against the commitment), now retired."""

    @property
    def paid(self) -> int:
        return sum(self.paid_by_kind.values())

    @property
    def contributor_share(self) -> float:
        """Share of what the requester spent (paid out plus fee) that reached contributors."""
        spent = self.paid + self.fee
        return self.paid / spent if spent else 0.0

    @property
    def conserved(self) -> bool:
        """funded = paid + fee + refunded + still held (the escrow's conservation rule)."""
        return self.funded == self.paid + self.fee + self.refunded + self.still_held

    def as_dict(self) -> dict[str, Any]:
        return {
            "funded": self.funded,
            "paid_by_kind": dict(self.paid_by_kind),
            "fee": self.fee,
            "refunded": self.refunded,
            "still_held": self.still_held,
            "contributor_share": self.contributor_share,
            "audit_ok": self.audit_ok,
            "epoch": self.epoch,
            "bundle_cid": self.bundle_cid,
            "root": self.root,
            "claims": self.claims,
            "gold_revealed": self.gold_revealed,
            "token": self.token,
            "escrow": self.escrow,
        }


class DemoMarket:
    """The demo's chain, contracts and requester; one instance per demo run."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.chain = node.chain
        self.deployment = node.ensure_deployment(OPERATOR)
        self.escrow = node.escrow
        self.token = self.escrow.token(self.deployment.address("DevToken"))
        self.flow = MoneyFlow(token=self.token.address, escrow=self.escrow.address)

    def fund(self, session: Session, spec: TaskSpec, n_items: int, requester: str) -> None:
        """Mint the task's full budget to the requester and fund the escrow with it."""
        budget = spec.price_per_answer * spec.overlap * n_items
        self.token.mint(requester, budget, sender=self.deployment.owner)
        deadline = max(spec.deadline, self.chain.timestamp() + 3600)
        fund_task(session, self.escrow, spec.task_id, budget, sender=requester, deadline=deadline)
        self.flow.funded = budget

    def settle_claim_refund_audit(
        self,
        session: Session,
        blobs: BlobStore,
        spec: TaskSpec,
        population: Population,
        requester: str,
        method: str,
    ) -> MoneyFlow:
        """Settle one epoch, let everyone claim, refund the rest, audit; the money flow."""
        report = settle_task(
            session, self.escrow, blobs, spec.task_id, sender=self.deployment.owner, method=method
        )
        self.flow.epoch = report.epoch
        self.flow.bundle_cid = report.bundle_cid or ""
        self.flow.root = "0x" + report.root.hex() if report.root else ""
        self.flow.fee = report.fee
        amounts = {
            address.lower(): amount
            for address, amount in payout_amounts(session, spec.task_id).items()
        }
        paid: Counter[str] = Counter({str(kind): 0 for kind in ContributorKind})
        for contributor in population.contributors:
            if amounts.get(contributor.address, 0) == 0:
                continue
            before = self.token.balance_of(contributor.address)
            claimed = claim_all(
                session, self.escrow, contributor.address, sender=contributor.address
            )
            self.flow.claims += len(claimed.claims)
            received = self.token.balance_of(contributor.address) - before
            paid[str(contributor.kind)] += received
            self.flow.paid_by_address[contributor.address] = received
        self.flow.paid_by_kind = dict(paid)
        state = self.escrow.task(spec.task_id)
        if state.deadline >= self.chain.timestamp():
            self.chain.advance_time(state.deadline - self.chain.timestamp() + 1)
        before = self.token.balance_of(requester)
        refund_task(self.escrow, spec.task_id, sender=requester)
        self.flow.refunded = self.token.balance_of(requester) - before
        after = self.escrow.task(spec.task_id)
        self.flow.still_held = after.unallocated + after.outstanding
        if report.bundle_cid:
            audit = audit_bundle(
                blobs.get(report.bundle_cid), self.escrow, expected_cid=report.bundle_cid
            )
            self.flow.audit_ok = True
            self.flow.gold_revealed = audit.gold_revealed_now
        return self.flow
