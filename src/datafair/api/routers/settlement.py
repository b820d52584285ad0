"""Money: settle an epoch (operator), relay claims (gasless), a task's answers as visible."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from datafair.api.deps import ActorDep, NodeDep, SessionDep
from datafair.api.policies import acting_as, answers_of, authorize, operator, requester_or_operator
from datafair.api.routers.me import answer_out
from datafair.api.schemas import AnswerOut, ClaimIn, ClaimOut, SettleOut
from datafair.services import portfolio, relay, tasks
from datafair.services.settlement.settle import settle_task

router = APIRouter(tags=["settlement"])


@router.post(
    "/tasks/{task_id}/settle",
    summary="Settle the task's next epoch and post its root (operator only)",
    response_model=SettleOut,
)
def settle(
    task_id: str,
    node: NodeDep,
    session: SessionDep,
    actor: ActorDep,
    method: Annotated[str, Query(max_length=32)] = "auto",
    seal_partial: Annotated[
        bool,
        Query(description="Also pay answers to items still open, and seal those items"),
    ] = False,
) -> SettleOut:
    authorize(actor, operator(), "settle tasks")
    report = node.with_chain(
        lambda escrow: settle_task(
            session,
            escrow,
            node.blobs,
            task_id,
            sender=node.relayer(),
            method=method,
            seal_partial=seal_partial,
        )
    )
    return SettleOut(
        task_id="0x" + report.task_id.hex(),
        epoch=report.epoch,
        state=report.state,
        submissions=report.submissions,
        leaves=report.leaves,
        total=str(report.total),
        fee=str(report.fee),
        root=None if report.root is None else "0x" + report.root.hex(),
        bundle_cid=report.bundle_cid,
        tx_hash=report.tx_hash,
    )


@router.post(
    "/claims",
    summary="Claim your payouts gaslessly: the operator's relayer sends claim_many",
    response_model=ClaimOut,
)
def claim(body: ClaimIn, node: NodeDep, session: SessionDep, actor: ActorDep) -> ClaimOut:
    address = actor.address or ""
    authorize(actor, acting_as(address), "claim")
    only = None if body.leaves is None else [(k.task_id, k.epoch, k.index) for k in body.leaves]
    report = node.with_chain(
        lambda escrow: relay.relay_claims(
            session,
            escrow,
            address,
            sender=node.relayer(),
            limit_per_hour=node.settings.claim_rate_limit,
            only=only,
        )
    )
    return ClaimOut(
        account=report.account,
        claims=len(report.claims),
        amount=str(report.amount),
        tx_hashes=list(report.tx_hashes),
        already_claimed=report.already_claimed,
    )


@router.get(
    "/tasks/{task_id}/answers",
    summary="A task's answers: all (requester), yours, or everyone's once published",
    response_model=list[AnswerOut],
)
def task_answers(
    task_id: str,
    node: NodeDep,
    session: SessionDep,
    actor: ActorDep,
    contributor: Annotated[str | None, Query(max_length=42)] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[AnswerOut]:
    info = tasks.get_task(session, task_id)
    session.rollback()
    if contributor is None:
        authorize(actor, requester_or_operator(info.requester), "read every answer of this task")
        rows = portfolio.answers_of(session, task_id, limit=limit)
        return [answer_out(row) for row in rows]
    publication = portfolio.published_bundle(session, node.blobs, task_id)
    rows = portfolio.answers_of(session, task_id, contributor, limit=limit)
    if not answers_of(contributor, info.requester, False)(actor):
        # someone else's answers: only those a published bundle already revealed
        authorize(
            actor,
            answers_of(contributor, info.requester, publication.published),
            "read these answers",
        )
        rows = [row for row in rows if (row.item_cid, row.contributor) in publication.answered]
        # never another's answer to an item the reader may still answer (no peeking)
        rows = portfolio.hide_open_answers(session, task_id, str(actor.address), rows)
    return [answer_out(row) for row in rows]
