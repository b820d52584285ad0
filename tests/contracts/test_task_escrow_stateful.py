"""Hypothesis state machine over TaskEscrow: the money invariants hold after every step.

A Python model predicts each action's outcome (success or the exact revert reason); after every
step, for every task: deposits = claimed + fees + refunded + held (unallocated + outstanding);
the escrow's token balance equals what it holds plus unwithdrawn fees; no leaf is paid twice;
claims never exceed what the task's roots committed; the fee rate never exceeds the cap.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from datafair.chain.embedded import Head
from datafair.chain.escrow import claim_request
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
    World,
    make_world,
    payout_tree,
    task_id,
)

TASKS = [task_id(f"s{i}") for i in range(2)]
ACTORS = [OWNER, OPERATOR, REQUESTER, OTHER]


@dataclass
class TaskModel:
    deposited: int = 0
    unallocated: int = 0
    outstanding: int = 0
    claimed: int = 0
    fees: int = 0
    refunded: int = 0
    committed: int = 0
    roots: dict[int, tuple[StandardMerkleTree, int]] = field(default_factory=dict)


_WORLD: World | None = None
_START: Head | None = None


def _fresh_world() -> World:
    """One deployment per process, rewound to its start for every example."""
    global _WORLD, _START
    if _WORLD is None:
        _WORLD = make_world()
        _WORLD.token.approve(_WORLD.escrow.address, 10**40, sender=REQUESTER)
        _START = _WORLD.chain.snapshot()
    assert _START is not None
    _WORLD.chain.revert(_START)
    return _WORLD


class EscrowMachine(RuleBasedStateMachine):
    """Random funding, posting, claiming, refunding and fee changes by random actors."""

    @initialize()
    def setup(self) -> None:
        self.world = _fresh_world()
        self.tasks: dict[bytes, TaskModel] = {}
        self.paid: set[tuple[bytes, int, int]] = set()
        self.fee_bps = 250
        self.fees_owed = 0
        self.after_deadline = False

    def expect(self, reason: str | None, action: object) -> bool:
        """Run ``action``; it must succeed (``reason`` None) or revert with ``reason``."""
        if reason is None:
            action()  # type: ignore[operator]
            return True
        with pytest.raises(ChainError, match=f"reverted: {reason}$"):
            action()  # type: ignore[operator]
        return False

    @rule(
        task=st.sampled_from(TASKS),
        amount=st.integers(0, 10**6),
        sender=st.sampled_from([REQUESTER, OTHER]),
    )
    def fund(self, task: bytes, amount: int, sender: str) -> None:
        model = self.tasks.get(task)
        reason = None
        if amount == 0:
            reason = "TaskEscrow: zero amount"
        elif self.after_deadline:
            reason = "TaskEscrow: deadline in the past"
        elif model is not None and sender != REQUESTER:
            reason = "TaskEscrow: not the requester"
        elif sender != REQUESTER:
            reason = "erc20: insufficient allowance"
        chain, escrow, token = self.world.chain, self.world.escrow, self.world.token
        ok = self.expect(
            reason,
            lambda: chain.transact(
                escrow.contract, "fund", task, token.address, amount, DEADLINE, GOLD, sender=sender
            ),
        )
        if ok:
            model = self.tasks.setdefault(task, TaskModel())
            model.deposited += amount
            model.unallocated += amount

    @rule(
        task=st.sampled_from(TASKS),
        epoch=st.integers(1, 3),
        amounts=st.lists(st.integers(1, 10**5), min_size=1, max_size=4),
        declared_extra=st.integers(-(10**5), 10**3),
        fee_part=st.integers(0, 600),
        sender=st.sampled_from([OPERATOR, OTHER]),
    )
    def post(
        self,
        task: bytes,
        epoch: int,
        amounts: list[int],
        declared_extra: int,
        fee_part: int,
        sender: str,
    ) -> None:
        tree = payout_tree(amounts, first_account=0x2000 + 16 * epoch)
        total = max(
            1, sum(amounts) + declared_extra
        )  # may be below the leaves: an overcommitting root
        fee = total * fee_part // 10_000
        model = self.tasks.get(task)
        reason = None
        if sender != OPERATOR:
            reason = "TaskEscrow: caller is not an operator"
        elif fee * 10_000 > (total + fee) * self.fee_bps:
            reason = "TaskEscrow: fee above rate"
        elif model is None:
            reason = "TaskEscrow: unknown task"
        elif epoch in model.roots:
            reason = "TaskEscrow: epoch already posted"
        elif total + fee > model.unallocated:
            reason = "TaskEscrow: payout exceeds unallocated balance"
        escrow = self.world.escrow
        if self.expect(
            reason,
            lambda: escrow.post_payout(task, epoch, tree.root, total, fee, CID, sender=sender),
        ):
            assert model is not None
            model.roots[epoch] = (tree, total)
            model.unallocated -= total + fee
            model.outstanding += total
            model.committed += total
            model.fees += fee
            self.fees_owed += fee

    @rule(
        task=st.sampled_from(TASKS),
        epoch=st.integers(1, 3),
        position=st.integers(0, 3),
        sender=st.sampled_from(ACTORS),
    )
    def claim(self, task: bytes, epoch: int, position: int, sender: str) -> None:
        model = self.tasks.get(task)
        if model is None or epoch not in model.roots:
            return
        tree, _ = model.roots[epoch]
        position = position % len(tree)
        account, request = claim_request(tree, task, epoch, position)
        reason = None
        if (task, epoch, request.index) in self.paid:
            reason = "TaskEscrow: already claimed"
        elif request.amount > model.outstanding:
            reason = "TaskEscrow: claim exceeds payout"
        escrow = self.world.escrow
        before = self.world.token.balance_of(account)
        ok = self.expect(
            reason,
            lambda: escrow.claim(
                task, epoch, request.index, account, request.amount, request.proof, sender=sender
            ),
        )
        paid = self.world.token.balance_of(account) - before
        assert paid == (request.amount if ok else 0)
        if ok:
            self.paid.add((task, epoch, request.index))
            model.outstanding -= request.amount
            model.claimed += request.amount

    @rule(task=st.sampled_from(TASKS), sender=st.sampled_from([REQUESTER, OTHER]))
    def refund(self, task: bytes, sender: str) -> None:
        model = self.tasks.get(task)
        reason = None
        if model is None:
            reason = "TaskEscrow: unknown task"
        elif sender != REQUESTER:
            reason = "TaskEscrow: not the requester"
        elif not self.after_deadline:
            reason = "TaskEscrow: deadline not reached"
        elif model.unallocated == 0:
            reason = "TaskEscrow: nothing to refund"
        if self.expect(reason, lambda: self.world.escrow.refund(task, sender=sender)):
            assert model is not None
            model.refunded += model.unallocated
            model.unallocated = 0

    @rule()
    def pass_deadline(self) -> None:
        if not self.after_deadline:
            chain = self.world.chain
            chain.advance_time(DEADLINE - chain.timestamp() + 1)
            self.after_deadline = True

    @rule(bps=st.integers(0, 1000), sender=st.sampled_from([OWNER, OPERATOR]))
    def set_fee(self, bps: int, sender: str) -> None:
        reason = None
        if sender != OWNER:
            reason = "TaskEscrow: caller is not the owner"
        elif bps > 500:
            reason = "TaskEscrow: fee above cap"
        if self.expect(reason, lambda: self.world.escrow.set_fee_bps(bps, sender=sender)):
            self.fee_bps = bps

    @rule()
    def withdraw(self) -> None:
        reason = None if self.fees_owed else "TaskEscrow: no fees"
        before = self.world.token.balance_of(FEES)
        if self.expect(
            reason, lambda: self.world.escrow.withdraw_fees(self.world.token.address, sender=OTHER)
        ):
            assert self.world.token.balance_of(FEES) - before == self.fees_owed
            self.fees_owed = 0

    @invariant()
    def money_is_conserved(self) -> None:
        if not hasattr(self, "world"):
            return
        escrow = self.world.escrow
        held = 0
        for task, model in self.tasks.items():
            state = escrow.task(task)
            assert (state.deposited, state.unallocated, state.outstanding) == (
                model.deposited,
                model.unallocated,
                model.outstanding,
            )
            assert state.deposited == (
                model.claimed + model.fees + model.refunded + state.unallocated + state.outstanding
            )
            assert model.claimed <= model.committed
            held += state.unallocated + state.outstanding
        token = self.world.token.address
        assert escrow.fees_owed(token) == self.fees_owed
        assert self.world.token.balance_of(escrow.address) == held + self.fees_owed
        assert escrow.fee_bps() == self.fee_bps <= escrow.max_fee_bps() == 500


EscrowMachine.TestCase.settings = settings(
    max_examples=20,
    stateful_step_count=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_escrow_invariants = EscrowMachine.TestCase
