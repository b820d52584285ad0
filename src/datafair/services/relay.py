"""Gasless claims: the operator's relayer sends a contributor's claims through ``claim_many``.

Inputs: an open ``Session``; an :class:`~datafair.chain.escrow.EscrowClient`; the account
whose leaves are claimed; the relayer (the sender paying gas); the per-address limit of relayed
transactions per hour; optionally the leaves to claim (``(task_id, epoch, index)``; default:
every unclaimed leaf of the account); a clock (Unix seconds).

The escrow pays a leaf to the leaf's account whoever sends the claim, so relaying cannot
redirect money; the claim bitmap refuses a leaf twice. A relay is recorded (committed) before
its transactions are sent, so it counts toward the rate limit even if the process dies while
sending; a rerun only sends what the chain still shows unclaimed.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datafair.chain.base import Sender
from datafair.chain.escrow import MAX_CLAIMS, ClaimRequest, EscrowClient
from datafair.core.errors import Conflict, NotFound, RateLimited
from datafair.services.settlement.claims import claimable
from datafair.services.tasks import Clock, checksum_address, now_ms, parse_task_id
from datafair.store.api_models import ClaimRelay

HOUR_MS = 3_600_000


@dataclass(frozen=True)
class RelayReport:
    """What a relay sent: the claims, their sum and the transactions."""

    account: str
    claims: tuple[ClaimRequest, ...]
    amount: int
    tx_hashes: tuple[str, ...]
    already_claimed: int


LeafKey = tuple[bytes, int, int]


def _wanted(
    requests: list[ClaimRequest], only: Sequence[tuple[bytes | str, int, int]]
) -> list[ClaimRequest]:
    by_key: dict[LeafKey, ClaimRequest] = {
        (request.task_id, request.epoch, request.index): request for request in requests
    }
    chosen: list[ClaimRequest] = []
    for position, (task_id, epoch, index) in enumerate(only):
        key = (parse_task_id(task_id), epoch, index)
        if key not in by_key:
            raise Conflict(
                f"claims[{position}]: leaf {index} of epoch {epoch} of task 0x{key[0].hex()} is "
                "not an unclaimed leaf of this account (already claimed, or not theirs)"
            )
        chosen.append(by_key.pop(key))
    return chosen


def relay_claims(
    session: Session,
    escrow: EscrowClient,
    account: str,
    *,
    sender: Sender,
    limit_per_hour: int,
    only: Sequence[tuple[bytes | str, int, int]] | None = None,
    clock: Clock = time.time,
) -> RelayReport:
    """Claim the account's leaves through ``claim_many`` sent by ``sender`` (see module)."""
    address = checksum_address(account, "account")
    now = now_ms(clock)
    try:
        recent = session.scalar(
            select(func.count(ClaimRelay.id)).where(
                ClaimRelay.address == address, ClaimRelay.created_at > now - HOUR_MS
            )
        )
        if limit_per_hour == 0 or (recent or 0) >= limit_per_hour:
            raise RateLimited(
                f"account: {address} reached {limit_per_hour} relayed claims this hour "
                "(retry later, or claim with your own wallet from GET /api/v1/me/claimable)"
            )
        requests, already = claimable(session, escrow, address)
        if only:
            requests = _wanted(requests, only)
        if not requests:
            raise NotFound(f"account: nothing to claim for {address} ({already} already claimed)")
        relay = ClaimRelay(address=address, claims=len(requests), created_at=now)
        session.add(relay)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    hashes: list[str] = []
    for start in range(0, len(requests), MAX_CLAIMS):
        batch = requests[start : start + MAX_CLAIMS]
        hashes.append(escrow.claim_many(address, batch, sender=sender).tx_hash)
    try:
        relay.tx_hash = hashes[-1]
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return RelayReport(
        account=address,
        claims=tuple(requests),
        amount=sum(request.amount for request in requests),
        tx_hashes=tuple(hashes),
        already_claimed=already,
    )
