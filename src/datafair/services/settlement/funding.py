"""Fund a task on the escrow with a commitment to its gold answers; refund the rest later.

Inputs: an open ``Session``; an :class:`~datafair.chain.escrow.EscrowClient`; the task id; an
amount in token base units; the sender (the requester's address on the embedded chain, or an
unlocked account / its address on an RPC chain); optionally the deadline (Unix seconds; default
the task spec's) and the token (default the spec's ``token``).

Order of effects, so that a crash never loses money or the ability to settle:

1. the gold secret (from which each gold item's salt is derived) and the commitment (the root
   of the per-item gold tree, :mod:`.gold`) are stored and committed first (a rerun reuses
   them: a task is always funded under one commitment, which the escrow also enforces on
   top-ups);
2. the ``fund`` transaction is sent (approving the escrow first if needed);
3. the row is updated from the chain (deposited amount, deadline, transaction hash).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from sqlalchemy.orm import Session

from datafair.chain.base import Receipt, Sender, address_of
from datafair.chain.escrow import EscrowClient, TaskState
from datafair.core.collection import royalty_bps
from datafair.core.errors import Conflict, InvalidInput, NotFound
from datafair.core.ids import parse_task_id
from datafair.core.terms import token_amount, unix_time
from datafair.services.fair_pay import check_funding_price
from datafair.services.settlement.gold import gold_commitment
from datafair.services.tasks import Clock, load_task, now_ms
from datafair.settings import load_settings
from datafair.store.models import Task
from datafair.store.repositories import TaskRepository
from datafair.store.repositories.settlement import SettlementRepository
from datafair.store.settlement_models import TaskFunding


@dataclass(frozen=True)
class FundResult:
    """A funding as the escrow now holds it."""

    task_id: bytes
    token: str
    amount: int
    deadline: int
    gold_commitment: bytes
    deposited: int
    unallocated: int
    tx_hash: str


def _positive(value: int, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InvalidInput(field, f"must be a positive integer, got {value!r}")
    return value


def fund_task(
    session: Session,
    escrow: EscrowClient,
    task_id: bytes | str,
    amount: int,
    *,
    sender: Sender,
    deadline: int | None = None,
    token: str | None = None,
    clock: Clock = time.time,
    salt: bytes | None = None,
    fair_pay_floor: int | None = None,
) -> FundResult:
    """Fund (or top up) ``task_id`` with ``amount``, committing to its gold answers.

    ``salt`` (32 bytes, the gold secret each item's salt is derived from) is drawn from
    ``os.urandom`` unless given (reproducible runs only: a guessable secret lets anyone test
    guesses of the gold answers against the commitment).
    ``fair_pay_floor`` (base units per hour; default ``DATAFAIR_FAIR_PAY_FLOOR``) refuses a
    price that the task's pilot answers show below the floor, naming the price needed.
    """
    prepared = prepare_funding(
        session,
        escrow,
        task_id,
        amount,
        requester=address_of(sender),
        deadline=deadline,
        token=token,
        clock=clock,
        salt=salt,
        fair_pay_floor=fair_pay_floor,
    )
    task, token, chosen_deadline, commitment = (
        prepared.task,
        prepared.token,
        prepared.deadline,
        prepared.gold_commitment,
    )
    funding = prepared.funding
    receipt = escrow.fund(
        task.task_id,
        token,
        amount,
        chosen_deadline,
        commitment,
        sender=sender,
        royalty_bps=prepared.royalty_bps,
    )
    state = escrow.task(task.task_id)
    funding.funded = state.deposited
    funding.deadline = state.deadline
    funding.tx_hash = receipt.tx_hash
    funding.updated_at = now_ms(clock)
    session.commit()
    return FundResult(
        task_id=task.task_id,
        token=token,
        amount=amount,
        deadline=state.deadline,
        gold_commitment=commitment,
        deposited=state.deposited,
        unallocated=state.unallocated,
        tx_hash=receipt.tx_hash,
    )


@dataclass
class PreparedFunding:
    """A task ready to be funded: its row, the funding row (salt and commitment stored), the
    token, the deadline and the gold commitment the ``fund`` call must carry."""

    task: Task
    funding: TaskFunding
    token: str
    deadline: int
    gold_commitment: bytes
    royalty_bps: int | None = None


def prepare_funding(
    session: Session,
    escrow: EscrowClient,
    task_id: bytes | str,
    amount: int,
    *,
    requester: str,
    deadline: int | None = None,
    token: str | None = None,
    clock: Clock = time.time,
    salt: bytes | None = None,
    fair_pay_floor: int | None = None,
) -> PreparedFunding:
    """Step 1 of funding: check the request and store the salt and commitment (committed),
    so that whoever then sends the ``fund`` transaction (the server, or the requester's own
    wallet) commits to the same gold answers. Reruns reuse the stored commitment."""
    task = load_task(session, task_id)
    token_amount(amount, "amount", positive=True)
    check_chain(task.chain_id, escrow)
    floor = load_settings().fair_pay_floor if fair_pay_floor is None else fair_pay_floor
    check_funding_price(session, task.task_id, floor)
    spec_deadline = int(task.deadline)
    chosen_deadline = deadline if deadline is not None else spec_deadline
    if not chosen_deadline:
        raise InvalidInput(
            "deadline",
            "the task has no deadline",
            "pass --deadline UNIX_SECONDS: after it the requester can refund the rest",
        )
    _positive(chosen_deadline, "deadline")
    unix_time(chosen_deadline, "deadline")
    requester = address_of(requester)
    funding = SettlementRepository(session).funding(task.id)
    spec_token = str(task.spec.get("token") or "")
    if token is None:
        if funding is not None:
            token = funding.token
        elif spec_token:
            token = spec_token
        else:
            raise InvalidInput("token", "the task spec names no token", "pass the token address")
    token = address_of(token)
    if spec_token and address_of(spec_token) != token:
        raise InvalidInput("token", f"{token} is not the task's token {spec_token}")
    gold = TaskRepository(session).gold_answers(task.id)
    now = now_ms(clock)
    if funding is None:
        salt = os.urandom(32) if salt is None else salt
        if len(salt) != 32:
            raise InvalidInput("salt", "must be 32 bytes")
        funding = TaskFunding(
            task_pk=task.id,
            gold_salt=salt,
            gold_commitment=gold_commitment(task.task_id, gold, salt),
            token=token,
            requester=requester,
            escrow=escrow.address,
            funded=0,
            deadline=chosen_deadline,
            created_at=now,
            updated_at=now,
        )
        SettlementRepository(session).add(funding)
        session.commit()
    elif funding.token != token:
        raise Conflict(f"task 0x{task.task_id.hex()}: already funded in {funding.token}")
    elif gold_commitment(task.task_id, gold, funding.gold_salt) != funding.gold_commitment:
        raise Conflict(
            f"task 0x{task.task_id.hex()}: gold answers changed since the first funding; "
            "restore them before topping up"
        )
    commitment = funding.gold_commitment
    state = escrow.task(task.task_id)
    if state.exists and state.gold_commitment != commitment:
        raise Conflict(
            f"task 0x{task.task_id.hex()}: the escrow holds another gold commitment "
            f"0x{state.gold_commitment.hex()}"
        )
    # the first funding records the royalty share the task promised (extra.royalty_bps, default
    # 30 %); a top-up leaves the recorded promise as it is
    promise = None if state.exists else royalty_bps(task.spec.get("extra") or {}, floor_bps=0)
    return PreparedFunding(task, funding, token, chosen_deadline, commitment, promise)


def check_chain(spec_chain_id: int, escrow: EscrowClient) -> None:
    """``InvalidInput`` unless the escrow is on the chain the task spec names (contributors
    signed their answers under that chain id)."""
    if int(spec_chain_id) != escrow.chain.chain_id:
        raise InvalidInput(
            "task",
            f"its spec names chain id {spec_chain_id}, the escrow is on chain id "
            f"{escrow.chain.chain_id}",
            "fund and settle it on the chain its contributors signed for",
        )


def funding_of(session: Session, task_id: bytes | str) -> TaskFunding:
    """The stored funding of the task; ``InvalidInput`` if this node never funded it."""
    task = load_task(session, task_id)
    funding = SettlementRepository(session).funding(task.id)
    if funding is None:
        raise InvalidInput(
            "task",
            f"0x{task.task_id.hex()} was not funded from this node (no gold salt stored)",
            f"fund it with `datafair fund 0x{task.task_id.hex()} AMOUNT`",
        )
    return funding


def escrow_state(escrow: EscrowClient, task_id: bytes) -> TaskState:
    """The task on the escrow; ``InvalidInput`` if it was never funded there."""
    state = escrow.task(task_id)
    if not state.exists:
        raise InvalidInput(
            "task",
            f"0x{task_id.hex()} is not funded on the escrow {escrow.address}",
            f"fund it first with `datafair fund 0x{task_id.hex()} AMOUNT`",
        )
    return state


def refund_task(escrow: EscrowClient, task_id: bytes | str, *, sender: Sender) -> Receipt:
    """After the deadline, return what no payout took to the requester (``sender``)."""
    raw = parse_task_id(task_id)
    state = escrow_state(escrow, raw)
    if state.unallocated == 0:
        raise NotFound(f"task 0x{raw.hex()}: nothing left to refund")
    return escrow.refund(raw, sender=sender)


def funding_calls(
    escrow: EscrowClient, prepared: PreparedFunding, amount: int
) -> list[dict[str, object]]:
    """The transactions the requester's wallet sends to fund: ``approve`` on the token, then
    ``fund`` on the escrow, each as ``{to, data, function, args}`` (``data`` is the 0x-hex
    calldata, ready for ``eth_sendTransaction``)."""
    from datafair.chain import abi as abi_codec

    _positive(amount, "amount")
    token = escrow.token(prepared.token).contract
    calls: list[dict[str, object]] = []
    approve_args = [escrow.address, amount]
    fund_args = [
        prepared.task.task_id,
        prepared.token,
        amount,
        prepared.deadline,
        prepared.gold_commitment,
    ]
    fund_name = "fund"
    if prepared.royalty_bps is not None:
        fund_name = "fund_with_royalty"
        fund_args.append(prepared.royalty_bps)
    for contract, name, args in (
        (token, "approve", approve_args),
        (escrow.contract, fund_name, fund_args),
    ):
        data = abi_codec.encode_call(contract.function(name), args)
        calls.append(
            {
                "to": contract.address,
                "function": abi_codec.signature(contract.function(name)),
                "args": ["0x" + a.hex() if isinstance(a, bytes) else str(a) for a in args],
                "data": "0x" + data.hex(),
            }
        )
    return calls
