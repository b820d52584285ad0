"""The signed-in account's own things: answers, reputation, earnings, claimable leaves."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from datafair.api.deps import ActorDep, NodeDep, SessionDep
from datafair.api.policies import authorize, signed_in
from datafair.api.schemas import AnswerOut, ClaimableOut, EarningOut, LeafOut, PendingOut
from datafair.services import portfolio
from datafair.services.settlement.claims import claimable

router = APIRouter(prefix="/me", tags=["me"])


def answer_out(row: portfolio.AnswerRow) -> AnswerOut:
    return AnswerOut(
        submission_id=row.submission_id,
        item_cid=row.item_cid,
        contributor=row.contributor,
        answer=row.answer,
        nonce=str(row.nonce),
        duration_ms=row.duration_ms,
        accepted_at=row.accepted_at,
        signature=row.signature,
    )


@router.get("/answers", summary="Your answers, newest first", response_model=list[AnswerOut])
def answers(
    session: SessionDep, actor: ActorDep, limit: Annotated[int, Query(ge=1, le=10_000)] = 1000
) -> list[AnswerOut]:
    authorize(actor, signed_in(), "list your answers")
    assert actor.address is not None
    return [answer_out(row) for row in portfolio.my_answers(session, actor.address, limit=limit)]


@router.get(
    "/reputation",
    summary="Your reputation per task type (posterior mean and 95 % interval)",
    response_model=dict[str, dict[str, float | int]],
)
def reputation(session: SessionDep, actor: ActorDep) -> dict[str, dict[str, float | int]]:
    authorize(actor, signed_in(), "read your reputation")
    assert actor.address is not None
    return portfolio.my_reputation(session, actor.address)


@router.get(
    "/earnings",
    summary="Your earnings per posted epoch, with the reasons for each amount",
    response_model=list[EarningOut],
)
def earnings(node: NodeDep, session: SessionDep, actor: ActorDep) -> list[EarningOut]:
    authorize(actor, signed_in(), "read your earnings")
    assert actor.address is not None
    return [
        EarningOut(**{**row.__dict__, "amount": str(row.amount), "gross": str(row.gross)})
        for row in portfolio.earnings(session, node.blobs, actor.address)
    ]


@router.get(
    "/pending",
    summary="Your answers no settlement pays yet, per task and reason (item still open, or "
    "awaiting settlement)",
    response_model=list[PendingOut],
)
def pending(session: SessionDep, actor: ActorDep) -> list[PendingOut]:
    authorize(actor, signed_in(), "read your pending answers")
    assert actor.address is not None
    return [PendingOut(**row.__dict__) for row in portfolio.pending_answers(session, actor.address)]


@router.get(
    "/claimable",
    summary="Your unclaimed payout leaves with their Merkle proofs (claim with any wallet)",
    response_model=ClaimableOut,
)
def claimable_leaves(node: NodeDep, session: SessionDep, actor: ActorDep) -> ClaimableOut:
    authorize(actor, signed_in(), "list your claimable leaves")
    address = actor.address
    assert address is not None
    requests, already = node.with_chain(lambda escrow: claimable(session, escrow, address))
    escrow_address = node.escrow.address
    session.rollback()
    return ClaimableOut(
        escrow=escrow_address,
        leaves=[
            LeafOut(
                task_id="0x" + request.task_id.hex(),
                epoch=request.epoch,
                index=request.index,
                account=address,
                amount=str(request.amount),
                proof=["0x" + step.hex() for step in request.proof],
            )
            for request in requests
        ],
        already_claimed=already,
    )
