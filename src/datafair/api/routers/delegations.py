"""Session-key delegations: the typed data a wallet signs, registering, listing, revoking.

A browser labelling page (or any client) generates an ephemeral key, asks the wallet to sign one
EIP-712 ``Delegation`` (:mod:`datafair.crypto.delegation`), registers it here, and then signs each
answer with the ephemeral key: no wallet prompt per answer. Answers signed that way are paid to
the wallet.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter
from pydantic import Field

from datafair.api.deps import ActorDep, SessionDep
from datafair.api.policies import acting_as, authorize, signed_in
from datafair.api.schemas import HEX_ADDRESS, SIGNATURE, TASK_ID, Strict
from datafair.core.errors import InvalidInput
from datafair.crypto.delegation import (
    MAX_TASKS,
    DelegationMessage,
    delegation_typed_data,
)
from datafair.crypto.eip712 import SubmissionDomain
from datafair.services import delegations
from datafair.services.contributions import fresh_nonce
from datafair.services.tasks import get_task, parse_task_id

router = APIRouter(tags=["delegations"])
MAX_LIFETIME_S = 30 * 24 * 3600


class DelegationRequestIn(Strict):
    """What the wallet will let a session key do: which tasks, for how long, how many answers."""

    session_key: str = Field(examples=[HEX_ADDRESS])
    task_ids: list[str] = Field(min_length=1, max_length=MAX_TASKS, examples=[[TASK_ID]])
    expires_in_s: int = Field(default=8 * 3600, gt=0, le=MAX_LIFETIME_S)
    max_answers: int = Field(default=1000, gt=0, le=2**32 - 1)


class DelegationIn(Strict):
    """A signed delegation: the EIP-712 message (JSON form) and the wallet's signature."""

    message: dict[str, Any] = Field(
        examples=[
            {
                "wallet": HEX_ADDRESS,
                "sessionKey": "0x" + "22" * 20,
                "taskIds": [TASK_ID],
                "expiresAt": 1_900_000_000,
                "maxAnswers": 1000,
                "nonce": 1,
            }
        ]
    )
    signature: str = Field(max_length=200, examples=[SIGNATURE])


class DelegationOut(Strict):
    id: int
    wallet: str
    session_key: str
    task_ids: list[str]
    expires_at: int
    max_answers: int
    used: int
    nonce: str
    revoked: bool
    chain_id: int


def _out(info: delegations.DelegationInfo) -> DelegationOut:
    return DelegationOut(
        id=info.id,
        wallet=info.wallet,
        session_key=info.session_key,
        task_ids=info.task_ids,
        expires_at=info.expires_at,
        max_answers=info.max_answers,
        used=info.used,
        nonce=str(info.nonce),
        revoked=info.revoked,
        chain_id=info.chain_id,
    )


@router.post(
    "/delegations/typed-data",
    summary="The EIP-712 Delegation your wallet signs to let a session key answer for you",
    responses={401: {}, 404: {}, 422: {}},
)
def typed_data(body: DelegationRequestIn, session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    authorize(actor, signed_in(), "delegate to a session key")
    assert actor.address is not None
    task_ids = tuple(parse_task_id(task_id) for task_id in body.task_ids)
    chains = {get_task(session, task_id).spec.chain_id for task_id in task_ids}
    session.rollback()
    if len(chains) != 1:
        raise InvalidInput("task_ids", "name tasks of different chains", "delegate per chain")
    message = DelegationMessage(
        wallet=actor.address,
        session_key=body.session_key,
        task_ids=task_ids,
        expires_at=int(time.time()) + body.expires_in_s,
        max_answers=body.max_answers,
        nonce=fresh_nonce(),
    )
    message.check()
    return delegation_typed_data(SubmissionDomain(chains.pop()), message)


@router.post(
    "/delegations",
    summary="Register a delegation your wallet signed (idempotent)",
    response_model=DelegationOut,
    status_code=201,
    responses={401: {}, 403: {}, 404: {}, 409: {}, 422: {}},
)
def register(body: DelegationIn, session: SessionDep, actor: ActorDep) -> DelegationOut:
    wallet = str(body.message.get("wallet", ""))
    authorize(actor, acting_as(wallet), "register a delegation for another wallet")
    return _out(delegations.register_delegation(session, body.message, body.signature))


@router.get(
    "/me/delegations",
    summary="Your delegations, newest first",
    response_model=list[DelegationOut],
    responses={401: {}},
)
def mine(session: SessionDep, actor: ActorDep) -> list[DelegationOut]:
    authorize(actor, signed_in(), "list your delegations")
    assert actor.address is not None
    return [_out(info) for info in delegations.list_delegations(session, actor.address)]


@router.post(
    "/delegations/{delegation_id}/revoke",
    summary="Revoke one of your delegations: its session key signs nothing more",
    response_model=DelegationOut,
    responses={401: {}, 404: {}},
)
def revoke(delegation_id: int, session: SessionDep, actor: ActorDep) -> DelegationOut:
    authorize(actor, signed_in(), "revoke a delegation")
    assert actor.address is not None
    return _out(delegations.revoke_delegation(session, delegation_id, actor.address))
